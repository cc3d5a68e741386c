using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Where a process listens, resolved once at start from, in order of precedence: explicit Kestrel endpoints
/// (<c>Kestrel:Endpoints:Http:Url</c>, <c>…:Grpc:Url</c>), <c>--port N</c> (REST N, gRPC N+1), ASP.NET Core's
/// <c>--urls</c> / <c>ASPNETCORE_URLS</c> (first URL REST, second gRPC, else the first's port + 1), ASP.NET Core's
/// <c>ASPNETCORE_HTTP_PORTS</c> (every interface), then the process's defaults. A silo's own ports (silo-to-silo and
/// the Orleans gateway) move by as much as the REST port moved from its default, unless set themselves, so one flag
/// moves a whole silo. Pure: reads configuration, touches no socket.
/// </summary>
/// <param name="Http">The REST URL (HTTP/1.1).</param>
/// <param name="Grpc">The gRPC URL (HTTP/2 cleartext).</param>
/// <param name="SiloPort">The silo-to-silo port to use, when moved (null: as configured).</param>
/// <param name="GatewayPort">The Orleans gateway port to use, when moved (null: as configured).</param>
/// <param name="Source">What decided the REST URL, for messages (<c>--port</c>, <c>--urls</c>, …).</param>
public sealed record MeshEndpoints(string Http, string Grpc, int? SiloPort, int? GatewayPort, string Source)
{
    public const string HttpUrlKey = "Kestrel:Endpoints:Http:Url";
    public const string GrpcUrlKey = "Kestrel:Endpoints:Grpc:Url";
    public const string PortKey = "port";
    /// <summary>Where <c>--urls</c> / <c>ASPNETCORE_URLS</c> land (see <see cref="AdoptAspNetAddresses"/>).</summary>
    public const string UrlsKey = "MeshOs:Urls";

    /// <summary>Where <c>ASPNETCORE_HTTP_PORTS</c> lands (see <see cref="AdoptAspNetAddresses"/>).</summary>
    public const string HttpPortsKey = "MeshOs:HttpPorts";
    public const string SiloPortKey = "MeshOs:Silo:SiloPort";
    public const string GatewayPortKey = "MeshOs:Silo:GatewayPort";

    /// <summary>The silo's default ports, from which a moved REST port offsets them.</summary>
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;

    /// <summary>
    /// Resolves the endpoints. <paramref name="moveSiloPorts"/>: this process is a silo whose own ports follow the REST
    /// port. Throws <see cref="ArgumentException"/> naming the setting when a value is not a port or URL.
    /// </summary>
    public static MeshEndpoints Resolve(IConfiguration configuration, string defaultHttp, string defaultGrpc, bool moveSiloPorts)
    {
        string http;
        string grpc;
        string source;
        if (configuration[PortKey] is { Length: > 0 } portText)
        {
            var port = ParsePort(portText, "--port");
            var host = new Uri(defaultHttp).Host;
            (http, grpc, source) = ($"http://{host}:{port}", $"http://{host}:{port + 1}", "--port");
        }
        else if (configuration[UrlsKey] is { Length: > 0 } urls)
        {
            var list = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            http = ParseUrl(list[0], "--urls");
            grpc = list.Length > 1 ? ParseUrl(list[1], "--urls") : NextPort(http, "--urls");
            source = "--urls";
        }
        else if (configuration[HttpPortsKey] is { Length: > 0 } ports)
        {
            var port = ParsePort(ports.Split(';', StringSplitOptions.TrimEntries)[0], "ASPNETCORE_HTTP_PORTS");
            (http, grpc, source) = ($"http://*:{port}", $"http://*:{port + 1}", "ASPNETCORE_HTTP_PORTS");
        }
        else
        {
            (http, grpc, source) = (defaultHttp, defaultGrpc, "default");
        }

        if (configuration[HttpUrlKey] is { Length: > 0 } explicitHttp)
        {
            (http, source) = (ParseUrl(explicitHttp, HttpUrlKey), HttpUrlKey);
        }

        if (configuration[GrpcUrlKey] is { Length: > 0 } explicitGrpc)
        {
            grpc = ParseUrl(explicitGrpc, GrpcUrlKey);
        }

        int? siloPort = null;
        int? gatewayPort = null;
        var offset = PortOf(http) - PortOf(defaultHttp);
        if (moveSiloPorts && source is not ("default" or HttpUrlKey) && PortOf(http) > 0 && offset != 0)
        {
            siloPort = configuration[SiloPortKey] is { Length: > 0 } ? null : Moved(DefaultSiloPort, offset, SiloPortKey);
            gatewayPort = configuration[GatewayPortKey] is { Length: > 0 } ? null : Moved(DefaultGatewayPort, offset, GatewayPortKey);
        }

        return new MeshEndpoints(http, grpc, siloPort, gatewayPort, source);
    }

