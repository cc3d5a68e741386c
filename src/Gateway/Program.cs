using MeshOs.Gateway.Hosting;
using MeshOs.Gateway.Operations;

namespace MeshOs.Gateway;

/// <summary>The standalone gateway: an Orleans client of a running cluster serving REST, gRPC and the dashboard.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => MeshStart.RunAsync(async () =>
    {
        var builder = WebApplication.CreateBuilder(MeshEndpoints.AdoptAspNetAddresses(args));
        var cluster = MeshClusterSettings.From(builder.Configuration);
        builder.UseMeshDefaults("http://localhost:8090", "http://localhost:8091").EnsurePortsFree();
        builder.AddMeshTelemetry("meshos-gateway");
        builder.AddMeshClusterClient(cluster);
        builder.AddMeshGateway();

        var app = builder.Build();
        app.MapMeshGateway("gateway", cluster);
        app.AnnounceAddresses("gateway", cluster);
        await app.RunAsync();
    });
}
