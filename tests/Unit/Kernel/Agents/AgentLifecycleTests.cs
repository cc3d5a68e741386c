using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Kernel.Agents;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Kernel.Agents;

public sealed class AgentLifecycleTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly AgentOptions _options = new()
    {
        HeartbeatInterval = TimeSpan.FromSeconds(5),
        MissedHeartbeats = 3,
        OfflineAfter = TimeSpan.FromMinutes(10),
    };

    private DateTimeOffset Now => _clock.GetUtcNow();

    public static TheoryData<AgentState> AllStates => [.. Enum.GetValues<AgentState>()];

    // ---- truth tables ----

    [Theory]
    [InlineData(AgentState.Registering, false)]
    [InlineData(AgentState.Healthy, true)]
    [InlineData(AgentState.Degraded, true)]
    [InlineData(AgentState.Unresponsive, false)]
    [InlineData(AgentState.Quarantined, false)]
    [InlineData(AgentState.Draining, false)]
    [InlineData(AgentState.Offline, false)]
    public void IsLeasable_only_for_Healthy_and_Degraded(AgentState state, bool expected) =>
        Assert.Equal(expected, AgentLifecycle.IsLeasable(state));

    [Theory]
    [InlineData(AgentState.Registering, false)]
    [InlineData(AgentState.Healthy, true)]
    [InlineData(AgentState.Degraded, true)]
    [InlineData(AgentState.Unresponsive, false)]
    [InlineData(AgentState.Quarantined, false)]
    [InlineData(AgentState.Draining, true)]
    [InlineData(AgentState.Offline, false)]
    public void Silence_makes_Unresponsive_only_working_states(AgentState state, bool expected) =>
        Assert.Equal(expected, AgentLifecycle.ExpectsHeartbeats(state));

    [Fact]
    public void The_truth_tables_cover_every_state()
    {
        Assert.Equal(7, Enum.GetValues<AgentState>().Length);
    }

    // ---- OnRegister ----

    [Theory]
    [InlineData(AgentState.Registering, AgentState.Healthy)]
    [InlineData(AgentState.Healthy, AgentState.Healthy)]
    [InlineData(AgentState.Degraded, AgentState.Healthy)]
    [InlineData(AgentState.Unresponsive, AgentState.Healthy)]
    [InlineData(AgentState.Quarantined, AgentState.Quarantined)]
    [InlineData(AgentState.Draining, AgentState.Healthy)]
    [InlineData(AgentState.Offline, AgentState.Healthy)]
    public void OnRegister_makes_the_agent_Healthy_unless_it_is_Quarantined(AgentState current, AgentState expected) =>
        Assert.Equal(expected, AgentLifecycle.OnRegister(current));

    // ---- OnHeartbeat ----

    [Theory]
    [InlineData(AgentState.Unresponsive, 0, AgentState.Healthy)]
    [InlineData(AgentState.Unresponsive, 3, AgentState.Healthy)]
    [InlineData(AgentState.Draining, 0, AgentState.Offline)]
    [InlineData(AgentState.Draining, 1, AgentState.Draining)]
    [InlineData(AgentState.Draining, 7, AgentState.Draining)]
    [InlineData(AgentState.Healthy, 0, AgentState.Healthy)]
    [InlineData(AgentState.Healthy, 4, AgentState.Healthy)]
    [InlineData(AgentState.Degraded, 0, AgentState.Degraded)]
    [InlineData(AgentState.Degraded, 2, AgentState.Degraded)]
    [InlineData(AgentState.Quarantined, 0, AgentState.Quarantined)]
    [InlineData(AgentState.Quarantined, 2, AgentState.Quarantined)]
    [InlineData(AgentState.Registering, 0, AgentState.Registering)]
    [InlineData(AgentState.Offline, 0, AgentState.Offline)]
    [InlineData(AgentState.Offline, 1, AgentState.Offline)]
    public void OnHeartbeat_revives_Unresponsive_and_finishes_an_empty_Drain(AgentState current, int inFlight, AgentState expected) =>
        Assert.Equal(expected, AgentLifecycle.OnHeartbeat(current, inFlight));

    // ---- OnTick: Unresponsive ----

    [Theory]
    [InlineData(AgentState.Healthy)]
    [InlineData(AgentState.Degraded)]
    public void A_silent_agent_becomes_Unresponsive_after_the_missed_heartbeats_and_not_before(AgentState state)
    {
        var lastHeartbeat = Now;

        // The grain's timer ticks once per heartbeat interval.
        for (var i = 1; i <= _options.MissedHeartbeats; i++)
        {
            _clock.Advance(_options.HeartbeatInterval);
            Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
        }

        Assert.Equal(TimeSpan.FromSeconds(15), Now - lastHeartbeat);
        _clock.Advance(Tick);
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
    }

    [Fact]
    public void A_heartbeat_restarts_the_silence_count()
    {
        var lastHeartbeat = Now;
        _clock.Advance(TimeSpan.FromSeconds(14));
        lastHeartbeat = Now; // beat
        _clock.Advance(TimeSpan.FromSeconds(14));

        Assert.Null(AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options));
        _clock.Advance(TimeSpan.FromSeconds(1) + Tick);
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options));
    }

    [Fact]
    public void The_unresponsive_threshold_follows_the_options()
    {
        var options = new AgentOptions { HeartbeatInterval = TimeSpan.FromSeconds(2), MissedHeartbeats = 5, OfflineAfter = TimeSpan.FromMinutes(1) };
        Assert.Equal(TimeSpan.FromSeconds(10), options.UnresponsiveAfter);
        var lastHeartbeat = Now;

        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, options));
        _clock.Advance(Tick);
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, options));
    }

    [Fact]
    public void The_default_options_declare_an_agent_Unresponsive_after_15_seconds_and_Offline_10_minutes_later()
    {
        var defaults = new AgentOptions();

        Assert.Equal(TimeSpan.FromSeconds(15), defaults.UnresponsiveAfter);
        Assert.Equal(TimeSpan.FromMinutes(10), defaults.OfflineAfter);
    }

    [Fact]
    public void A_draining_agent_that_goes_silent_is_Unresponsive_like_any_connected_agent()
    {
        var lastHeartbeat = Now;
        _clock.Advance(_options.UnresponsiveAfter + Tick);

        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Draining, lastHeartbeat, Now, _options));
    }

    // ---- OnTick: Offline ----

    [Fact]
    public void An_Unresponsive_agent_goes_Offline_after_OfflineAfter_more_silence_and_not_before()
    {
        var lastHeartbeat = Now;
        _clock.Advance(_options.UnresponsiveAfter + Tick);
        var state = AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options);
        Assert.Equal(AgentState.Unresponsive, state);

        // Ticks every interval while Unresponsive: nothing changes for OfflineAfter.
        while (Now + _options.HeartbeatInterval <= lastHeartbeat + _options.UnresponsiveAfter + _options.OfflineAfter)
        {
            _clock.Advance(_options.HeartbeatInterval);
            Assert.Null(AgentLifecycle.OnTick(AgentState.Unresponsive, lastHeartbeat, Now, _options));
        }

        _clock.SetUtcNow(lastHeartbeat + _options.UnresponsiveAfter + _options.OfflineAfter);
        Assert.Null(AgentLifecycle.OnTick(AgentState.Unresponsive, lastHeartbeat, Now, _options));
        _clock.Advance(Tick);
        Assert.Equal(AgentState.Offline, AgentLifecycle.OnTick(AgentState.Unresponsive, lastHeartbeat, Now, _options));
    }

    [Fact]
    public void An_Unresponsive_agent_that_beats_again_is_Healthy_and_its_silence_starts_over()
    {
        var lastHeartbeat = Now;
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options));

        var state = AgentLifecycle.OnHeartbeat(AgentState.Unresponsive, inFlight: 0);
        lastHeartbeat = Now;
        _clock.Advance(_options.HeartbeatInterval);

        Assert.Equal(AgentState.Healthy, state);
        Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
    }

    [Theory]
    [InlineData(AgentState.Offline)]
    [InlineData(AgentState.Registering)]
    public void States_without_heartbeats_never_change_on_a_tick(AgentState state)
    {
        var lastHeartbeat = Now;

        foreach (var silence in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(16), TimeSpan.FromMinutes(11), TimeSpan.FromDays(30) })
        {
            _clock.SetUtcNow(lastHeartbeat + silence);
            Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
        }
    }

    [Theory]
    [MemberData(nameof(AllStates))]
    public void A_tick_right_after_a_heartbeat_changes_nothing(AgentState state)
    {
        var lastHeartbeat = Now;
        _clock.Advance(_options.HeartbeatInterval);

        Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
    }

    [Fact]
    public void A_tick_with_a_heartbeat_in_the_future_changes_nothing()
    {
        // Clock skew between silos: a last heartbeat slightly ahead of now is no silence.
        Assert.Null(AgentLifecycle.OnTick(AgentState.Healthy, Now + TimeSpan.FromSeconds(1), Now, _options));
    }

    // ---- Quarantined and Draining must survive silence ----

    [Fact]
    public void A_quarantined_agent_is_not_offered_work_while_it_heartbeats()
    {
        var state = AgentLifecycle.OnHeartbeat(AgentState.Quarantined, inFlight: 0);

        Assert.Equal(AgentState.Quarantined, state);
        Assert.False(AgentLifecycle.IsLeasable(state));
        Assert.Equal(AgentState.Quarantined, AgentLifecycle.OnRegister(state));
    }

    // A quarantine is lifted only by a release: a silent quarantined agent stays Quarantined (not Unresponsive, whose
    // next heartbeat would make it Healthy).
    [Fact]
    public void A_quarantined_agent_that_goes_silent_and_comes_back_is_still_Quarantined()
    {
        var state = AgentState.Quarantined;
        var lastHeartbeat = Now;

        _clock.Advance(_options.UnresponsiveAfter + Tick);
        state = AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options) ?? state;
        state = AgentLifecycle.OnHeartbeat(state, inFlight: 0);

        Assert.Equal(AgentState.Quarantined, state);
        Assert.False(AgentLifecycle.IsLeasable(state));
    }

    // A Draining agent that misses heartbeats is Unresponsive like any other, but its drain holds: when it comes back
    // with work it is Draining again, not Healthy.
    [Fact]
    public void A_draining_agent_that_goes_silent_and_comes_back_with_work_is_not_offered_new_work()
    {
        var state = AgentState.Draining;
        var lastHeartbeat = Now;

        _clock.Advance(_options.UnresponsiveAfter + Tick);
        state = AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options) ?? state;
        state = AgentLifecycle.OnHeartbeat(state, inFlight: 2, new AgentHolds(Quarantined: false, Draining: true));

        Assert.Equal(AgentState.Draining, state);
    }

    [Fact]
    public void A_draining_agent_goes_Offline_when_a_heartbeat_shows_it_has_nothing_left()
    {
        var state = AgentLifecycle.OnHeartbeat(AgentState.Draining, inFlight: 3);
        Assert.Equal(AgentState.Draining, state);
        Assert.False(AgentLifecycle.IsLeasable(state));
        Assert.True(AgentLifecycle.ExpectsHeartbeats(state));

        state = AgentLifecycle.OnHeartbeat(state, inFlight: 0);
        Assert.Equal(AgentState.Offline, state);
        Assert.False(AgentLifecycle.ExpectsHeartbeats(state));
    }

    [Fact]
    public void An_Offline_agent_comes_back_only_by_registering()
    {
        Assert.Equal(AgentState.Offline, AgentLifecycle.OnHeartbeat(AgentState.Offline, inFlight: 0));
        Assert.Equal(AgentState.Healthy, AgentLifecycle.OnRegister(AgentState.Offline));
    }
}
