using System.Collections.Immutable;

namespace MeshOs.Abstractions.Agents;

/// <summary>
/// One agent: registration, state, heartbeat timer, failure history. Key: agent id (unique across the mesh).
/// Heartbeats are kept in memory; registration and state changes are persisted.
/// </summary>
[Alias("meshos.IAgentGrain")]
public interface IAgentGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers (or re-registers after a reconnect) the agent. Fails with Conflict when the id belongs to another
    /// owner and with PermissionDenied when the agent is quarantined. <paramref name="channel"/> may be null
    /// for agents that poll over REST.
    /// </summary>
    [Alias("Register")]
    Task<AgentRegistered> RegisterAsync(AgentRegistration registration, IAgentChannelObserver? channel);

    /// <summary>Records a heartbeat, renews the leases it lists and returns the agent's state and pending commands.</summary>
    [Alias("Heartbeat")]
    Task<HeartbeatAck> HeartbeatAsync(AgentHeartbeat heartbeat);

    /// <summary>Detaches a channel when its connection ends; the heartbeat timer decides what that means.</summary>
    [Alias("Disconnect")]
    Task DisconnectAsync(IAgentChannelObserver channel);

    /// <summary>Stops new leases; the agent finishes what it holds and then goes Offline.</summary>
    [Alias("Drain")]
    Task<AgentInfo> DrainAsync(string reason);

    /// <summary>Removes the agent: Offline, its leases are returned to their queues.</summary>
    [Alias("Deregister")]
    Task DeregisterAsync(string reason);

    /// <summary>The agent, or null when it never registered.</summary>
    [Alias("Get")]
    Task<AgentInfo?> GetAsync();

    /// <summary>Queues a command for the agent and pushes it down its channel when connected.</summary>
    [Alias("SendCommand")]
    Task SendCommandAsync(AgentCommand command);

    /// <summary>
    /// Quarantines the agent: no new leases until released, whatever it does meanwhile (silence, reconnection).
    /// With <paramref name="probation"/>, the agent is released automatically when it has passed.
    /// </summary>
    [Alias("Quarantine")]
    Task<AgentInfo> QuarantineAsync(string reason, TimeSpan? probation);

    /// <summary>Lifts a quarantine: the agent is Healthy again (or Unresponsive when it is silent). Idempotent.</summary>
    [Alias("Release")]
    Task<AgentInfo> ReleaseAsync(string reason);

    /// <summary>Marks a working agent Degraded (fewer leases) or Healthy again. Ignored in other states.</summary>
    [Alias("SetDegraded")]
    Task<AgentInfo> SetDegradedAsync(bool degraded, string reason);

    /// <summary>Restarts the agent through the runtime that started it, or with a command down its channel.</summary>
    [Alias("Restart")]
    Task<RestartPath> RestartAsync(string reason);

    /// <summary>Ends every lease the agent holds now (it is declared dead): its jobs are retried elsewhere. Returns how many.</summary>
    [Alias("RevokeLeases")]
    Task<int> RevokeLeasesAsync(string reason);
}

/// <summary>
/// A shard of the agent directory: summaries of agents for listing and counting. Key: shard number. It loads its
/// agents from the agent store when it activates; agent grains report every registration and state change to it after
/// writing it, never heartbeats. Its calls interleave with the shard's own work: the shard touches agents (awaiting
/// them) while agents, in the middle of a change, report to it; without interleaving each waited for the other until
/// the 30 s call timeout, and the agent's heartbeats queued behind.
/// </summary>
[Alias("meshos.IAgentDirectoryGrain")]
public interface IAgentDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or replaces an agent's summary (in memory: the agent's own record is already durable).</summary>
    [Alias("Upsert"), AlwaysInterleave]
    Task UpsertAsync(AgentSummary summary);

    /// <summary>Agents after <paramref name="afterId"/> in id order, optionally only one owner's, at most <paramref name="limit"/>.</summary>
    [Alias("List"), AlwaysInterleave]
    Task<ImmutableArray<AgentSummary>> ListAsync(string? owner, string? afterId, int limit);

    /// <summary>Agents matching <paramref name="filter"/> after <paramref name="afterId"/> in id order, at most <paramref name="limit"/>.</summary>
    [Alias("ListMatching"), AlwaysInterleave]
    Task<ImmutableArray<AgentSummary>> ListMatchingAsync(AgentFilter filter, string? afterId, int limit);

    /// <summary>How many agents of this shard are in each state.</summary>
    [Alias("CountByState"), AlwaysInterleave]
    Task<ImmutableDictionary<AgentState, int>> CountByStateAsync();
}
