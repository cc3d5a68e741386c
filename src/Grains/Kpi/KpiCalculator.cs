using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>The SLI totals of a scope over a period, from its rollup rows and the maintenance calendar.</summary>
/// <param name="TotalMinutes">Whole minutes in the period.</param>
/// <param name="ExcludedMinutes">Minutes of the period inside maintenance windows (merged).</param>
/// <param name="BadMinutes">Bad minutes of the scope plus, for a tenant, the mesh's unobserved minutes.</param>
public sealed record SliTotals(
    long TotalMinutes,
    long ExcludedMinutes,
    long BadMinutes,
    long Requests,
    long Errors,
    long Windows,
    long WindowsMet,
    ImmutableArray<long> Submit,
    ImmutableArray<long> EndToEnd)
{
    public long ValidMinutes => Math.Max(0, TotalMinutes - ExcludedMinutes);

    public long GoodMinutes => Math.Max(0, ValidMinutes - BadMinutes);
}

/// <summary>
/// Turns rollup rows into KPI values and SLO status (KPIS.md gives every formula). Pure: rows, windows and options in,
/// numbers out.
/// </summary>
public static class KpiCalculator
{
    /// <summary>
    /// Totals over [from, to) from the scope's rows and, for a tenant, the mesh's rows (whose unobserved minutes were bad for
    /// every tenant: no gateway answered).
    /// </summary>
    public static SliTotals Totals(IEnumerable<SliRow> rows, IEnumerable<SliRow> meshRows, bool isMesh, IEnumerable<MaintenanceWindow> windows,
        DateTimeOffset from, DateTimeOffset to)
    {
        var list = rows.ToList();
        var submit = LatencySketch.Empty();
        var endToEnd = LatencySketch.Empty();
        foreach (var row in list)
        {
            LatencySketch.AddTo(submit, row.Submit);
            LatencySketch.AddTo(endToEnd, row.EndToEnd);
        }

        var unobserved = (isMesh ? list : meshRows).Sum(r => r.UnobservedMinutes);
        return new SliTotals(
            TotalMinutes: Math.Max(0, (long)Math.Floor((to - from).TotalMinutes)),
            ExcludedMinutes: MaintenanceCalendar.ExcludedMinutes(windows, from, to),
            BadMinutes: list.Sum(r => r.BadMinutes) + unobserved,
            Requests: list.Sum(r => r.Requests),
            Errors: list.Sum(r => r.Errors),
            Windows: list.Sum(r => r.Windows),
            WindowsMet: list.Sum(r => r.WindowsMet),
            Submit: [.. submit],
            EndToEnd: [.. endToEnd]);
    }

    /// <summary>Availability, latencies, error rate, SLO adherence and the error budget's remainder.</summary>
    public static ImmutableArray<KpiValue> SliKpis(SliTotals t, KpiOptions o)
    {
        const string Source = "sli-rollups";
        var availability = Math.Round(SlaCredits.Availability(t.GoodMinutes, t.ValidMinutes), 4);
        var slo = Slo(t, o);
        return
        [
            new KpiValue("availability", availability, "percent", o.AvailabilityTarget, availability >= o.AvailabilityTarget, Source),
            Latency("submitLatencyP95", LatencySketch.Quantile(t.Submit, 0.95), o.SubmitP95TargetMs, "no submit in the period"),
            Latency("submitLatencyP99", LatencySketch.Quantile(t.Submit, 0.99), o.SubmitP99TargetMs, "no submit in the period"),
            Latency("endToEndLatencyP95", LatencySketch.Quantile(t.EndToEnd, 0.95), null, "no job ended in the period"),
            Latency("endToEndLatencyP99", LatencySketch.Quantile(t.EndToEnd, 0.99), null, "no job ended in the period"),
            t.Requests == 0
                ? KpiValue.Missing("errorRate", "ratio", o.ErrorRateTarget, Source, "no API request in the period")
                : new KpiValue("errorRate", Math.Round((decimal)t.Errors / t.Requests, 6), "ratio", o.ErrorRateTarget, (decimal)t.Errors / t.Requests < o.ErrorRateTarget, Source),
            slo.Adherence is { } adherence
                ? new KpiValue("sloAdherence", adherence, "percent", o.AdherenceTarget, adherence >= o.AdherenceTarget, Source)
                : KpiValue.Missing("sloAdherence", "percent", o.AdherenceTarget, Source, "no 5-minute window with data in the period"),
            slo.BudgetRemaining is { } remaining
                ? new KpiValue("errorBudgetRemaining", remaining, "ratio", 0m, remaining >= 0m, Source)
                : KpiValue.Missing("errorBudgetRemaining", "ratio", 0m, Source, "no valid minute in the period"),
        ];

        static KpiValue Latency(string name, double? ms, decimal? target, string reason) => ms switch
        {
            null => KpiValue.Missing(name, "ms", target, Source, reason),
            double.PositiveInfinity => new KpiValue(name, null, "ms", target, target is null ? null : false, Source, "above the sketch's last edge (1,024 s)"),
            { } v => new KpiValue(name, (decimal)v, "ms", target, target is { } t ? (decimal)v <= t : null, Source),
        };
    }

    /// <summary>SLO adherence = windows meeting every SLO ÷ windows judged; the error budget over the period's valid minutes.</summary>
    public static (decimal? Adherence, decimal Allowed, decimal? BudgetRemaining) Slo(SliTotals t, KpiOptions o)
    {
        var adherence = t.Windows == 0 ? (decimal?)null : Math.Round(t.WindowsMet * 100m / t.Windows, 4);
        var allowed = SliRules.AllowedBadMinutes(o.AvailabilityTarget, t.ValidMinutes);
        return (adherence, Math.Round(allowed, 4), SliRules.BudgetRemaining(allowed, t.BadMinutes));
    }
}