    /// <summary>The port of a URL (a wildcard host such as <c>*</c> or <c>+</c> allowed).</summary>
    public static int PortOf(string url) => new Uri(Normalize(url)).Port;

    /// <summary>The URL with a wildcard host made parseable (<c>*</c> and <c>+</c> mean every interface).</summary>
    public static string Normalize(string url) =>
        url.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal);

    /// <summary>
    /// Takes ASP.NET Core's own address settings (<c>--urls</c>, <c>ASPNETCORE_URLS</c>/<c>DOTNET_URLS</c>,
    /// <c>ASPNETCORE_HTTP_PORTS</c>/<c>DOTNET_HTTP_PORTS</c>) out of the arguments and the process environment before the
    /// host reads them, and hands them to <see cref="Resolve"/> as <see cref="UrlsKey"/> and <see cref="HttpPortsKey"/>:
    /// the host would otherwise bind them beside (or be overridden by, with a warning) the two endpoints MeshOs needs,
    /// one HTTP/1.1 and one HTTP/2. The command line wins over the environment.
    /// </summary>
    public static string[] AdoptAspNetAddresses(string[] args)
    {
        var rest = new List<string>(args.Length + 2);
        string? urls = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--urls=", StringComparison.OrdinalIgnoreCase))
            {
                urls = args[i]["--urls=".Length..];
            }
            else if (string.Equals(args[i], "--urls", StringComparison.OrdinalIgnoreCase) && i + 1 < args.Length)
            {
                urls = args[++i];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        urls ??= TakeVariable("ASPNETCORE_URLS") ?? TakeVariable("DOTNET_URLS");
        TakeVariable("DOTNET_URLS");
        var ports = TakeVariable("ASPNETCORE_HTTP_PORTS") ?? TakeVariable("DOTNET_HTTP_PORTS");
        TakeVariable("DOTNET_HTTP_PORTS");
        if (urls is { Length: > 0 })
        {
            rest.Add($"--{UrlsKey}={urls}");
        }

        if (ports is { Length: > 0 })
        {
            rest.Add($"--{HttpPortsKey}={ports}");
        }

        return [.. rest];
    }

    private static string? TakeVariable(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (value is not null)
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        return value;
    }

    /// <summary>The settings that make Kestrel and the silo use these endpoints (highest precedence).</summary>
    public IEnumerable<KeyValuePair<string, string?>> AsSettings()
    {
        yield return new(HttpUrlKey, Http);
        yield return new(GrpcUrlKey, Grpc);
        if (SiloPort is { } silo)
        {
            yield return new(SiloPortKey, silo.ToString(CultureInfo.InvariantCulture));
        }

        if (GatewayPort is { } gateway)
        {
            yield return new(GatewayPortKey, gateway.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static int Moved(int port, int offset, string setting)
    {
        var moved = port + offset;
        return moved is > 0 and <= 65535
            ? moved
            : throw new ArgumentException($"{setting}: the REST port moved by {offset}, which puts this port at {moved}; set {setting} yourself.");
    }

    private static int ParsePort(string text, string setting) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and < 65535
            ? port
            : throw new ArgumentException($"{setting}: '{text}' is not a port (1–65534; gRPC takes the next one).");

    private static string ParseUrl(string text, string setting) =>
        Uri.TryCreate(Normalize(text), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/"
            ? text.TrimEnd('/')
            : throw new ArgumentException($"{setting}: '{text}' is not an http:// URL of a host and port.");

    private static string NextPort(string url, string setting)
    {
        var port = PortOf(url);
        if (port is 0 or >= 65535)
        {
            throw new ArgumentException($"{setting}: give a second URL for gRPC (the REST URL's port {port} has no next port).");
        }

        var normalized = new Uri(Normalize(url));
        var host = url.Contains("://*", StringComparison.Ordinal) ? "*" : url.Contains("://+", StringComparison.Ordinal) ? "+" : normalized.Host;
        return $"{normalized.Scheme}://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host.Trim('[', ']')}]" : host)}:{port + 1}";
    }
}
