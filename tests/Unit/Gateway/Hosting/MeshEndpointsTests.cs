using MeshOs.Gateway.Hosting;
using Microsoft.Extensions.Configuration;

namespace MeshOs.Tests.Unit.Gateway.Hosting;

public sealed class MeshEndpointsTests
{
    private const string Http = "http://localhost:8080";
    private const string Grpc = "http://localhost:8081";

    private static MeshEndpoints Resolve(bool silo = true, params (string Key, string Value)[] settings) =>
        MeshEndpoints.Resolve(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build(),
            Http, Grpc, silo);

    [Fact]
    public void Without_settings_the_defaults_hold_and_the_silo_ports_stay()
    {
        Assert.Equal(new MeshEndpoints(Http, Grpc, null, null, "default"), Resolve());
    }

    [Fact]
    public void One_port_moves_rest_grpc_and_the_silos_own_ports()
    {
        Assert.Equal(new MeshEndpoints("http://localhost:9000", "http://localhost:9001", 12031, 30920, "--port"), Resolve(true, ("port", "9000")));
        Assert.Equal(new MeshEndpoints("http://localhost:9000", "http://localhost:9001", null, null, "--port"), Resolve(false, ("port", "9000")));
    }

    [Fact]
    public void Silo_ports_set_themselves_are_kept()
    {
        var resolved = Resolve(true, ("port", "9000"), (MeshEndpoints.SiloPortKey, "5000"));

        Assert.Equal((null, (int?)30920), (resolved.SiloPort, resolved.GatewayPort));
    }

    [Fact]
    public void Urls_give_rest_and_grpc_or_the_next_port()
    {
        Assert.Equal(("http://127.0.0.1:7000", "http://127.0.0.1:7001"), Pair(Resolve(true, (MeshEndpoints.UrlsKey, "http://127.0.0.1:7000"))));
        Assert.Equal(("http://0.0.0.0:7000", "http://0.0.0.0:7500"), Pair(Resolve(true, (MeshEndpoints.UrlsKey, "http://0.0.0.0:7000/;http://0.0.0.0:7500"))));
        Assert.Equal(("http://*:7000", "http://*:7001"), Pair(Resolve(true, (MeshEndpoints.UrlsKey, "http://*:7000"))));
        Assert.Equal(("http://*:7000", "http://*:7001"), Pair(Resolve(true, (MeshEndpoints.HttpPortsKey, "7000"))));
    }

    [Fact]
    public void Explicit_kestrel_endpoints_win_and_then_move_nothing_else()
    {
        var resolved = Resolve(true, ("port", "9000"), (MeshEndpoints.HttpUrlKey, "http://127.0.0.1:1234"));

        Assert.Equal(("http://127.0.0.1:1234", "http://localhost:9001"), Pair(resolved));
        Assert.Equal((null, (int?)null), (resolved.SiloPort, resolved.GatewayPort));
    }

    [Theory]
    [InlineData("port", "0", "--port")]
    [InlineData("port", "65535", "--port")]
    [InlineData("port", "abc", "--port")]
    [InlineData(MeshEndpoints.UrlsKey, "localhost:80", "--urls")]
    [InlineData(MeshEndpoints.UrlsKey, "http://h:1/path", "--urls")]
    [InlineData(MeshEndpoints.HttpPortsKey, "x", "ASPNETCORE_HTTP_PORTS")]
    public void A_value_that_is_not_a_port_or_url_names_its_setting(string key, string value, string named)
    {
        var ex = Assert.Throws<ArgumentException>(() => Resolve(true, (key, value)));
        Assert.StartsWith(named + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_move_that_puts_a_silo_port_out_of_range_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => Resolve(true, ("port", "50000")));
        Assert.StartsWith(MeshEndpoints.GatewayPortKey, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AspNet_address_settings_are_taken_from_the_arguments()
    {
        Assert.Equal(["--a=1", "--MeshOs:Urls=http://x:1"], MeshEndpoints.AdoptAspNetAddresses(["--urls", "http://x:1", "--a=1"]));
        Assert.Equal(["--MeshOs:Urls=http://x:2"], MeshEndpoints.AdoptAspNetAddresses(["--urls=http://x:2"]));
    }

    private static (string, string) Pair(MeshEndpoints e) => (e.Http, e.Grpc);
}
