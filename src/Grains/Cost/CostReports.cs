using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>One group's summed rollups, as the store answers a query.</summary>
public sealed record CostSum(string Key, DateTimeOffset? Bucket, decimal Allocated, decimal Idle, decimal Usage, long AgentMs);

/// <summary>
/// Reports from summed rollups (pure): lines, totals that reconcile, and idle shared by the query's policy when the
/// report is by tenant (evenly among the tenants of each bucket, or by their share of allocated cost; the remainder of
/// rounding placed deterministically, so the shares add up to the idle exactly). Also the cost-per-agent KPI.
/// </summary>
public static class CostReports
{
    /// <summary>The range of a query, whole hours: from down, to up. Invalid for an empty, reversed or too long range.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) Range(DateTimeOffset from, DateTimeOffset to)
    {
        var start = CostAllocator.HourOf(from);
        var end = CostAllocator.HourOf(to);
        if (end < to)
        {
            end = end.AddHours(1);
        }

        if (end <= start)
        {
            throw MeshException.Invalid("to", "must be after from.");
        }

        if (end - start > CostQuery.MaxRange)
        {
            throw MeshException.Invalid("to", $"a query covers at most {CostQuery.MaxRange.TotalDays:0} days.");
        }

        return (start, end);
    }

    /// <summary>The report of <paramref name="query"/> (its range already whole hours) from the store's sums.</summary>
    public static CostReport Build(CostQuery query, string currency, IReadOnlyList<CostSum> sums)
    {
        var policy = query.Idle ?? IdlePolicy.Separate;
        var lines = new List<CostLine>();
        var share = query.GroupBy == CostDimension.Tenant && policy != IdlePolicy.Separate;
        foreach (var bucket in sums.GroupBy(s => s.Bucket).OrderBy(g => g.Key))
        {
            var tenants = bucket.Where(s => s.Key != CostRollup.IdleTenant).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
            var idle = bucket.Where(s => s.Key == CostRollup.IdleTenant).Sum(s => s.Idle);
            var idleMs = bucket.Where(s => s.Key == CostRollup.IdleTenant).Sum(s => s.AgentMs);
            decimal[] shares = share && tenants.Count > 0 && idle > 0
                ? Apportion.Split(idle, policy == IdlePolicy.Even ? [.. tenants.Select(_ => 1m)] : [.. tenants.Select(t => t.Allocated)], CostCurrency.Scale)
                : new decimal[tenants.Count];
            var shared = shares.Sum();
            if (idle - shared != 0 || bucket.Any(s => s.Key == CostRollup.IdleTenant && (s.Allocated != 0 || s.Usage != 0)))
            {
                var own = bucket.Where(s => s.Key == CostRollup.IdleTenant).ToList();
                lines.Add(new CostLine(CostRollup.IdleTenant, bucket.Key, own.Sum(s => s.Allocated), idle - shared, 0m, own.Sum(s => s.Usage), idleMs));
            }

            for (var i = 0; i < tenants.Count; i++)
            {
                var t = tenants[i];
                lines.Add(new CostLine(t.Key, bucket.Key, t.Allocated, t.Idle, shares[i], t.Usage, t.AgentMs));
            }
        }

        var allocated = lines.Sum(l => l.Allocated);
        var idleTotal = lines.Sum(l => l.Idle + l.IdleShare);
        var usage = lines.Sum(l => l.Usage);
        return new CostReport(currency, query.From, query.To, query.GroupBy, query.Interval, policy, [.. lines],
            allocated, idleTotal, lines.Sum(l => l.Idle), usage, allocated + idleTotal, allocated + idleTotal + usage);
    }

    /// <summary>The report narrowed to one tenant's lines (a tenant's view), its totals those lines' sums.</summary>
    public static CostReport Only(CostReport report, string tenant)
    {
        var lines = report.Lines.Where(l => l.Key == tenant).ToImmutableArray();
        var allocated = lines.Sum(l => l.Allocated);
        var idle = lines.Sum(l => l.Idle + l.IdleShare);
        var usage = lines.Sum(l => l.Usage);
        return report with
        {
            Lines = lines, Allocated = allocated, IdleTotal = idle, UnsharedIdle = lines.Sum(l => l.Idle), Usage = usage,
            AgentCost = allocated + idle, Total = allocated + idle + usage,
        };
    }

    /// <summary>
    /// Cost per agent-month: cost ÷ agent-hours × 730, for the range and for each month in it (rounded to cents for
    /// display; the sums stay exact). A scope without agent time has no value (null), not zero.
    /// </summary>
    public static CostKpi Kpi(CostKpiQuery query, string currency, decimal target, IReadOnlyList<CostSum> byMonth)
    {
        var trend = byMonth.OrderBy(m => m.Bucket)
            .Select(m => new CostKpiPoint(m.Bucket ?? query.From, m.Allocated + m.Idle + m.Usage, Hours(m.AgentMs),
                PerAgentMonth(m.Allocated + m.Idle + m.Usage, m.AgentMs)))
            .ToImmutableArray();
        var cost = byMonth.Sum(m => m.Allocated + m.Idle + m.Usage);
        var ms = byMonth.Sum(m => m.AgentMs);
        var perAgent = PerAgentMonth(cost, ms);
        return new CostKpi(currency, query.From, query.To, query.Pool, query.Tenant, cost, Hours(ms), perAgent, target,
            perAgent is { } value ? value <= target : null, trend);
    }

    private static decimal Hours(long ms) => Math.Round(ms / 3_600_000m, 6);

    private static decimal? PerAgentMonth(decimal cost, long ms) =>
        ms <= 0 ? null : Math.Round(cost * CostKpi.HoursPerMonth * 3_600_000m / ms, 2, MidpointRounding.ToEven);
}
