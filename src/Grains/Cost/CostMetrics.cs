using System.Diagnostics.Metrics;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost meter, <c>MeshOs.Cost</c>: spend as it is committed to the rollups, in the mesh's currency, by pool.
/// Prometheus: <c>meshos_cost_spend_total{pool, kind="allocated"|"usage"}</c> and <c>meshos_cost_idle{pool}</c>
/// (idle can move back to a tenant when a job ends late, so it is an up-down sum).
/// </summary>
public static class CostMetrics
{
    public const string MeterName = "MeshOs.Cost";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<double> Spend = Meter.CreateCounter<double>("meshos.cost.spend", "{currency}",
        "Cost charged to tenants: busy agent time (kind=allocated) and metered usage (kind=usage).");

    private static readonly UpDownCounter<double> Idle = Meter.CreateUpDownCounter<double>("meshos.cost.idle", "{currency}",
        "Cost of connected agent time no job used.");

    public static void Committed(IEnumerable<CostRollup> rows)
    {
        foreach (var pool in rows.GroupBy(r => r.Pool))
        {
            var tag = new KeyValuePair<string, object?>("pool", pool.Key);
            var allocated = pool.Sum(r => r.Allocated);
            var usage = pool.Sum(r => r.Usage);
            var idle = pool.Sum(r => r.Idle);
            if (allocated > 0)
            {
                Spend.Add((double)allocated, tag, new("kind", "allocated"));
            }

            if (usage > 0)
            {
                Spend.Add((double)usage, tag, new("kind", "usage"));
            }

            if (idle != 0)
            {
                Idle.Add((double)idle, tag);
            }
        }
    }
}
