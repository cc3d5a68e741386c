using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// Decisions an operator or supervisor made about an agent that outlive its connection: a quarantine lasts until it
/// is released, a drain until the agent has finished (went Offline). Silence, reconnection or re-registration never
/// lift them.
/// </summary>
public readonly record struct AgentHolds(bool Quarantined, bool Draining);

/// <summary>
/// The agent state machine as pure decisions: what a heartbeat, a timer tick or a registration does to an agent's
/// state. The grain applies them; tests drive them with a fake clock.
/// </summary>
public static class AgentLifecycle
{
    /// <summary>States in which an agent may be given new leases.</summary>
    public static bool IsLeasable(AgentState state) => state is AgentState.Healthy or AgentState.Degraded;

    /// <summary>States in which silence makes an agent Unresponsive.</summary>
    public static bool ExpectsHeartbeats(AgentState state) =>
        state is AgentState.Healthy or AgentState.Degraded or AgentState.Draining;

    /// <summary>
    /// The state after a (re-)registration: Quarantined while a quarantine holds, Draining while an unfinished drain
    /// holds, otherwise Healthy.
    /// </summary>
    public static AgentState OnRegister(AgentState current, AgentHolds holds = default)
    {
        if (holds.Quarantined || current == AgentState.Quarantined)
        {
            return AgentState.Quarantined;
        }

        return holds.Draining && current != AgentState.Offline ? AgentState.Draining : AgentState.Healthy;
    }

    /// <summary>
    /// The state after a heartbeat: an Unresponsive agent is back (Healthy, or what its holds say); a Draining one with
    /// nothing left is Offline.
    /// </summary>
    public static AgentState OnHeartbeat(AgentState current, int inFlight, AgentHolds holds = default) => current switch
    {
        AgentState.Unresponsive when holds.Quarantined => AgentState.Quarantined,
        AgentState.Unresponsive when holds.Draining => inFlight == 0 ? AgentState.Offline : AgentState.Draining,
        AgentState.Unresponsive => AgentState.Healthy,
        AgentState.Draining when inFlight == 0 => AgentState.Offline,
        _ => current,
    };

    /// <summary>
    /// The state after a timer tick: silent longer than <see cref="AgentOptions.UnresponsiveAfter"/>, or disconnected
    /// (its stream closed at <paramref name="disconnectedAt"/>) for longer than <see cref="AgentOptions.DisconnectGrace"/>
    /// → Unresponsive; Unresponsive (or Quarantined) and silent for <see cref="AgentOptions.OfflineAfter"/> more →
    /// Offline. Null when nothing changes.
    /// </summary>
    public static AgentState? OnTick(AgentState current, DateTimeOffset lastHeartbeat, DateTimeOffset now, AgentOptions options, DateTimeOffset? disconnectedAt = null)
    {
        var silence = now - lastHeartbeat;
        if (ExpectsHeartbeats(current) && (silence > options.UnresponsiveAfter || (disconnectedAt is { } gone && now - gone > options.EffectiveDisconnectGrace)))
        {
            return AgentState.Unresponsive;
        }

        if (current is AgentState.Unresponsive or AgentState.Quarantined && silence > options.UnresponsiveAfter + options.OfflineAfter)
        {
            return AgentState.Offline;
        }

        return null;
    }

    /// <summary>When <see cref="OnTick"/> may next change the state, for timers that fire exactly then; null: never.</summary>
    public static DateTimeOffset? NextCheck(AgentState current, DateTimeOffset lastHeartbeat, AgentOptions options, DateTimeOffset? disconnectedAt = null)
    {
        if (ExpectsHeartbeats(current))
        {
            var silent = lastHeartbeat + options.UnresponsiveAfter;
            return disconnectedAt is { } gone && gone + options.EffectiveDisconnectGrace < silent ? gone + options.EffectiveDisconnectGrace : silent;
        }

        return current is AgentState.Unresponsive or AgentState.Quarantined
            ? lastHeartbeat + options.UnresponsiveAfter + options.OfflineAfter
            : null;
    }
}
