using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Kpi;

namespace MeshOs.Tests.Unit.Kpi;

/// <summary>The latency sketch, the bad-minute rule, SLO windows, burn rates, the error budget and the KPI totals.</summary>
public sealed class SliRulesTests
{
    private static readonly KpiOptions Options = new();

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.5, 0)]
    [InlineData(499.999, 36)]
    [InlineData(500, 37)]
    [InlineData(999.999, 40)]
    [InlineData(1000, 41)]
    [InlineData(10_000_000, 81)]
    public void Samples_fall_in_half_open_buckets_with_exact_edges_at_500_and_1000_ms(double ms, int bucket)
    {
        Assert.Equal(bucket, LatencySketch.IndexOf(ms));
        Assert.Equal(500d, LatencySketch.UpperEdgeMs(36));
        Assert.Equal(1000d, LatencySketch.UpperEdgeMs(40));
    }

    [Fact]
    public void A_quantile_is_the_upper_edge_of_the_bucket_holding_its_rank()
    {
        var sketch = LatencySketch.Empty();
        sketch[LatencySketch.IndexOf(100)] = 95; // [88.4, 105.1)
        sketch[LatencySketch.IndexOf(450)] = 4; // [420.4, 500)
        sketch[LatencySketch.IndexOf(2000)] = 1; // [2000, 2378.4)
        var counts = sketch.ToImmutableArray();

        Assert.Equal(Math.Round(1000 * Math.Pow(2, -13 / 4d), 3), LatencySketch.Quantile(counts, 0.95));
        Assert.Equal(500d, LatencySketch.Quantile(counts, 0.99));
        Assert.Equal(Math.Round(1000 * Math.Pow(2, 5 / 4d), 3), LatencySketch.Quantile(counts, 1.0));
        Assert.Null(LatencySketch.Quantile([], 0.95));
        Assert.True(SliRules.UnderTarget(500d, 500m)); // every sample up to P99 was under 500 ms
        Assert.False(SliRules.UnderTarget(594.604, 500m));
        Assert.True(SliRules.UnderTarget(null, 500m));
    }

    [Theory]
    [InlineData(100, 5, false, false)] // 5% is not more than 5%
    [InlineData(100, 6, false, true)]
    [InlineData(0, 0, false, false)] // no traffic: good
    [InlineData(0, 0, true, true)] // unless the probe failed
    [InlineData(1, 1, false, true)]
    public void A_minute_is_bad_above_the_error_share_or_on_a_failed_probe(long requests, long errors, bool probe, bool bad)
    {
        Assert.Equal(bad, SliRules.IsBad(requests, errors, probe, 0.05));
    }

    private static WindowTally Window(long requests, long errors, long bad = 0, long excluded = 0, params (double Ms, int Count)[] samples)
    {
        var w = new WindowTally { Minutes = 5, ObservedMinutes = 5, Requests = requests, Errors = errors, BadMinutes = bad, ExcludedMinutes = excluded };
        foreach (var (ms, count) in samples)
        {
            w.Submit[LatencySketch.IndexOf(ms)] += count;
        }

        return w;
    }

    [Fact]
    public void A_window_meets_every_slo_only_under_each_target()
    {
        Assert.True(SliRules.Meets(Window(10_000, 9, samples: (400, 1000)), Options)); // 0.09% errors
        Assert.False(SliRules.Meets(Window(10_000, 10, samples: (400, 1000)), Options)); // 0.1% is not under 0.1%
        Assert.False(SliRules.Meets(Window(1000, 0, bad: 1), Options));
        Assert.False(SliRules.Meets(Window(1000, 0, samples: [(100, 94), (600, 6)]), Options)); // P95 over 500
        Assert.True(SliRules.Meets(Window(1000, 0, samples: [(100, 99), (1500, 1)]), Options)); // P99 = 100's edge
        Assert.False(SliRules.Meets(Window(1000, 0, samples: [(100, 98), (1500, 2)]), Options)); // P99 over 1000
        Assert.True(SliRules.Meets(Window(0, 0), Options)); // nothing asked, nothing failed
        Assert.True(SliRules.IsJudged(Window(0, 0, excluded: 4)));
        Assert.False(SliRules.IsJudged(Window(0, 0, excluded: 5)));
    }

    [Fact]
    public void Burn_rate_is_the_error_ratio_over_the_budget_ratio_with_the_multi_window_rule()
    {
        Assert.Equal(14.4, SliRules.BurnRate(100_000, 720, 99.95m, 20)!.Value, 9);
        Assert.Null(SliRules.BurnRate(19, 19, 99.95m, 20));
        Assert.True(SliRules.IsFastBurn(14.4, 14.4, 14.4));
        Assert.False(SliRules.IsFastBurn(14.3, 50, 14.4));
        Assert.False(SliRules.IsFastBurn(50, 14.3, 14.4));
        Assert.False(SliRules.IsFastBurn(null, 50, 14.4));
    }

    [Fact]
    public void The_error_budget_of_a_thirty_day_month_is_21_point_6_minutes()
    {
        var allowed = SliRules.AllowedBadMinutes(99.95m, 43_200);

        Assert.Equal(21.6m, allowed);
        Assert.Equal(1m, SliRules.BudgetRemaining(allowed, 0));
        Assert.Equal(Math.Round(1m - (10m / 21.6m), 6), SliRules.BudgetRemaining(allowed, 10));
        Assert.True(SliRules.BudgetRemaining(allowed, 22) < 0m);
        Assert.Null(SliRules.BudgetRemaining(0m, 0));
    }

    [Fact]
    public void Totals_add_a_tenants_bad_minutes_and_the_meshs_unobserved_ones_and_exclude_maintenance()
    {
        var from = new DateTimeOffset(2026, 11, 15, 0, 0, 0, TimeSpan.Zero);
        var to = from.AddDays(1);
        var tenant = SliRowMath.Empty("tenant/a", SliResolution.Hour, from.AddHours(10)) with { Requests = 100, Errors = 3, BadMinutes = 2, Windows = 12, WindowsMet = 10 };
        var mesh = SliRowMath.Empty("mesh", SliResolution.Hour, from.AddHours(20)) with { UnobservedMinutes = 5, BadMinutes = 7 };
        var windows = new MaintenanceCalendar(new MaintenanceOptions()).Recurring(from, to); // Sunday 15 November, 02:00–06:00

        var t = KpiCalculator.Totals([tenant], [mesh], isMesh: false, windows, from, to);

        Assert.Equal((1440L, 240L, 1200L, 7L, 1193L), (t.TotalMinutes, t.ExcludedMinutes, t.ValidMinutes, t.BadMinutes, t.GoodMinutes));
        var kpis = KpiCalculator.SliKpis(t, Options);
        Assert.Equal(Math.Round(1193m * 100m / 1200m, 4), kpis.Single(k => k.Name == "availability").Value);
        Assert.Equal(0.03m, kpis.Single(k => k.Name == "errorRate").Value);
        Assert.Equal(Math.Round(1000m / 12m, 4), kpis.Single(k => k.Name == "sloAdherence").Value);
        var p95 = kpis.Single(k => k.Name == "submitLatencyP95");
        Assert.Null(p95.Value);
        Assert.Equal("no submit in the period", p95.MissingReason);
        // The mesh's own totals count its bad and unobserved minutes.
        Assert.Equal(12L, KpiCalculator.Totals([mesh], [], isMesh: true, windows, from, to).BadMinutes);
    }
}
