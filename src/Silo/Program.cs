using MeshOs.Gateway.Hosting;
using MeshOs.Gateway.Operations;
using MeshOs.Silo.Demo;
using MeshOs.Silo.Hosting;

namespace MeshOs.Silo;

/// <summary>
/// A MeshOs silo. Without configuration it is the embedded mode: one process, in-memory storage, the gateway on
/// http://localhost:8080, the dashboard at /dashboard and a demo fleet. With <c>ConnectionStrings__MeshOs</c> it
/// joins (or forms) a cluster on PostgreSQL.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => MeshStart.RunAsync(async () =>
    {
        var builder = WebApplication.CreateBuilder(MeshEndpoints.AdoptAspNetAddresses(args));
        var cluster = MeshClusterSettings.From(builder.Configuration);
        var coHost = builder.Configuration.GetValue($"{SiloOptions.Section}:{nameof(SiloOptions.CoHostGateway)}", true);

        var endpoints = builder.UseMeshDefaults("http://localhost:8080", "http://localhost:8081", moveSiloPorts: true);
        endpoints.EnsurePortsFree(SiloHostingExtensions.Bindings(builder.Configuration, cluster));
        builder.AddMeshTelemetry("meshos-silo");
        builder.AddMeshSilo(cluster);
        builder.AddMeshGateway();
        builder.AddMeshDemo(cluster, coHost);

        var app = builder.Build();
        app.MapMeshGateway(coHost ? "silo+gateway" : "silo", cluster, withApis: coHost);
        app.AnnounceAddresses(coHost ? "silo+gateway" : "silo", cluster);
        await app.RunAsync();
    });
}
