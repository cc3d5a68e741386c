using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Healing;
using MeshOs.Grains.Compliance;
using MeshOs.Grains.Healing;
using MeshOs.Grains.Incidents;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

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
    /// Tenants' budgets: the mesh's cost currency they are kept in (<c>MeshOs:Cost:Currency</c>). Alerts go out as
    /// events and, where <see cref="AddMeshHealing"/> added the webhook notifier, as signed webhook notifications.
    /// </summary>
    public static ISiloBuilder AddMeshBudgets(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<Cost.BudgetOptions>().Bind(configuration.GetSection(Cost.BudgetOptions.Section))
            .Validate(o => Cost.BudgetOptions.IsCurrencyCode(o.Currency), $"{Cost.BudgetOptions.Section}:Currency must be an ISO 4217 code (three uppercase letters).")
            .ValidateOnStart();
        return silo;
    }
}
