using System.Collections.Immutable;
using MeshOs.Abstractions.Healing;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Healing;

/// <summary>The self-healing engine as operators read it: pools, recent remediations, scale recommendations.</summary>
public sealed class HealingService(IGrainFactory grains)
{
    public const int DefaultRecent = 50;
    public const int MaxRecent = 1_000;
    public const int DefaultRemediations = 100;
    public const int MaxRemediations = 10_000;

    public Task<HealingReport> ReportAsync(MeshCaller caller, int? recent)
    {
        caller.RequireOperator();
        return Supervisor.GetReportAsync(Inputs.Limit(recent, DefaultRecent, MaxRecent, "recent"));
    }

    /// <summary>Remediations newest first, optionally only those about <paramref name="subject"/> (an agent id or a pool).</summary>
    public Task<ImmutableArray<Remediation>> RemediationsAsync(MeshCaller caller, string? subject, int? limit)
    {
        caller.RequireOperator();
        return Supervisor.GetRemediationsAsync(subject, Inputs.Limit(limit, DefaultRemediations, MaxRemediations));
    }

    private IHealingSupervisorGrain Supervisor => grains.GetGrain<IHealingSupervisorGrain>("default");
}
