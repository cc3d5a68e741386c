using System.Diagnostics.Metrics;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost meter, <c>MeshOs.Cost</c>: spend as it is committed to the rollups, in the mesh's currency, by pool.
/// Prometheus: <c>meshos_cost_spend_total{pool, kind="allocated"|"usage"}</c> and <c>meshos_cost_idle{pool}</c>
/// (idle can move back to a tenant when a job ends late, so it is an up-down sum). The advisor's recommendations:
/// <c>meshos_cost_recommendations_open{kind}</c>, <c>meshos_cost_recommendations_saving{kind}</c> (estimated monthly
/// saving of the open ones) and <c>meshos_cost_recommendations_applied_total{kind, automatic}</c>.
/// </summary>
public static class CostMetrics
{
    public const string MeterName = "MeshOs.Cost";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<double> Spend = Meter.CreateCounter<double>("meshos.cost.spend", "{currency}",
        "Cost charged to tenants: busy agent time (kind=allocated) and metered usage (kind=usage).");

    private static readonly UpDownCounter<double> Idle = Meter.CreateUpDownCounter<double>("meshos.cost.idle", "{currency}",
        "Cost of connected agent time no job used.");

    private static readonly Counter<long> AppliedCount = Meter.CreateCounter<long>("meshos.cost.recommendations.applied", "{recommendation}",
        "Recommendations applied, by an operator (automatic=false) or an autoscale policy (automatic=true).");

    private static volatile IReadOnlyList<(string Kind, int Open, decimal Saving)> _open = [];

    static CostMetrics()
    {
        Meter.CreateObservableGauge("meshos.cost.recommendations.open",
            () => _open.Select(k => new Measurement<int>(k.Open, new KeyValuePair<string, object?>("kind", k.Kind))), "{recommendation}",
            "Open cost recommendations, by kind.");
        Meter.CreateObservableGauge("meshos.cost.recommendations.saving",
            () => _open.Select(k => new Measurement<double>((double)k.Saving, new KeyValuePair<string, object?>("kind", k.Kind))), "{currency}",
            "Estimated monthly saving of the open recommendations, by kind (negative for scale-ups: what they add).");
    }

    /// <summary>The advisor's recommendations now (the open ones are measured).</summary>
    public static void Recommendations(IEnumerable<Recommendation> all) =>
        _open = [.. Enum.GetValues<RecommendationKind>().Select(kind =>
        {
            var open = all.Where(r => r.Kind == kind && r.Status == RecommendationStatus.Open).ToList();
            return (kind.ToString(), open.Count, open.Sum(r => r.MonthlySaving));
        })];

    public static void Applied(RecommendationKind kind, bool automatic) =>
        AppliedCount.Add(1, new KeyValuePair<string, object?>("kind", kind.ToString()), new KeyValuePair<string, object?>("automatic", automatic));

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
