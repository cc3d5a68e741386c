using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Routing;
using MeshOs.Grains.Compliance;
using MeshOs.Grains.Cost;
using MeshOs.Grains.Healing;
using MeshOs.Grains.Incidents;
using MeshOs.Grains.Kpi;
using MeshOs.Grains.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Hosting;

/// <summary>Adds the supervisors: self-healing and incident management with escalation, compliance, budgets.</summary>
public static class SupervisorHostingExtensions
{
    public static ISiloBuilder AddMeshHealing(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<HealingOptions>().Bind(configuration.GetSection(HealingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IncidentOptions>().Bind(configuration.GetSection(IncidentOptions.Section)).ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<IncidentOptions>, IncidentOptionsValidator>();
        services.AddHttpClient(IncidentNotifier.HttpClientName);
        services.AddSingleton<IncidentNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<IncidentNotifier>());
        silo.AddMeshEventConsumer<IHealingSupervisorGrain>("healing", "default");
        return silo;
    }

    /// <summary>
    /// The compliance auditor: its options, and the watcher that reads the event log (consumer <c>compliance</c>) so
    /// agents are checked as they register. Policies are enforced by the gateways whether or not this is added.
    /// </summary>
    public static ISiloBuilder AddMeshCompliance(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<ComplianceOptions>().Bind(configuration.GetSection(ComplianceOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        silo.AddMeshEventConsumer<IComplianceWatcherGrain>("compliance", "default");
        return silo;
    }

    /// <summary>
    /// The cost supervisor (COST.md): its options, the rollups' maintenance, and the router that reads the event log
    /// (consumer <c>cost</c>) and hands each pool shard its agents' events. Needs an <see cref="ICostStore"/> (the
    /// in-memory or the PostgreSQL stores register one). Rate cards and reports answer whether or not it is enabled.
    /// </summary>
    public static ISiloBuilder AddMeshCost(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<CostOptions>().Bind(configuration.GetSection(CostOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        silo.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<CostOptions>, CostOptionsValidator>();
        if (configuration.GetValue(CostOptions.Section + ":" + nameof(CostOptions.Enabled), true))
        {
            silo.Services.AddHostedService<CostMaintenanceService>();
            var defaults = new CostOptions();
            var section = configuration.GetSection(CostOptions.Section);
            silo.AddMeshEventConsumer<ICostRouterGrain>("cost", "default",
                section.GetValue(nameof(CostOptions.EventBatchSize), defaults.EventBatchSize),
                section.GetValue(nameof(CostOptions.EventInterval), defaults.EventInterval));
        }

        if (configuration.GetValue(CostOptions.Section + ":Recommendations:" + nameof(RecommendationOptions.Enabled), true))
        {
            // The advisor keeps itself alive with a reminder once active; this activates it the first time.
            silo.AddStartupTask(static async (services, cancellation) =>
            {
                try
                {
                    await services.GetRequiredService<IGrainFactory>().GetGrain<ICostAdvisorGrain>(0).ListAsync(new RecommendationFilter(Status: RecommendationStatus.Open));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Another silo (or the next start) activates it; a silo does not fail to start for the advisor.
                    services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger(typeof(CostAdvisorGrain).FullName!)
                        .LogWarning(ex, "The cost advisor did not activate at start");
                }
            });
        }

        return silo;
    }

    /// <summary>
    /// The adaptive routing learner (README "Adaptive routing"): the consumer <c>routing</c> of the event log hands each
    /// pool's attempt ends to the pool's statistics grain, which the gateways' dispatchers read.
    /// </summary>
    public static ISiloBuilder AddMeshRouting(this ISiloBuilder silo, IConfiguration configuration)
    {
        var section = configuration.GetSection(RouteLearningOptions.Section);
        silo.Services.AddOptions<RouteLearningOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        var options = section.Get<RouteLearningOptions>() ?? new RouteLearningOptions();
        if (options.Enabled)
        {
            silo.AddMeshEventConsumer<IRoutingLearnerGrain>("routing", "default", interval: options.EventInterval);
        }

        return silo;
    }

    /// <summary>
    /// KPIs, SLOs, SLA credits and maintenance windows (KPIS.md): the options, the calendar, the rollups' retention and the
    /// consumer <c>kpi</c> of the event log (end-to-end latency). Needs an <see cref="IKpiStore"/> (the mode's).
    /// </summary>
    public static ISiloBuilder AddMeshKpi(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<KpiOptions>().Bind(configuration.GetSection(KpiOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SlaOptions>().Bind(configuration.GetSection(SlaOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MaintenanceOptions>().Bind(configuration.GetSection(MaintenanceOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        if (configuration.GetValue(KpiOptions.Section + ":" + nameof(KpiOptions.Enabled), true))
        {
            services.AddHostedService<KpiMaintenanceService>();
            silo.AddMeshEventConsumer<IKpiEventsGrain>("kpi", "default");
        }

        return silo;
    }
}
