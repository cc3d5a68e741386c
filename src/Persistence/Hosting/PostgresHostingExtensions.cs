using MeshOs.Grains.Audit;
using MeshOs.Grains.Cost;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using MeshOs.Persistence.Agents;
using MeshOs.Persistence.Audit;
using MeshOs.Persistence.Cost;
using MeshOs.Persistence.Events;
using MeshOs.Persistence.Jobs;
using MeshOs.Persistence.Migrations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Persistence.Hosting;

/// <summary>Adds PostgreSQL as the silo's store: migrations at start, the job store, the event log, the probe.</summary>
public static class PostgresHostingExtensions
{
    /// <summary>
    /// Registers the schema migration (a hosted service: call this before UseOrleans so it runs first), the job and
    /// agent stores with their group-commit writer (and the agents' grouped reader), the event log and the storage probe.
    /// </summary>
    public static IServiceCollection AddMeshPostgres(this IServiceCollection services, string connectionString, IConfiguration configuration)
    {
        services.AddSingleton(new PostgresConnection(connectionString));
        services.AddOptions<MigrationOptions>().Bind(configuration.GetSection("MeshOs:Migrations"));
        services.AddOptions<PostgresStoreOptions>().Bind(configuration.GetSection(PostgresStoreOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<SchemaMigrationHostedService>();
        services.AddSingleton<JobWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<JobWriter>());
        services.AddSingleton<IJobStore, PostgresJobStore>();
        services.AddSingleton<AgentReader>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentReader>());
        services.AddSingleton<IAgentStore, PostgresAgentStore>();
        services.AddSingleton<IEventLog, PostgresEventLog>();
        services.AddSingleton<IStorageProbe, PostgresStorageProbe>();
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection(AuditOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PostgresAuditStore>();
        services.AddHostedService(sp => sp.GetRequiredService<PostgresAuditStore>());
        services.AddSingleton<IAuditStore>(sp => sp.GetRequiredService<PostgresAuditStore>());
        services.AddSingleton<ICostStore, PostgresCostStore>();
        services.AddSingleton<Grains.Kpi.IKpiStore, Kpi.PostgresKpiStore>();
        return services;
    }
}
