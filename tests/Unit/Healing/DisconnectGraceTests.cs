using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Kernel.Agents;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Healing;

/// <summary>
/// Disconnected is not dead: how long a closed stream may stay closed before the agent is Unresponsive (the first
/// step towards the healing supervisor declaring it dead), and when the agent's one timer must fire.
/// </summary>
public sealed class DisconnectGraceTests
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

    [Fact]
    public void The_grace_defaults_to_one_heartbeat_interval()
    {
        Assert.Null(_options.DisconnectGrace);
        Assert.Equal(TimeSpan.FromSeconds(5), _options.EffectiveDisconnectGrace);
        Assert.Equal(TimeSpan.FromSeconds(2), new AgentOptions { DisconnectGrace = TimeSpan.FromSeconds(2) }.EffectiveDisconnectGrace);
    }

    [Theory]
    [InlineData(AgentState.Healthy)]
    [InlineData(AgentState.Degraded)]
    [InlineData(AgentState.Draining)]
    public void A_disconnected_agent_is_Unresponsive_once_the_grace_has_passed_and_not_before(AgentState state)
    {
        var lastHeartbeat = Now;
        _clock.Advance(TimeSpan.FromSeconds(1));
        var disconnectedAt = Now;

        _clock.SetUtcNow(disconnectedAt + _options.EffectiveDisconnectGrace);
        Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options, disconnectedAt));
        _clock.Advance(Tick);
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options, disconnectedAt));

        // Sooner than silence alone: 6 s after the last beat, where silence needs 15 s.
        Assert.Equal(TimeSpan.FromSeconds(6) + Tick, Now - lastHeartbeat);
        Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options));
    }

    [Fact]
    public void A_configured_grace_replaces_the_heartbeat_interval()
    {
        var options = new AgentOptions { HeartbeatInterval = TimeSpan.FromSeconds(5), DisconnectGrace = TimeSpan.FromMilliseconds(500) };
        var disconnectedAt = Now;

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Null(AgentLifecycle.OnTick(AgentState.Healthy, disconnectedAt, Now, options, disconnectedAt));
        _clock.Advance(Tick);
        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Healthy, disconnectedAt, Now, options, disconnectedAt));
    }

    [Fact]
    public void An_agent_that_reconnects_within_the_grace_is_judged_on_silence_alone()
    {
        // The grain passes no disconnect time once a channel is attached again.
        var lastHeartbeat = Now;
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(AgentState.Unresponsive, AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options, disconnectedAt: lastHeartbeat));
        Assert.Null(AgentLifecycle.OnTick(AgentState.Healthy, lastHeartbeat, Now, _options, disconnectedAt: null));
    }

    [Theory]
    [InlineData(AgentState.Quarantined)]
    [InlineData(AgentState.Registering)]
    [InlineData(AgentState.Offline)]
    [InlineData(AgentState.Unresponsive)]
    public void A_disconnect_changes_nothing_in_states_that_expect_no_heartbeats(AgentState state)
    {
        var lastHeartbeat = Now;
        var disconnectedAt = Now;
        _clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Null(AgentLifecycle.OnTick(state, lastHeartbeat, Now, _options, disconnectedAt));
    }

    // ---- NextCheck: the timer fires exactly when OnTick can change the state ----

    [Theory]
    [InlineData(AgentState.Healthy)]
    [InlineData(AgentState.Degraded)]
    [InlineData(AgentState.Draining)]
    public void NextCheck_of_a_connected_working_agent_is_the_end_of_its_silence_window(AgentState state) =>
        Assert.Equal(T0 + TimeSpan.FromSeconds(15), AgentLifecycle.NextCheck(state, T0, _options));

    [Fact]
    public void NextCheck_of_a_disconnected_agent_is_the_end_of_its_grace_when_that_comes_first()
    {
        var disconnectedAt = T0 + TimeSpan.FromSeconds(3);
        Assert.Equal(T0 + TimeSpan.FromSeconds(8), AgentLifecycle.NextCheck(AgentState.Healthy, T0, _options, disconnectedAt));
    }

    [Fact]
    public void NextCheck_of_an_agent_that_disconnected_late_in_its_silence_is_still_the_silence_window()
    {
        var disconnectedAt = T0 + TimeSpan.FromSeconds(12);
        Assert.Equal(T0 + TimeSpan.FromSeconds(15), AgentLifecycle.NextCheck(AgentState.Healthy, T0, _options, disconnectedAt));
    }

    [Theory]
    [InlineData(AgentState.Unresponsive)]
    [InlineData(AgentState.Quarantined)]
    public void NextCheck_of_a_silent_agent_is_when_it_goes_Offline(AgentState state)
    {
        Assert.Equal(T0 + TimeSpan.FromSeconds(15) + TimeSpan.FromMinutes(10), AgentLifecycle.NextCheck(state, T0, _options));
        Assert.Equal(T0 + TimeSpan.FromSeconds(15) + TimeSpan.FromMinutes(10), AgentLifecycle.NextCheck(state, T0, _options, T0));
    }

    [Theory]
    [InlineData(AgentState.Offline)]
    [InlineData(AgentState.Registering)]
    public void NextCheck_is_never_for_states_no_tick_changes(AgentState state) =>
        Assert.Null(AgentLifecycle.NextCheck(state, T0, _options, T0));

    public static TheoryData<AgentState, double?> NextCheckCases => new()
    {
        { AgentState.Healthy, null },
        { AgentState.Healthy, 3.0 },
        { AgentState.Healthy, 12.0 },
        { AgentState.Degraded, 0.5 },
        { AgentState.Draining, 14.0 },
        { AgentState.Unresponsive, null },
        { AgentState.Quarantined, 1.0 },
    };

    [Theory]
    [MemberData(nameof(NextCheckCases))]
    public void At_NextCheck_nothing_changes_yet_and_one_tick_later_it_does(AgentState state, double? disconnectedAfterSeconds)
    {
        DateTimeOffset? disconnectedAt = disconnectedAfterSeconds is { } s ? T0 + TimeSpan.FromSeconds(s) : null;
        var at = AgentLifecycle.NextCheck(state, T0, _options, disconnectedAt);
        Assert.NotNull(at);

        _clock.SetUtcNow(at.Value);
        Assert.Null(AgentLifecycle.OnTick(state, T0, Now, _options, disconnectedAt));
        _clock.Advance(Tick);
        Assert.NotNull(AgentLifecycle.OnTick(state, T0, Now, _options, disconnectedAt));
    }
}
