using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MeshOs.Tests.EndToEnd.Hosting;

/// <summary>
/// Where a silo listens, set the ways an operator would: <c>--port</c>, ASP.NET Core's <c>--urls</c>,
/// <c>ASPNETCORE_URLS</c> and <c>ASPNETCORE_HTTP_PORTS</c>; a port in use is one line. Real processes, real sockets.
/// </summary>
public sealed class PortTests
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(90);

    private static string P(int port) => port.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task One_port_flag_moves_rest_grpc_and_the_silos_own_ports_and_the_banner_shows_them()
    {
        var n = Ports.ForWholeSilo();
        await using var silo = new PlainProcess("Silo", ["--port", P(n), "--MeshOs:Demo:Enabled=false"]);
        await silo.WaitForOutputAsync("is running", StartPatience);

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{n}/health/live")).StatusCode);
        var offset = n - 8080;
        Assert.All(new[] { n + 1, 11111 + offset, 30000 + offset }, port => Assert.False(Ports.IsFree(port), $"nothing listens on {port}"));
        Assert.Contains($"REST API:   http://localhost:{n}/v1", silo.Output, StringComparison.Ordinal);
        Assert.Contains($"gRPC:       http://localhost:{n + 1}", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_urls_flag_and_ASPNETCORE_URLS_are_honoured(bool asFlag)
    {
        var n = Ports.Pair();
        var url = $"http://127.0.0.1:{n}";
        List<string> args = ["--MeshOs:Demo:Enabled=false", $"--MeshOs:Silo:SiloPort={P(Testing.FreePort.Get())}", $"--MeshOs:Silo:GatewayPort={P(Testing.FreePort.Get())}"];
        if (asFlag)
        {
            args.AddRange(["--urls", url]);
        }

        await using var silo = new PlainProcess("Silo", args, asFlag ? null : new Dictionary<string, string> { ["ASPNETCORE_URLS"] = url });
        await silo.WaitForOutputAsync("is running", StartPatience);

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{url}/health/live")).StatusCode);
        Assert.False(Ports.IsFree(n + 1), "gRPC is not on the next port");
        Assert.Contains($"REST API:   {url}/v1", silo.Output, StringComparison.Ordinal);
        Assert.Contains($"gRPC:       http://127.0.0.1:{n + 1}", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Overriding address", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASPNETCORE_HTTP_PORTS_is_honoured_on_every_interface()
    {
        var n = Ports.Pair();
        await using var silo = new PlainProcess("Silo",
            ["--MeshOs:Demo:Enabled=false", $"--MeshOs:Silo:SiloPort={P(Testing.FreePort.Get())}", $"--MeshOs:Silo:GatewayPort={P(Testing.FreePort.Get())}"],
            new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = P(n) });
        await silo.WaitForOutputAsync("is running", StartPatience);

        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{n}/health/live")).StatusCode);
        Assert.Contains($"REST API:   http://localhost:{n}/v1", silo.Output, StringComparison.Ordinal);
        Assert.Contains($"gRPC:       http://localhost:{n + 1}", silo.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Silo", 0)] // REST
    [InlineData("Silo", 1)] // gRPC
    [InlineData("Gateway", 0)]
    public async Task A_port_in_use_is_one_line_naming_the_port_and_the_flag(string project, int taken)
    {
        var n = project == "Silo" ? Ports.ForWholeSilo() : Ports.Pair();
        using var holder = new TcpListener(IPAddress.Loopback, n + taken);
        holder.Start();

        await using var process = new PlainProcess(project, ["--port", P(n), "--MeshOs:Demo:Enabled=false"]);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, process.ExitCode);
        var line = Assert.Single(process.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains($"port {n + taken} ", line, StringComparison.Ordinal);
        Assert.Contains("--port", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", process.Output, StringComparison.Ordinal); // no stack trace anywhere
    }

    [Fact]
    public async Task A_value_that_is_not_a_port_is_one_line()
    {
        await using var process = new PlainProcess("Silo", ["--port", "eighty"]);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("--port: 'eighty' is not a port (1–65534; gRPC takes the next one).", process.Errors.Trim());
    }
}
