using MeshOs.Gateway.Agents;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Compliance;
using MeshOs.Gateway.Cost;
using MeshOs.Gateway.Healing;
using MeshOs.Gateway.Incidents;
using MeshOs.Gateway.Jobs;
using MeshOs.Gateway.Tenants;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// The application layer: one transport-neutral service per resource, which REST, gRPC (and, through REST, the CLI)
/// adapt; every mutation passes through <see cref="Mutations"/>, where recorders (the audit log) plug in.
/// </summary>
public static class ApplicationServices
{
    public static IServiceCollection AddMeshApplication(this IServiceCollection services)
    {
        services.AddSingleton<Mutations>();
        services.AddSingleton<SubmitRateLimiter>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<JobsService>();
        services.AddSingleton<AgentReporter>();
        services.AddSingleton<AgentDirectoryReader>();
        services.AddSingleton<AgentsService>();
        services.AddSingleton<AgentProtocolService>();
        services.AddSingleton<TenantsService>();
        services.AddSingleton<IncidentsService>();
        services.AddSingleton<HealingService>();
        services.AddSingleton<PoolGrantCache>();
        services.AddSingleton<TenantDataRulesCache>();
        services.AddSingleton<PoolGrantService>();
        services.AddSingleton<OperatorKeysService>();
        services.AddSingleton<ComplianceService>();
        services.AddSingleton<CostService>();
        return services;
    }

    /// <summary>The compliance policies as this gateway reads them (short cache) and the reporter of the checks it makes.</summary>
    public static IServiceCollection AddMeshComplianceChecks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayComplianceOptions>().Bind(configuration.GetSection(GatewayComplianceOptions.Section));
        services.AddSingleton<CompliancePolicies>();
        services.AddSingleton<DataPlacementChecks>();
        services.AddSingleton<ComplianceReports>();
        services.AddHostedService(sp => sp.GetRequiredService<ComplianceReports>());
        return services;
    }

    /// <summary>Tenants' budgets: the service and the submit path's hard-limit check.</summary>
    public static IServiceCollection AddMeshBudgets(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Cost.GatewayBudgetOptions>().Bind(configuration.GetSection(Cost.GatewayBudgetOptions.Section))
            .Validate(o => o.BudgetCacheDuration >= TimeSpan.Zero && o.BudgetReadTimeout > TimeSpan.Zero,
                $"{Cost.GatewayBudgetOptions.Section}: BudgetCacheDuration must not be negative and BudgetReadTimeout must be positive.")
            .ValidateOnStart();
        services.AddSingleton<Cost.BudgetGate>();
        services.AddSingleton<Cost.BudgetsService>();
        services.AddSingleton<Cost.RecommendationsService>();
        services.AddSingleton<Routing.RoutingService>();
        return services;
    }

    /// <summary>KPIs, SLOs, SLA reports and maintenance windows; the SLI recorder and its per-minute flush (MeshOs:Kpi).</summary>
    public static IServiceCollection AddMeshKpis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<Kpi.GatewayKpiOptions>().Bind(configuration.GetSection(Kpi.GatewayKpiOptions.Section))
            .Validate(o => o.FlushInterval > TimeSpan.Zero, $"{Kpi.GatewayKpiOptions.Section}:FlushInterval must be positive.")
            .ValidateOnStart();
        services.AddSingleton<Kpi.KpiService>();
        services.AddSingleton<Kpi.SliRecorder>();
        services.AddSingleton<Kpi.SliFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<Kpi.SliFlusher>());
        return services;
    }

    /// <summary>The audit log's recorder of every mutation (unless <c>MeshOs:Audit:Enabled</c> is false) and the audit query service.</summary>
    public static IServiceCollection AddMeshAuditRecording(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(AuditRecordingOptions.Section);
        services.AddOptions<AuditRecordingOptions>().Bind(section)
            .Validate(o => o.AppendTryTimeout > TimeSpan.Zero && o.AppendRetryBudget >= TimeSpan.Zero,
                $"{AuditRecordingOptions.Section}: AppendTryTimeout must be positive and AppendRetryBudget not negative.")
            .Validate(o => o.MaxAppendsInFlight is >= 1 and <= 64 && o.MaxAppendBatch is >= 1 and <= 10_000,
                $"{AuditRecordingOptions.Section}: MaxAppendsInFlight must be 1–64 and MaxAppendBatch 1–10,000.")
            .ValidateOnStart();
        services.AddSingleton<AuditRecorder>();
        services.AddSingleton<AuditService>();
        if (section.GetValue(nameof(AuditRecordingOptions.Enabled), true))
        {
            services.AddSingleton<IMutationRecorder>(sp => sp.GetRequiredService<AuditRecorder>());
        }

        return services;
    }
}
