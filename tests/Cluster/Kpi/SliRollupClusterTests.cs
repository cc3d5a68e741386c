using System.Collections.Immutable;
using MeshOs.Abstractions.Incidents;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Kpi;

namespace MeshOs.Tests.Cluster.Kpi;

/// <summary>
/// The SLI collectors on a two-silo cluster: two gateways' minute reports merge, settled minutes close into minute,
/// 5-minute, hour and day rollups with bad and excluded minutes counted, 5-minute windows are judged against the SLOs,
/// the KPI report reads them back, and a fast burn raises (then clears) an incident. Minutes are reported in the past,
/// so they close at once (settle delay 1 s); each test has its own tenant scope.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class SliRollupClusterTests(MeshClusterFixture fixture)
{
    private static readonly ImmutableArray<long> NoSamples = [];

    private static string NewScope() => SliScopes.Tenant("t" + Guid.NewGuid().ToString("N")[..10]);

    /// <summary>
    /// A 5-minute window a day ago: its hour has ended, and the mesh's collector (fed by other tests' jobs) never closed
    /// minutes that far back, so no unobserved mesh minute falls in it.
    /// </summary>
    private DateTimeOffset PastWindow()
    {
        var calendar = new MaintenanceCalendar(new MaintenanceOptions());
        var at = fixture.Clock.Now.AddDays(-1);
        // Never inside the recurring maintenance window's day (a run on the Monday after the 3rd Sunday).
        while (!calendar.Recurring(at.AddDays(-1), at.AddDays(1)).IsEmpty)
        {
            at = at.AddDays(-2);
        }

        return SliRowMath.Bucket(at, SliResolution.FiveMinutes);
    }

    private static ImmutableArray<long> Samples(params (double Ms, int Count)[] samples)
    {
        var sketch = LatencySketch.Empty();
        foreach (var (ms, count) in samples)
        {
            sketch[LatencySketch.IndexOf(ms)] += count;
        }

        return [.. sketch];
    }

    private static SliMinuteReport Gateway(DateTimeOffset minute, long requests, long errors, bool probeFailed = false, ImmutableArray<long> submit = default) =>
        new(minute, true, requests, errors, probeFailed, submit.IsDefault ? NoSamples : submit, NoSamples);

    [Fact]
    public async Task Two_gateways_minutes_close_into_rollups_with_bad_minutes_and_a_judged_window()
    {
        var scope = NewScope();
        var w = PastWindow();
        var sli = fixture.Grains.GetGrain<ISliGrain>(scope);
        // Gateway A and B in the same window: minute 0 fine (1 error in 150 is under 5%), minute 1 bad by errors (6 of 20),
        // minute 2 bad by a failed readiness probe, minutes 3–4 without the tenant's traffic (good, not reported).
        await sli.ReportAsync([Gateway(w, 100, 0, submit: Samples((120, 100))), Gateway(w.AddMinutes(1), 10, 5)]);
        await sli.ReportAsync([Gateway(w, 50, 1, submit: Samples((120, 49), (700, 1))), Gateway(w.AddMinutes(1), 10, 1), Gateway(w.AddMinutes(2), 3, 0, probeFailed: true)]);

        Assert.Equal(3, await sli.CloseAsync());
        Assert.Equal(0, await sli.CloseAsync());

        var reports = fixture.Grains.GetGrain<IKpiReportGrain>(0);
        var minutes = await reports.GetSeriesAsync(scope, SliResolution.Minute, w, w.AddMinutes(5));
        Assert.Equal([150L, 20L, 3L], minutes.Select(m => m.Requests));
        Assert.Equal([1L, 6L, 0L], minutes.Select(m => m.Errors));
        Assert.Equal([0L, 1L, 1L], minutes.Select(m => m.BadMinutes));
        Assert.Equal([0L, 0L, 1L], minutes.Select(m => m.ProbeFailedMinutes));

        var five = Assert.Single(await reports.GetSeriesAsync(scope, SliResolution.FiveMinutes, w, w.AddMinutes(5)));
        Assert.Equal((173L, 7L, 3L, 2L, 1L, 0L), (five.Requests, five.Errors, five.ObservedMinutes, five.BadMinutes, five.Windows, five.WindowsMet));
        Assert.Equal(150, LatencySketch.Count(five.Submit));
        Assert.Equal(125d, LatencySketch.Quantile(five.Submit, 0.99)); // 120 ms is in [105.1, 125): P99's rank 149 is still there
        var hour = Assert.Single(await reports.GetSeriesAsync(scope, SliResolution.Hour, SliRowMath.Bucket(w, SliResolution.Hour), w.AddHours(1)));
        var day = Assert.Single(await reports.GetSeriesAsync(scope, SliResolution.Day, SliRowMath.Bucket(w, SliResolution.Day), w.AddDays(1)));
        Assert.Equal((173L, 2L, 1L), (hour.Requests, hour.BadMinutes, hour.Windows));
        Assert.Equal((173L, 2L, 1L), (day.Requests, day.BadMinutes, day.Windows));

        // The KPIs of the window's hour: 60 valid minutes, 2 bad → 96.6667%; one window judged, none met.
        var hourStart = SliRowMath.Bucket(w, SliResolution.Hour);
        var kpis = await reports.GetKpisAsync(scope, hourStart, hourStart.AddHours(1));
        var availability = kpis.Kpis.Single(k => k.Name == "availability");
        Assert.Equal(96.6667m, availability.Value);
        Assert.False(availability.MeetsTarget);
        Assert.Equal((60L, 2L, 1L, 0L, 0m), (kpis.Slo.ValidMinutes, kpis.Slo.BadMinutes, kpis.Slo.Windows, kpis.Slo.WindowsMet, kpis.Slo.Adherence));
        Assert.Equal(0.03m, kpis.Slo.AllowedBadMinutes);
        Assert.Equal(Math.Round(1m - (2m / 0.03m), 6), kpis.Slo.BudgetRemaining);
        var mttr = kpis.Kpis.Single(k => k.Name == "mttr");
        Assert.Null(mttr.Value);
        Assert.Equal("incidents are the mesh's, not a tenant's: read the mesh KPIs", mttr.MissingReason);
    }

    [Fact]
    public async Task A_clean_window_meets_every_slo_and_a_slow_one_does_not()
    {
        var scope = NewScope();
        var w = PastWindow().AddMinutes(-30);
        var sli = fixture.Grains.GetGrain<ISliGrain>(scope);
        await sli.ReportAsync([Gateway(w, 1000, 0, submit: Samples((50, 1000)))]);
        await sli.ReportAsync([Gateway(w.AddMinutes(5), 100, 0, submit: Samples((50, 90), (600, 10)))]); // P95 in [594.6, 707): over 500

        await sli.CloseAsync();

        var rows = await fixture.Grains.GetGrain<IKpiReportGrain>(0).GetSeriesAsync(scope, SliResolution.FiveMinutes, w, w.AddMinutes(10));
        Assert.Equal([(1L, 1L), (1L, 0L)], rows.Select(r => (r.Windows, r.WindowsMet)));
    }

    [Fact]
    public async Task Minutes_inside_the_recurring_maintenance_window_are_excluded_not_bad()
    {
        var scope = NewScope();
        var lastMonth = fixture.Clock.Now.AddMonths(-1);
        var start = MaintenanceCalendar.NthWeekday(lastMonth.Year, lastMonth.Month, DayOfWeek.Sunday, 3).AddHours(2);
        var sli = fixture.Grains.GetGrain<ISliGrain>(scope);
        // 02:10 is inside 02:00–06:00, 06:00 is the first minute after it: all requests failed in both.
        await sli.ReportAsync([Gateway(start.AddMinutes(10), 10, 10), Gateway(start.AddHours(4), 10, 10)]);

        await sli.CloseAsync();

        var minutes = await fixture.Grains.GetGrain<IKpiReportGrain>(0).GetSeriesAsync(scope, SliResolution.Minute, start, start.AddHours(5));
        Assert.Equal([(1L, 0L), (0L, 1L)], minutes.Select(m => (m.ExcludedMinutes, m.BadMinutes)));
        // The 02:10 window holds only maintenance minutes of the tenant's: not judged. The 06:00 one is judged and missed.
        var windows = await fixture.Grains.GetGrain<IKpiReportGrain>(0).GetSeriesAsync(scope, SliResolution.FiveMinutes, start, start.AddHours(5));
        Assert.Equal([(0L, 0L), (1L, 0L)], windows.Select(r => (r.Windows, r.WindowsMet)));

        // The KPI over the whole maintenance day: 1,440 minutes, 240 excluded, 1 bad.
        var day = SliRowMath.Bucket(start, SliResolution.Day);
        var kpis = await fixture.Grains.GetGrain<IKpiReportGrain>(0).GetKpisAsync(scope, day, day.AddDays(1));
        Assert.Equal((1200L, 1L), (kpis.Slo.ValidMinutes, kpis.Slo.BadMinutes));
        Assert.Equal(Math.Round(1199m * 100m / 1200m, 4), kpis.Kpis.Single(k => k.Name == "availability").Value);
    }

    [Fact]
    public async Task A_fast_burn_raises_an_incident_and_its_end_clears_it()
    {
        var scope = NewScope();
        var sli = fixture.Grains.GetGrain<ISliGrain>(scope);
        var incidents = fixture.Grains.GetGrain<IIncidentDirectoryGrain>(0);
        var start = SliRowMath.Bucket(fixture.Clock.Now.AddDays(-2), SliResolution.Hour);
        // An hour at 2% errors: 40× the 0.05% budget rate, over both the hour and the last 5 minutes.
        await sli.ReportAsync([.. Enumerable.Range(0, 60).Select(i => Gateway(start.AddMinutes(i), 100, 2))]);

        await sli.CloseAsync();

        var burn = await sli.GetBurnAsync();
        Assert.True(burn.FastBurn);
        Assert.Equal(40d, burn.FiveMinutes!.Value, 6);
        Assert.Equal(40d, burn.OneHour!.Value, 6);
        var incidentId = await incidents.FindOpenAsync("slo-burn/" + scope);
        Assert.NotNull(incidentId);

        // Five clean minutes: the short window drops to 0 (the hour is still burning): the multi-window rule clears it.
        await sli.ReportAsync([.. Enumerable.Range(60, 5).Select(i => Gateway(start.AddMinutes(i), 100, 0))]);
        await sli.CloseAsync();

        Assert.False((await sli.GetBurnAsync()).FastBurn);
        var incident = await fixture.Grains.GetGrain<IIncidentGrain>(incidentId!).GetAsync();
        Assert.True(incident!.ResolvedAutomatically);
    }
}
