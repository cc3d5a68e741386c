using System.Collections.Immutable;

namespace MeshOs.Abstractions.Kpi;

/// <summary>
/// One KPI: its value against its target, or null with the reason when its source has nothing to say (never a made-up
/// number). Names and formulas: KPIS.md.
/// </summary>
/// <param name="Name">availability, submitLatencyP95, submitLatencyP99, endToEndLatencyP95, endToEndLatencyP99, errorRate, sloAdherence, errorBudgetRemaining, mttr, automationRate, complianceScore, costPerAgent.</param>
/// <param name="Unit">percent, ms, ratio, minutes or a currency code.</param>
/// <param name="Source">Where it comes from: sli-rollups, incidents, compliance, cost.</param>
[GenerateSerializer, Immutable, Alias("meshos.KpiValue")]
public sealed record KpiValue(string Name, decimal? Value, string Unit, decimal? Target, bool? MeetsTarget, string Source, string? MissingReason = null)
{
    public static KpiValue Missing(string name, string unit, decimal? target, string source, string reason) => new(name, null, unit, target, null, source, reason);
}

/// <summary>SLO adherence and the error budget of a scope over a period (KPIS.md, "SLOs").</summary>
/// <param name="Windows">5-minute windows judged (with data, not wholly maintenance).</param>
/// <param name="AllowedBadMinutes">The error budget: (1 − availability target) × valid minutes.</param>
/// <param name="BudgetRemaining">1 − bad ÷ allowed (negative once overspent); null with no valid minute.</param>
[GenerateSerializer, Immutable, Alias("meshos.SloStatus")]
public sealed record SloStatus(
    string Scope,
    DateTimeOffset From,
    DateTimeOffset To,
    decimal AvailabilityTarget,
    decimal SubmitP95TargetMs,
    decimal SubmitP99TargetMs,
    decimal ErrorRateTarget,
    long Windows,
    long WindowsMet,
    decimal? Adherence,
    long ValidMinutes,
    long BadMinutes,
    decimal AllowedBadMinutes,
    decimal? BudgetRemaining,
    BurnRates? Burn);

/// <summary>The KPIs of a scope (the mesh, or a tenant) over [From, To).</summary>
[GenerateSerializer, Immutable, Alias("meshos.KpiReport")]
public sealed record KpiReport(string Scope, string? TenantId, DateTimeOffset From, DateTimeOffset To, ImmutableArray<KpiValue> Kpis, SloStatus Slo);

/// <summary>
/// A tenant's SLA report for one calendar month (UTC): availability from its minutes, the credit band and the credit on
/// the month's bill (KPIS.md, "SLA credits").
/// </summary>
/// <param name="Month">yyyy-MM.</param>
/// <param name="To">The month's end, or now while the month runs (<paramref name="Final"/> false).</param>
/// <param name="Bill">The month's bill: the tenant's cost (cost accounting) where present, else the configured monthly fee; null when neither.</param>
/// <param name="BillSource">cost, monthly-fee, or null.</param>
[GenerateSerializer, Immutable, Alias("meshos.SlaReport")]
public sealed record SlaReport(
    string TenantId,
    string Month,
    DateTimeOffset From,
    DateTimeOffset To,
    bool Final,
    long TotalMinutes,
    long ExcludedMinutes,
    long ValidMinutes,
    long BadMinutes,
    long GoodMinutes,
    decimal AvailabilityPercent,
    decimal TargetPercent,
    SlaBand Band,
    ImmutableArray<SlaBand> Bands,
    decimal? Bill,
    string? BillSource,
    string? Currency,
    decimal? Credit,
    ImmutableArray<MaintenanceWindow> MaintenanceWindows,
    DateTimeOffset GeneratedAt);
