using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Incidents;

namespace MeshOs.Tests.Unit.Incidents;

public sealed class IncidentFiguresTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static IncidentSummary Incident(string id, IncidentSeverity severity, int detectedMinute, int? acknowledgedAfter, int? resolvedAfter, bool automatic)
    {
        var detected = T0 + TimeSpan.FromMinutes(detectedMinute);
        var state = resolvedAfter is null ? (acknowledgedAfter is null ? IncidentState.Detected : IncidentState.Triaged) : IncidentState.Resolved;
        return new IncidentSummary(id, "key-" + id, "title " + id, severity, severity, state, null, 1, detected,
            acknowledgedAfter is { } a ? detected + TimeSpan.FromMinutes(a) : null,
            resolvedAfter is { } r ? detected + TimeSpan.FromMinutes(r) : null,
            automatic);
    }

    private static readonly IncidentSummary[] Mixed =
    [
        Incident("a", IncidentSeverity.P1, 0, acknowledgedAfter: 2, resolvedAfter: 10, automatic: false),
        Incident("b", IncidentSeverity.P1, 5, acknowledgedAfter: null, resolvedAfter: 4, automatic: true),
        Incident("c", IncidentSeverity.P2, 9, acknowledgedAfter: 4, resolvedAfter: null, automatic: false),
        Incident("d", IncidentSeverity.P3, 30, acknowledgedAfter: null, resolvedAfter: 7, automatic: true),
    ];

    [Fact]
    public void MTTA_averages_acknowledged_incidents_and_MTTR_resolved_ones()
    {
        var figures = IncidentFiguresCalculator.Compute("all", Mixed);

        Assert.Equal(
            new IncidentFigures("all", Opened: 4, Resolved: 3, ResolvedAutomatically: 2, AutomationRate: 2.0 / 3,
                MeanTimeToAcknowledge: TimeSpan.FromMinutes(3), MeanTimeToResolve: TimeSpan.FromMinutes(7)),
            figures);
    }

    [Fact]
    public void The_automation_rate_is_resolved_without_a_human_over_all_resolved()
    {
        Assert.Equal(1.0, IncidentFiguresCalculator.Compute("x", Mixed.Where(i => i.ResolvedAutomatically)).AutomationRate);
        Assert.Equal(0.0, IncidentFiguresCalculator.Compute("x", [Mixed[0]]).AutomationRate);
        Assert.Equal(0.5, IncidentFiguresCalculator.Compute("x", [Mixed[0], Mixed[1]]).AutomationRate);
    }

    [Fact]
    public void No_incidents_give_zeros_and_no_means()
    {
        Assert.Equal(new IncidentFigures("P0", 0, 0, 0, 0, null, null), IncidentFiguresCalculator.Compute("P0", []));
    }

    [Fact]
    public void Open_unacknowledged_incidents_count_as_opened_only()
    {
        var open = Incident("o", IncidentSeverity.P0, 0, acknowledgedAfter: null, resolvedAfter: null, automatic: false);

        Assert.Equal(new IncidentFigures("P0", 1, 0, 0, 0, null, null), IncidentFiguresCalculator.Compute("P0", [open]));
    }

    [Fact]
    public void An_incident_resolved_automatically_has_no_time_to_acknowledge_but_a_time_to_resolve()
    {
        var figures = IncidentFiguresCalculator.Compute("P3", [Mixed[3]]);

        Assert.Null(figures.MeanTimeToAcknowledge);
        Assert.Equal(TimeSpan.FromMinutes(7), figures.MeanTimeToResolve);
        Assert.Equal(1.0, figures.AutomationRate);
    }

    [Fact]
    public void Means_are_exact_to_the_tick()
    {
        var detected = T0;
        var one = new IncidentSummary("1", "k1", "t", IncidentSeverity.P1, IncidentSeverity.P1, IncidentState.Resolved, null, 1, detected,
            detected + TimeSpan.FromMilliseconds(1_500), detected + TimeSpan.FromMilliseconds(2_500), false);
        var two = one with { IncidentId = "2", AcknowledgedAt = detected + TimeSpan.FromMilliseconds(500), ResolvedAt = detected + TimeSpan.FromMilliseconds(4_500) };

        var figures = IncidentFiguresCalculator.Compute("P1", [one, two]);

        Assert.Equal(TimeSpan.FromSeconds(1), figures.MeanTimeToAcknowledge);
        Assert.Equal(TimeSpan.FromMilliseconds(3_500), figures.MeanTimeToResolve);
    }

    [Fact]
    public void An_incidents_own_figures_are_its_detection_to_acknowledgement_and_to_resolution()
    {
        var info = new IncidentInfo("i", "k", "t", "healing", IncidentSeverity.P1, IncidentSeverity.P0, IncidentState.Resolved, null, 2,
            T0, T0 + TimeSpan.FromMinutes(4), T0 + TimeSpan.FromMinutes(9), T0 + TimeSpan.FromMinutes(12), false, 3, [], null);

        Assert.Equal(TimeSpan.FromMinutes(4), info.TimeToAcknowledge);
        Assert.Equal(TimeSpan.FromMinutes(12), info.TimeToResolve);
        Assert.False(info.IsOpen);
        Assert.Equal(
            new IncidentSummary("i", "k", "t", IncidentSeverity.P1, IncidentSeverity.P0, IncidentState.Resolved, null, 2, T0,
                T0 + TimeSpan.FromMinutes(4), T0 + TimeSpan.FromMinutes(12), false),
            IncidentSummary.From(info));
    }

    [Fact]
    public void An_open_incident_has_no_time_to_resolve()
    {
        var info = new IncidentInfo("i", "k", "t", "healing", IncidentSeverity.P2, IncidentSeverity.P2, IncidentState.Investigating, "ana", 1,
            T0, T0 + TimeSpan.FromMinutes(1), null, null, false, 1, [], null);

        Assert.Null(info.TimeToResolve);
        Assert.True(info.IsOpen);
    }
}
