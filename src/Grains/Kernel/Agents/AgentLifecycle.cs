using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// The agent state machine as pure decisions: what a heartbeat, a timer tick or a registration does to an agent's
/// state. The grain applies them; tests drive them with a fake clock.
/// </summary>
public static class AgentLifecycle
{
    /// <summary>States in which an agent may be given new leases.</summary>
    public static bool IsLeasable(AgentState state) => state is AgentState.Healthy or AgentState.Degraded;

    /// <summary>States in which an agent is expected to heartbeat.</summary>
    public static bool ExpectsHeartbeats(AgentState state) =>
        state is AgentState.Healthy or AgentState.Degraded or AgentState.Draining or AgentState.Quarantined;

    /// <summary>The state after a (re-)registration: Quarantined stays so (operators release it), all others become Healthy.</summary>
    public static AgentState OnRegister(AgentState current) =>
        current == AgentState.Quarantined ? AgentState.Quarantined : AgentState.Healthy;

    /// <summary>The state after a heartbeat: an Unresponsive agent is back; a Draining one with nothing left is Offline.</summary>
    public static AgentState OnHeartbeat(AgentState current, int inFlight) => current switch
    {
        AgentState.Unresponsive => AgentState.Healthy,
        AgentState.Draining when inFlight == 0 => AgentState.Offline,
        _ => current,
    };

    /// <summary>
    /// The state after a timer tick: silent longer than <see cref="AgentOptions.UnresponsiveAfter"/> → Unresponsive;
    /// Unresponsive longer than <see cref="AgentOptions.OfflineAfter"/> → Offline. Null when nothing changes.
    /// </summary>
    public static AgentState? OnTick(AgentState current, DateTimeOffset lastHeartbeat, DateTimeOffset now, AgentOptions options)
    {
        var silence = now - lastHeartbeat;
        if (ExpectsHeartbeats(current) && silence > options.UnresponsiveAfter)
        {
            return AgentState.Unresponsive;
        }

        if (current == AgentState.Unresponsive && silence > options.UnresponsiveAfter + options.OfflineAfter)
        {
            return AgentState.Offline;
        }

        return null;
    }
}
