using Microsoft.Extensions.Configuration.Memory;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// Defaults every MeshOs process starts from, at the lowest precedence: appsettings.json (if an operator adds one),
/// environment variables and the command line override any of them. Keeps the processes quiet by default
/// (Orleans logs its whole configuration at Information) without shipping config files that collide on publish.
/// </summary>
public static class MeshDefaults
{
    /// <summary>
    /// Applies the defaults and resolves where the process listens (<see cref="MeshEndpoints"/>: explicit Kestrel
    /// endpoints, <c>--port</c>, <c>--urls</c>/<c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, then
    /// <paramref name="httpUrl"/> and <paramref name="grpcUrl"/>). Throws <see cref="MeshStartException"/> for a value
    /// that is not a port or URL.
    /// </summary>
    /// <param name="moveSiloPorts">A silo: its own ports follow a moved REST port unless set themselves.</param>
    public static MeshEndpoints UseMeshDefaults(this WebApplicationBuilder builder, string httpUrl, string grpcUrl, bool moveSiloPorts = false)
    {
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                // Two endpoints, because without TLS HTTP/1.1 and HTTP/2 cannot share a port.
                ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
                ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
                // Agents of one process share a connection: allow many streams on it (Kestrel's default is 100).
                ["Kestrel:Limits:Http2:MaxStreamsPerConnection"] = "5000",

                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                // Hosting logs only "request started/finished" (Information); any level on makes ASP.NET Core build
                // an Activity and a log scope for every request, agent streams included.
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
                ["Logging:LogLevel:Microsoft.AspNetCore.DataProtection"] = "Error",
                ["Logging:LogLevel:Orleans"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Information",
                ["Logging:LogLevel:Orleans.Runtime.SiloOptionsLogger"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.SiloControl"] = "Warning",
                ["Logging:LogLevel:Orleans.Runtime.MembershipService"] = "Information",
                ["Logging:LogLevel:Orleans.Placement"] = "Error",
                ["Logging:LogLevel:Polly"] = "Error",
                ["Logging:LogLevel:Grpc"] = "Warning",
                ["Logging:LogLevel:MeshOs.AgentSdk"] = "Warning",
                ["Logging:LogLevel:MeshOs.AgentSim"] = "Warning",
                ["Logging:Console:FormatterName"] = "simple",
                ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss ",
            },
        });

        MeshEndpoints endpoints;
        try
        {
            endpoints = MeshEndpoints.Resolve(builder.Configuration, httpUrl, grpcUrl, moveSiloPorts);
        }
        catch (ArgumentException ex)
        {
            throw new MeshStartException(ex.Message);
        }

        builder.Configuration.AddInMemoryCollection(endpoints.AsSettings());
        builder.Services.AddMeshShutdown(builder.Configuration);
        builder.Services.AddSingleton(endpoints);
        return endpoints;
    }

    /// <summary>
    /// Refuses to start (<see cref="MeshStartException"/>, one line) when the REST or gRPC port, or one of
    /// <paramref name="more"/>, is in use.
    /// </summary>
    public static void EnsurePortsFree(this MeshEndpoints endpoints, IEnumerable<PortGuard.Binding>? more = null)
    {
        if (PortGuard.FirstInUse([.. PortGuard.HttpBindings(endpoints), .. more ?? []]) is { } taken)
        {
            throw new MeshStartException(PortGuard.InUseMessage(taken));
        }
    }

    /// <summary>The configured HTTP and gRPC addresses.</summary>
    public static (string Http, string Grpc) Endpoints(IConfiguration configuration) =>
        (configuration[MeshEndpoints.HttpUrlKey] ?? string.Empty, configuration[MeshEndpoints.GrpcUrlKey] ?? string.Empty);
}

/// <summary>A process cannot start for a reason its operator can fix (a port in use, a bad value): one line, exit code 2.</summary>
public sealed class MeshStartException(string message) : Exception(message)
{
    /// <summary>The exit code of a process that could not start.</summary>
    public const int ExitCode = 2;
}
