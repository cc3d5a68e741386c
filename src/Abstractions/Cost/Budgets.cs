using System.Collections.Immutable;

namespace MeshOs.Abstractions.Cost;

/// <summary>How a budget's period runs.</summary>
[GenerateSerializer]
public enum BudgetPeriod
{
    /// <summary>Calendar months (UTC); spend starts from zero on the first of each month.</summary>
    Monthly = 0,

    /// <summary>One fixed span, <see cref="BudgetSpec.From"/> to <see cref="BudgetSpec.To"/>.</summary>
    Custom = 1,
}

/// <summary>
/// A tenant's budget, as an operator sets it: a limit on what the tenant's jobs cost in a period, optionally only in one
/// pool or for one capability. Alerts go out as spend crosses each percentage; with <see cref="HardLimit"/>, submits
/// covered by the budget are refused once spend reaches the limit (jobs already accepted still run).
/// </summary>
/// <param name="Name">Unique within the tenant: letters, digits, '-', '_' and '.', 1–64 characters.</param>
/// <param name="Limit">The amount, in <paramref name="Currency"/>, greater than zero.</param>
/// <param name="Currency">ISO 4217 code (the mesh's cost currency).</param>
/// <param name="AlertPercents">The thresholds that raise an alert, each 1–1,000, ascending and distinct (default 80, 100).</param>
[GenerateSerializer, Immutable, Alias("meshos.BudgetSpec")]
public sealed record BudgetSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] decimal Limit,
    [property: Id(2)] string Currency,
    [property: Id(3)] BudgetPeriod Period,
    [property: Id(4)] DateTimeOffset? From,
    [property: Id(5)] DateTimeOffset? To,
    [property: Id(6)] ImmutableArray<int> AlertPercents,
    [property: Id(7)] bool HardLimit,
    [property: Id(8)] string? Pool = null,
    [property: Id(9)] string? Capability = null)
{
    /// <summary>Whether spend (or a submit) in <paramref name="pool"/> for <paramref name="capability"/> counts against this budget.</summary>
    public bool Covers(string pool, string capability) =>
        (Pool is null || string.Equals(Pool, pool, StringComparison.Ordinal))
        && (Capability is null || string.Equals(Capability, capability, StringComparison.Ordinal));
}

/// <summary>Where a budget stands.</summary>
[GenerateSerializer]
public enum BudgetState
{
    /// <summary>Below every alert threshold.</summary>
    Ok = 0,

    /// <summary>At or past an alert threshold, below the limit.</summary>
    Warning = 1,

    /// <summary>At or past the limit (with a hard limit, covered submits are refused).</summary>
    Exceeded = 2,
}

/// <summary>A budget and its current period's spend, with a forecast.</summary>
/// <param name="Spent">Spend in the current period so far, as the cost rollups held it at the last refresh.</param>
/// <param name="Percent">Spent ÷ limit × 100, rounded down to two decimals.</param>
/// <param name="Forecast">Spend at the period's end if the run rate of the period so far holds.</param>
/// <param name="RunsOutAt">When spend reaches the limit at that run rate; null when it does not within the period (or already has).</param>
/// <param name="AlertsSent">The thresholds already alerted in this period.</param>
/// <param name="RefreshedAt">When spend was last read from the rollups; null before the first read.</param>
[GenerateSerializer, Immutable, Alias("meshos.BudgetStatus")]
public sealed record BudgetStatus(
    [property: Id(0)] BudgetSpec Spec,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] DateTimeOffset PeriodEnd,
    [property: Id(3)] decimal Spent,
    [property: Id(4)] decimal Percent,
    [property: Id(5)] BudgetState State,
    [property: Id(6)] decimal Forecast,
    [property: Id(7)] DateTimeOffset? RunsOutAt,
    [property: Id(8)] ImmutableArray<int> AlertsSent,
    [property: Id(9)] DateTimeOffset? RefreshedAt = null);

/// <summary>The hard limits a tenant's submits are checked against (read by gateways through a short cache).</summary>
/// <param name="Blocked">The exceeded hard-limit budgets: a submit any of them covers is refused.</param>
[GenerateSerializer, Immutable, Alias("meshos.BudgetEnforcement")]
public sealed record BudgetEnforcement([property: Id(0)] ImmutableArray<BudgetStatus> Blocked)
{
    public static BudgetEnforcement None { get; } = new([]);

    /// <summary>The first exceeded hard-limit budget covering a submit to <paramref name="pool"/> for <paramref name="capability"/>; null when none does.</summary>
    public BudgetStatus? Blocking(string pool, string capability) =>
        Blocked.FirstOrDefault(b => b.Spec.Covers(pool, capability));
}

/// <summary>
/// A tenant's budgets (key: the tenant id): their specs, each one's spend in its current period, alerts as thresholds
/// are crossed (an event and a signed webhook notification each), and the hard limits gateways enforce at submit.
/// Spend is read from the cost rollups (<see cref="ICostReportGrain.GetTenantSpendAsync"/>) every
/// <c>MeshOs:Cost:BudgetRefreshInterval</c> while the tenant has budgets, never on the submit path.
/// </summary>
[Alias("meshos.ITenantBudgetGrain")]
public interface ITenantBudgetGrain : IGrainWithStringKey
{
    /// <summary>Adds or replaces a budget (by name); its spend so far in the period is kept when only its settings change. Invalid naming the field.</summary>
    [Alias("Put")]
    Task<BudgetStatus> PutAsync(BudgetSpec spec);

    /// <summary>Removes a budget. NotFound for an unknown name.</summary>
    [Alias("Delete")]
    Task DeleteAsync(string name);

    /// <summary>Every budget with its current period's status, by name.</summary>
    [Alias("List"), AlwaysInterleave]
    Task<ImmutableArray<BudgetStatus>> ListAsync();

    /// <summary>The exceeded hard limits, for the gateways' submit check.</summary>
    [Alias("Enforcement"), AlwaysInterleave]
    Task<BudgetEnforcement> GetEnforcementAsync();

    /// <summary>Reads each budget's spend in its current period from the cost rollups now, alerting on every threshold crossed.</summary>
    [Alias("Refresh")]
    Task<ImmutableArray<BudgetStatus>> RefreshAsync();
}
