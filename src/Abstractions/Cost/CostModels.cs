using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace MeshOs.Abstractions.Cost;

/// <summary>
/// The mesh's one currency: an ISO 4217 code (three capital letters), set by <c>MeshOs:Cost:Currency</c> (default USD).
/// Every amount the cost model holds is a <see cref="decimal"/> in it; a rate card in another currency is refused, never converted.
/// </summary>
public static partial class CostCurrency
{
    public const string Default = "USD";

    /// <summary>Amounts are kept to this many decimals (micro-units): rollups round to it, with the remainder placed deterministically.</summary>
    public const int Scale = 6;

    public static bool IsValid(string? code) => code is not null && IsoCode().IsMatch(code);

    /// <summary>The code when it is the mesh's; InvalidArgument naming <paramref name="field"/> otherwise.</summary>
    public static string Require(string? code, string meshCurrency, string field = "currency")
    {
        if (code is null)
        {
            return meshCurrency;
        }

        if (!IsValid(code))
        {
            throw MeshException.Invalid(field, "an ISO 4217 code of three capital letters, e.g. USD.");
        }

        return code == meshCurrency ? code : throw MeshException.Invalid(field, $"the mesh counts in {meshCurrency}; amounts in {code} are not mixed in.");
    }

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex IsoCode();
}

/// <summary>
/// An agent's hourly rate in a rate card. A rule matches an agent when each of its set fields equals the agent's; the most
/// specific matching rule (most fields set) wins, the first of the list on a tie.
/// </summary>
/// <param name="Pool">The agent's pool; <c>*</c> for any pool.</param>
/// <param name="Runtime">The runtime that started the agent (e.g. <c>sim</c>, <c>k8s</c>); null for any.</param>
/// <param name="Region">The agent's region; null for any.</param>
/// <param name="HourlyRate">What an hour of such an agent costs, connected (busy or idle).</param>
[GenerateSerializer, Immutable, Alias("meshos.AgentRate")]
public sealed record AgentRate(string Pool, string? Runtime, string? Region, decimal HourlyRate)
{
    public const string AnyPool = "*";

    /// <summary>How many fields narrow the rule; -1 when it does not match the agent.</summary>
    public int Specificity(CostedAgent agent)
    {
        if ((Pool != AnyPool && Pool != agent.Pool) || (Runtime is not null && Runtime != agent.Runtime) || (Region is not null && Region != agent.Region))
        {
            return -1;
        }

        return (Pool != AnyPool ? 1 : 0) + (Runtime is not null ? 1 : 0) + (Region is not null ? 1 : 0);
    }
}

/// <summary>The price of one unit of metered usage (one token, one GPU-second…), optionally for one model only.</summary>
/// <param name="Unit">The unit: <c>tokens_in</c>, <c>tokens_out</c>, <c>gpu_seconds</c> or any name agents report.</param>
/// <param name="Model">Only usage reported with this model; null for any (an exact model's price wins).</param>
[GenerateSerializer, Immutable, Alias("meshos.UnitPrice")]
public sealed record UnitPrice(string Unit, string? Model, decimal Price);

/// <summary>
/// One version of the mesh's prices, in force from <see cref="EffectiveFrom"/> until the next card's. A card is whole:
/// it replaces the previous card's rates and prices, it does not patch them.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.RateCard")]
public sealed record RateCard(
    string Id,
    DateTimeOffset EffectiveFrom,
    string Currency,
    ImmutableArray<AgentRate> AgentRates,
    ImmutableArray<UnitPrice> UnitPrices,
    string? Note,
    long Version,
    DateTimeOffset UpdatedAt);

/// <summary>The facts of an agent its rate is chosen by, and its own registered rate (used when no rule matches).</summary>
[GenerateSerializer, Immutable, Alias("meshos.CostedAgent")]
public sealed record CostedAgent(string AgentId, string Pool, string? Runtime, string Region, decimal RegisteredHourlyRate);

