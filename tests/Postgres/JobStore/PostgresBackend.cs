using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Persistence.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// Builds the PostgreSQL job and agent stores and the event log the way a silo does, through <c>AddMeshPostgres</c>, and runs its
/// hosted services (schema migration, then the group-commit writer) for the life of the backend.
/// </summary>
internal static class PostgresBackend
{
    /// <param name="startFailures">
    /// When given, a hosted service that fails to start is recorded here and the others still start (to use the store
    /// against an unreachable database); otherwise the failure is thrown.
    /// </param>
    public static async Task<StoreBackend> StartAsync(
        string connectionString,
        IReadOnlyDictionary<string, string?>? settings = null,
        List<Exception>? startFailures = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var services = new ServiceCollection().AddLogging()
            .AddKeyedSingleton(TimeProviderNames.Grains, TimeProvider.System)
            .AddMeshPostgres(connectionString, configuration);
        var provider = services.BuildServiceProvider();
        var started = new List<IHostedService>();
        try
        {
            foreach (var service in provider.GetServices<IHostedService>())
            {
                try
                {
                    await service.StartAsync(CancellationToken.None);
                    started.Add(service);
                }
                catch (Exception ex) when (startFailures is not null)
                {
                    startFailures.Add(ex);
                }
            }
        }
        catch
        {
            await StopAsync(provider, started);
            throw;
        }

        return new StoreBackend(
            provider.GetRequiredService<IJobStore>(),
            provider.GetRequiredService<IAgentStore>(),
            provider.GetRequiredService<IEventLog>(),
            () => StopAsync(provider, started),
            provider.GetRequiredService<Grains.Cost.ICostStore>(),
            provider.GetRequiredService<Grains.Kpi.IKpiStore>());
    }

    private static async ValueTask StopAsync(ServiceProvider provider, List<IHostedService> started)
    {
        for (var i = started.Count - 1; i >= 0; i--)
        {
            await started[i].StopAsync(CancellationToken.None);
        }

        await provider.DisposeAsync();
    }
}
