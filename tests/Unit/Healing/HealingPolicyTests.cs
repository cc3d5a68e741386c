using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Healing;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Healing;

public sealed class HealingPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly HealingOptions _options = new();

    private DateTimeOffset Now => _clock.GetUtcNow();

    // ---- restart ladder ----

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(4, 80)]
    [InlineData(5, 160)]
    [InlineData(6, 300)] // 320 s capped at 5 min
    [InlineData(7, 300)]
    [InlineData(50, 300)]
    [InlineData(int.MaxValue, 300)]
    public void RestartDelay_is_immediate_then_10_s_doubling_up_to_5_min(int restartsSoFar, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), HealingPolicy.RestartDelay(restartsSoFar, _options));

    [Fact]
    public void RestartDelay_of_a_negative_count_is_immediate() =>
        Assert.Equal(TimeSpan.Zero, HealingPolicy.RestartDelay(-3, _options));

    [Fact]
    public void RestartDelay_follows_the_options()
    {
        var options = new HealingOptions { RestartInitialBackoff = TimeSpan.FromMilliseconds(400), RestartMaxBackoff = TimeSpan.FromSeconds(1) };

        Assert.Equal(
            [TimeSpan.Zero, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)],
            Enumerable.Range(0, 5).Select(n => HealingPolicy.RestartDelay(n, options)));
    }

    [Fact]
    public void The_restart_ladder_walked_on_a_fake_clock_restarts_at_0_10_30_70_150_310_610_s()
    {
        // The supervisor restarts a still-dead agent when NextRestartAt passes, then schedules the next one.
        var deadAt = Now;
        var restarts = 0;
        var restartTimes = new List<TimeSpan>();
        DateTimeOffset? next = Now;
        while (Now - deadAt <= TimeSpan.FromMinutes(11))
        {
            if (Now >= next)
            {
                restartTimes.Add(Now - deadAt);
                restarts++;
                next = Now + HealingPolicy.RestartDelay(restarts, _options);
            }

            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal([0, 10, 30, 70, 150, 310, 610], restartTimes.Select(t => (int)t.TotalSeconds));
    }

    // ---- quarantine window ----

    [Fact]
    public void Three_failures_within_15_minutes_quarantine_and_two_do_not()
    {
        var failures = new List<DateTimeOffset> { Now };
        _clock.Advance(TimeSpan.FromMinutes(7));
        failures.Add(Now);
        Assert.False(HealingPolicy.ShouldQuarantine(failures, Now, _options));

        _clock.Advance(TimeSpan.FromMinutes(8)); // the first failure is now exactly 15 min old: still inside
        failures.Add(Now);
        Assert.True(HealingPolicy.ShouldQuarantine(failures, Now, _options));
    }

    [Fact]
    public void A_failure_older_than_the_window_by_one_tick_no_longer_counts()
    {
        var failures = new[] { T0, T0 + TimeSpan.FromMinutes(5), T0 + TimeSpan.FromMinutes(10) };

        _clock.SetUtcNow(T0 + TimeSpan.FromMinutes(15));
        Assert.True(HealingPolicy.ShouldQuarantine(failures, Now, _options));
        _clock.Advance(Tick);
        Assert.False(HealingPolicy.ShouldQuarantine(failures, Now, _options));
    }

    [Theory]
    [InlineData(AgentState.Healthy, false, true)]
    [InlineData(AgentState.Degraded, false, true)]
    [InlineData(AgentState.Draining, false, true)]
    [InlineData(AgentState.Quarantined, false, true)]
    [InlineData(AgentState.Unresponsive, false, false)]
    [InlineData(AgentState.Offline, false, false)]
    [InlineData(AgentState.Healthy, true, false)]
    [InlineData(AgentState.Unresponsive, true, false)]
    public void A_lost_lease_is_a_failure_of_its_agent_only_while_the_agent_is_heard_from(AgentState state, bool dead, bool counts) =>
        Assert.Equal(counts, HealingPolicy.CountsLeaseFailure(state, dead));

    [Fact]
    public void At_its_death_the_leases_an_agent_lost_after_it_fell_silent_are_dropped_as_symptoms_of_that_silence()
    {
        // Silent from T0 + 10 s on: Unresponsive 3 s later. One lease lost while it was live, three lapsing with its
        // heartbeats (one of them recorded before the Unresponsive state change arrived).
        var unresponsiveAfter = TimeSpan.FromSeconds(3);
        var unresponsiveAt = T0 + TimeSpan.FromSeconds(13);
        var live = T0 + TimeSpan.FromSeconds(9);
        var failures = new List<DateTimeOffset> { live, T0 + TimeSpan.FromSeconds(10) + Tick, unresponsiveAt - Tick, unresponsiveAt + TimeSpan.FromSeconds(1) };

        HealingPolicy.DropSymptomsOfSilence(failures, unresponsiveAt, unresponsiveAfter, previousDeath: null);

        Assert.Equal([live], failures);
    }

    [Fact]
    public void At_its_death_an_agents_earlier_death_is_kept_even_within_the_silence_window()
    {
        // It died at T0 + 11 s, came back, and fell silent again at once: that death still counts, what came after does not.
        var previousDeath = T0 + TimeSpan.FromSeconds(11);
        var lapsed = previousDeath + TimeSpan.FromSeconds(1);
        var failures = new List<DateTimeOffset> { previousDeath, lapsed };

        HealingPolicy.DropSymptomsOfSilence(failures, T0 + TimeSpan.FromSeconds(13), TimeSpan.FromSeconds(3), previousDeath);

        Assert.Equal([previousDeath], failures);
    }

    [Fact]
    public void No_failures_never_quarantine() =>
        Assert.False(HealingPolicy.ShouldQuarantine([], Now, _options));

    [Fact]
    public void The_quarantine_threshold_and_window_follow_the_options()
    {
        var options = new HealingOptions { QuarantineFailures = 1, QuarantineWindow = TimeSpan.FromSeconds(30) };

        Assert.True(HealingPolicy.ShouldQuarantine([Now - TimeSpan.FromSeconds(30)], Now, options));
        Assert.False(HealingPolicy.ShouldQuarantine([Now - TimeSpan.FromSeconds(30) - Tick], Now, options));
    }

    [Fact]
    public void The_quarantine_defaults_are_3_failures_in_15_minutes_with_10_minutes_probation()
    {
        Assert.Equal(3, _options.QuarantineFailures);
        Assert.Equal(TimeSpan.FromMinutes(15), _options.QuarantineWindow);
        Assert.Equal(TimeSpan.FromMinutes(10), _options.Probation);
        Assert.Equal(TimeSpan.FromSeconds(10), _options.RestartInitialBackoff);
        Assert.Equal(TimeSpan.FromMinutes(5), _options.RestartMaxBackoff);
    }

    // ---- severity from availability ----

    [Theory]
    [InlineData(10, 10, IncidentSeverity.P0)] // the whole pool down
    [InlineData(1, 1, IncidentSeverity.P0)]
    [InlineData(10, 9, IncidentSeverity.P1)]
    [InlineData(10, 6, IncidentSeverity.P1)] // 60 %
    [InlineData(10, 5, IncidentSeverity.P1)] // exactly 50 %
    [InlineData(2, 1, IncidentSeverity.P1)]
    [InlineData(10, 4, IncidentSeverity.P3)]
    [InlineData(3, 1, IncidentSeverity.P3)]
    [InlineData(10, 1, IncidentSeverity.P3)] // a single agent
    [InlineData(1000, 499, IncidentSeverity.P3)]
    [InlineData(1000, 500, IncidentSeverity.P1)]
    public void AvailabilitySeverity_follows_the_runbook(int agents, int unavailable, IncidentSeverity expected) =>
        Assert.Equal(expected, HealingPolicy.AvailabilitySeverity(agents, unavailable));

    [Theory]
    [InlineData(10, 0)]
    [InlineData(0, 0)]
    [InlineData(0, 3)]
    [InlineData(5, -1)]
    public void AvailabilitySeverity_is_none_when_nothing_is_unavailable_or_the_pool_is_empty(int agents, int unavailable) =>
        Assert.Null(HealingPolicy.AvailabilitySeverity(agents, unavailable));

    [Fact]
    public void More_unavailable_than_agents_is_still_P0() =>
        Assert.Equal(IncidentSeverity.P0, HealingPolicy.AvailabilitySeverity(4, 5));

    // ---- degradation ----

    private static PerformanceFigures Figures(int samples, double errorRate, int medianMs) =>
        new(samples, errorRate, TimeSpan.FromMilliseconds(medianMs));

    [Fact]
    public void An_agent_failing_three_times_as_often_as_its_pool_is_an_outlier()
    {
        Assert.True(HealingPolicy.IsOutlier(Figures(10, 0.3, 100), Figures(100, 0.1, 100), _options));
        Assert.False(HealingPolicy.IsOutlier(Figures(10, 0.29, 100), Figures(100, 0.1, 100), _options));
    }

    [Fact]
    public void A_high_relative_error_rate_below_the_absolute_minimum_is_not_an_outlier()
    {
        // 15 % against a clean pool: far worse relatively, but under the 20 % floor.
        Assert.False(HealingPolicy.IsOutlier(Figures(20, 0.15, 100), Figures(100, 0.0, 100), _options));
        Assert.True(HealingPolicy.IsOutlier(Figures(20, 0.2, 100), Figures(100, 0.0, 100), _options));
    }

    [Fact]
    public void An_agent_no_worse_than_a_bad_pool_is_not_an_outlier()
    {
        Assert.False(HealingPolicy.IsOutlier(Figures(50, 0.5, 100), Figures(100, 0.5, 100), _options));
        Assert.False(HealingPolicy.IsOutlier(Figures(50, 1.0, 100), Figures(100, 1.0, 100), _options));
    }

    [Fact]
    public void An_agent_three_times_slower_than_its_pool_is_an_outlier()
    {
        Assert.True(HealingPolicy.IsOutlier(Figures(10, 0, 300), Figures(100, 0, 100), _options));
        Assert.False(HealingPolicy.IsOutlier(Figures(10, 0, 299), Figures(100, 0, 100), _options));
    }

    [Fact]
    public void A_pool_without_run_times_judges_errors_only() =>
        Assert.False(HealingPolicy.IsOutlier(Figures(10, 0, 5_000), Figures(100, 0, 0), _options));

    [Theory]
    [InlineData(9, 100)]
    [InlineData(100, 9)]
    [InlineData(0, 0)]
    public void Too_few_samples_on_either_side_judge_nobody(int agentSamples, int poolSamples)
    {
        Assert.False(HealingPolicy.IsOutlier(Figures(agentSamples, 1.0, 10_000), Figures(poolSamples, 0, 100), _options));
        Assert.Equal(10, _options.DegradationMinSamples);
    }

    [Fact]
    public void The_minimum_samples_follow_the_options()
    {
        var options = new HealingOptions { DegradationMinSamples = 3 };
        Assert.True(HealingPolicy.IsOutlier(Figures(3, 1.0, 100), Figures(3, 0, 100), options));
        Assert.False(HealingPolicy.IsOutlier(Figures(2, 1.0, 100), Figures(3, 0, 100), options));
    }

    [Fact]
    public void Recovery_needs_enough_samples()
    {
        Assert.False(HealingPolicy.HasRecovered(Figures(9, 0, 100), Figures(100, 0, 100), _options));
        Assert.True(HealingPolicy.HasRecovered(Figures(10, 0, 100), Figures(100, 0, 100), _options));
    }

    [Fact]
    public void Recovery_is_an_error_rate_under_the_minimum_or_at_most_twice_the_pools()
    {
        Assert.True(HealingPolicy.HasRecovered(Figures(10, 0.19, 100), Figures(100, 0.0, 100), _options));
        Assert.False(HealingPolicy.HasRecovered(Figures(10, 0.2, 100), Figures(100, 0.0, 100), _options));
        Assert.True(HealingPolicy.HasRecovered(Figures(10, 0.3, 100), Figures(100, 0.15, 100), _options));
        Assert.False(HealingPolicy.HasRecovered(Figures(10, 0.31, 100), Figures(100, 0.15, 100), _options));
    }

    [Fact]
    public void Recovery_is_a_run_time_under_twice_the_pools()
    {
        Assert.True(HealingPolicy.HasRecovered(Figures(10, 0, 199), Figures(100, 0, 100), _options));
        Assert.False(HealingPolicy.HasRecovered(Figures(10, 0, 200), Figures(100, 0, 100), _options));
        Assert.True(HealingPolicy.HasRecovered(Figures(10, 0, 5_000), Figures(100, 0, 0), _options));
    }

    [Fact]
    public void Between_outlier_and_recovered_an_agent_stays_as_it_is()
    {
        // Hysteresis: 25 % against a pool at 10 % is neither 3× (outlier) nor ≤ 2× (recovered).
        var agent = Figures(20, 0.25, 100);
        var pool = Figures(100, 0.1, 100);
        Assert.False(HealingPolicy.IsOutlier(agent, pool, _options));
        Assert.False(HealingPolicy.HasRecovered(agent, pool, _options));
    }

    [Fact]
    public void PerformanceFigures_count_failures_and_take_the_upper_median()
    {
        var samples = new[]
        {
            new AttemptSample(Now, Failed: false, TimeSpan.FromMilliseconds(400)),
            new AttemptSample(Now, Failed: true, TimeSpan.FromMilliseconds(100)),
            new AttemptSample(Now, Failed: false, TimeSpan.FromMilliseconds(300)),
            new AttemptSample(Now, Failed: false, TimeSpan.FromMilliseconds(200)),
        };

        var figures = PerformanceFigures.Of(samples);

        Assert.Equal(new PerformanceFigures(4, 0.25, TimeSpan.FromMilliseconds(300)), figures);
        Assert.Equal(new PerformanceFigures(0, 0, TimeSpan.Zero), PerformanceFigures.Of([]));
        Assert.Equal(TimeSpan.FromMilliseconds(300), PerformanceFigures.Of(samples[..3]).MedianRunTime);
    }

    // ---- scale-up recommendation ----

    [Theory]
    [InlineData(100, 2.0, 10)]   // 10 per agent in five minutes
    [InlineData(101, 2.0, 11)]
    [InlineData(100, 0.0, 100)]  // no observed rate: one job per agent per five minutes
    [InlineData(0, 5.0, 1)]      // always at least one
    [InlineData(10_000_000, 0.0, 10_000)]
    public void SuggestedAgents_drains_the_backlog_in_five_minutes(int pending, double perAgentPerMinute, int expected) =>
        Assert.Equal(expected, HealingPolicy.SuggestedAgents(pending, perAgentPerMinute));

    [Theory]
    [InlineData(null, true)]       // the first lost lease counts
    [InlineData(-1_000, false)]    // another within the lease duration (5 s) of it: the same crash
    [InlineData(-5_000, false)]
    [InlineData(-5_001, true)]     // later: a new loss
    [InlineData(1_000, true)]      // the clock went back: counted
    public void Lost_leases_within_one_lease_duration_are_one_failure(int? lastCountedMsAgo, bool counts)
    {
        var at = new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
        DateTimeOffset? last = lastCountedMsAgo is { } ms ? at + TimeSpan.FromMilliseconds(ms) : null;

        Assert.Equal(counts, MeshOs.Grains.Healing.HealingPolicy.IsNewLeaseLoss(at, last, TimeSpan.FromSeconds(5)));
    }
}