/// <summary>A quantity of metered usage an agent reports with a result.</summary>
/// <param name="Unit">Lowercase letters, digits and <c>_ . : -</c>, at most 64 characters.</param>
/// <param name="Quantity">Non-negative, at most 10^15.</param>
/// <param name="Model">The model the usage is of (selects a model's unit price), at most 128 characters.</param>
[GenerateSerializer, Immutable, Alias("meshos.MeteredUsage")]
public sealed partial record MeteredUsage(string Unit, decimal Quantity, string? Model = null)
{
    /// <summary>Most items one result may carry.</summary>
    public const int MaxItems = 32;

    /// <summary>Largest quantity of one item.</summary>
    public const decimal MaxQuantity = 1_000_000_000_000_000m;

    /// <summary>Whether <paramref name="unit"/> is a unit name: 1–64 of lowercase letters, digits, '_', '.', ':' or '-', starting with a letter or digit.</summary>
    public static bool IsUnit(string? unit) => unit is not null && UnitPattern().IsMatch(unit);

    /// <summary>Checks what an agent reports: at most <see cref="MaxItems"/> items, known-shape unit names (free names allowed), non-negative bounded quantities. Invalid naming the field otherwise.</summary>
    public static void Validate(IReadOnlyList<MeteredUsage?> items, string field = "usage.metered")
    {
        if (items.Count > MaxItems)
        {
            throw MeshException.Invalid(field, $"at most {MaxItems} items.");
        }

        foreach (var item in items)
        {
            if (item is null || !IsUnit(item.Unit))
            {
                throw MeshException.Invalid(field + ".unit", "1–64 lowercase letters, digits, '_', '.', ':' or '-' (e.g. tokens_in, gpu_seconds).");
            }

            if (item.Quantity is < 0 or > MaxQuantity)
            {
                throw MeshException.Invalid(field + ".quantity", "0 to 10^15.");
            }

            if (item.Model is not null && (item.Model.Length is < 1 or > 128 || item.Model.Any(char.IsControl)))
            {
                throw MeshException.Invalid(field + ".model", "absent, or 1–128 characters without control characters.");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_.:-]{0,63}$")]
    private static partial Regex UnitPattern();
}

/// <summary>How idle agent time is shown in a report (OpenCost's shared-cost policies).</summary>
[GenerateSerializer]
public enum IdlePolicy
{
    /// <summary>Idle is its own line, charged to no tenant.</summary>
    Separate = 0,

    /// <summary>Idle is split evenly among the tenants that used the scope.</summary>
    Even = 1,

    /// <summary>Idle is split by each tenant's share of the allocated cost.</summary>
    Proportional = 2,
}

/// <summary>What a cost report groups by.</summary>
[GenerateSerializer]
public enum CostDimension
{
    Tenant = 0,
    Pool = 1,
    Agent = 2,
    Capability = 3,
}

/// <summary>A time bucket of a report; None sums the whole range.</summary>
[GenerateSerializer]
public enum CostInterval
{
    None = 0,
    Hour = 1,
    Day = 2,
    Month = 3,
}

/// <summary>
/// One hourly rollup row: the amounts of an agent-hour for one tenant and capability, or its idle time (tenant and
/// capability empty). Rows are additive: the store sums rows with the same key.
/// </summary>
/// <param name="Hour">The UTC hour the amounts fall in (its start).</param>
/// <param name="Allocated">Busy agent time × rate, charged to the tenant.</param>
/// <param name="Idle">Connected, not busy agent time × rate (on idle rows).</param>
/// <param name="Usage">Metered usage × unit price, and cost the agent reported, charged to the tenant.</param>
/// <param name="AgentMs">The agent time the row covers: busy time (split among concurrent jobs) on tenant rows, idle time on idle rows.</param>
[GenerateSerializer, Immutable, Alias("meshos.CostRollup")]
public sealed record CostRollup(
    DateTimeOffset Hour,
    string Pool,
    string Tenant,
    string Agent,
    string Capability,
    decimal Allocated,
    decimal Idle,
    decimal Usage,
    long AgentMs)
{
    /// <summary>The tenant (and capability) of idle rows.</summary>
    public const string IdleTenant = "";

    public decimal Total => Allocated + Idle + Usage;
}

/// <summary>Which rollups to sum: an hour range and optional filters, grouped by a dimension and a time bucket.</summary>
/// <param name="From">First hour (inclusive; truncated to the hour).</param>
/// <param name="To">End (exclusive; rounded up to the hour).</param>
/// <param name="Tenant">Only this tenant's lines (a tenant's view: with idle shared, its share).</param>
/// <param name="Idle">How idle is shown; null: <c>MeshOs:Cost:IdlePolicy</c>.</param>
[GenerateSerializer, Immutable, Alias("meshos.CostQuery")]
public sealed record CostQuery(
    DateTimeOffset From,
    DateTimeOffset To,
    CostDimension GroupBy,
    CostInterval Interval = CostInterval.None,
    string? Tenant = null,
    string? Pool = null,
    string? Agent = null,
    string? Capability = null,
    IdlePolicy? Idle = null)
{
    /// <summary>The longest range one query may cover (a rollup is kept 13 months).</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);
}

/// <summary>Summed amounts of one group (and bucket) of a report.</summary>
/// <param name="Key">The dimension's value: a tenant id (empty: idle), a pool, an agent, a capability (empty: idle).</param>
/// <param name="Bucket">The bucket's start; null without an interval.</param>
/// <param name="IdleShare">Idle charged to this tenant by the report's idle policy (zero with Separate).</param>
[GenerateSerializer, Immutable, Alias("meshos.CostLine")]
public sealed record CostLine(string Key, DateTimeOffset? Bucket, decimal Allocated, decimal Idle, decimal IdleShare, decimal Usage, long AgentMs)
{
    public decimal Total => Allocated + Idle + IdleShare + Usage;
}

/// <summary>A cost report: its lines and totals, which reconcile (sum of lines == totals, allocated + idle == agent cost).</summary>
/// <param name="AgentCost">Allocated + idle: what the agents cost.</param>
/// <param name="UnsharedIdle">Idle left as its own line (all of it with Separate; none when shared and some tenant used the scope).</param>
[GenerateSerializer, Immutable, Alias("meshos.CostReport")]
public sealed record CostReport(
    string Currency,
    DateTimeOffset From,
    DateTimeOffset To,
    CostDimension GroupBy,
    CostInterval Interval,
    IdlePolicy Idle,
    ImmutableArray<CostLine> Lines,
    decimal Allocated,
    decimal IdleTotal,
    decimal UnsharedIdle,
    decimal Usage,
    decimal AgentCost,
    decimal Total);

/// <summary>Which view of the cost-per-agent KPI.</summary>
[GenerateSerializer, Immutable, Alias("meshos.CostKpiQuery")]
public sealed record CostKpiQuery(DateTimeOffset From, DateTimeOffset To, string? Pool = null, string? Tenant = null);

/// <summary>
/// Cost per agent per month: the scope's cost over its agent time, scaled to an agent-month (730 hours), against the
/// target; the months of the range each as a point of the trend.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.CostKpi")]
public sealed record CostKpi(
    string Currency,
    DateTimeOffset From,
    DateTimeOffset To,
    string? Pool,
    string? Tenant,
    decimal Cost,
    decimal AgentHours,
    decimal? CostPerAgentMonth,
    decimal Target,
    bool? MeetsTarget,
    ImmutableArray<CostKpiPoint> Trend)
{
    /// <summary>Hours in the average month (8,760 / 12).</summary>
    public const decimal HoursPerMonth = 730m;
}

/// <summary>One month of the KPI's trend.</summary>
[GenerateSerializer, Immutable, Alias("meshos.CostKpiPoint")]
public sealed record CostKpiPoint(DateTimeOffset Month, decimal Cost, decimal AgentHours, decimal? CostPerAgentMonth);

/// <summary>
/// One job's cost: its share of the agent time it ran in (split with jobs running beside it) and its usage, over every
/// attempt. Idle is never a job's. Amounts in the mesh's currency.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.JobCost")]
public sealed record JobCost(Guid JobId, string Currency, string Tenant, string Pool, string Capability, decimal Allocated, decimal Usage, long AgentMs)
{
    public decimal Total => Allocated + Usage;
}
