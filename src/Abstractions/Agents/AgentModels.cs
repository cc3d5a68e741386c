using System.Collections.Immutable;

namespace MeshOs.Abstractions.Agents;

/// <summary>
/// Agent lifecycle: Registering → Healthy ⇄ Degraded → Unresponsive → (Healthy | Quarantined | Offline);
/// Draining → Offline.
/// </summary>
[GenerateSerializer]
public enum AgentState
{
    Registering = 0,
    Healthy = 1,
    Degraded = 2,
    Unresponsive = 3,
    Quarantined = 4,
    Draining = 5,
    Offline = 6,
}

/// <summary>What an agent declares when it connects.</summary>
/// <param name="Owner">The tenant id that runs the agent, or <c>platform</c>.</param>
/// <param name="Pool">The pool it serves; jobs name the pool they want.</param>
/// <param name="CostPerHour">What an hour of this agent costs, in the operator's currency.</param>
/// <param name="Runtime">The runtime that started the agent and can restart it (see IRuntimeGrain), if any.</param>
/// <param name="Certifications">
/// The data classes the agent is certified to handle (e.g. <c>pii</c>, <c>phi</c>): the data-classification policy
/// gives it only jobs whose every data class is among them. Default or empty: none.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.AgentRegistration")]
public sealed record AgentRegistration(
    string AgentId,
    string Owner,
    string Pool,
    ImmutableArray<string> Capabilities,
    int MaxConcurrency,
    string Version,
    string Region,
    decimal CostPerHour,
    string? Runtime = null,
    ImmutableArray<string> Certifications = default);

/// <summary>A lease an agent holds: the job and the fencing epoch it was granted with.</summary>
[GenerateSerializer, Immutable, Alias("meshos.LeaseRef")]
public readonly record struct LeaseRef(Guid JobId, long Epoch);

/// <summary>One heartbeat: current load, the leases the agent believes it holds, free-form metrics.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AgentHeartbeat")]
public sealed record AgentHeartbeat(
    double Load,
    ImmutableArray<LeaseRef> InFlight,
    ImmutableDictionary<string, double> Metrics);

/// <summary>Something the mesh asks an agent to do.</summary>
[GenerateSerializer]
public enum AgentCommandKind
{
    Restart = 0,
    Drain = 1,
    CancelJob = 2,
}

/// <summary>A command for an agent.</summary>
/// <param name="JobId">The job a <see cref="AgentCommandKind.CancelJob"/> is about.</param>
/// <param name="Epoch">
/// The lease a job command is about (0: none). An agent acts on a job command only while it holds that very lease, so
/// a cancel meant for an earlier run never stops a later run of the same job.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.AgentCommand")]
public sealed record AgentCommand(AgentCommandKind Kind, Guid? JobId, string Reason, long Epoch = 0);

/// <summary>The answer to a heartbeat: the agent's state as the mesh sees it, leases it must drop, commands.</summary>
[GenerateSerializer, Immutable, Alias("meshos.HeartbeatAck")]
public sealed record HeartbeatAck(
    AgentState State,
    ImmutableArray<LeaseRef> RevokedLeases,
    ImmutableArray<AgentCommand> Commands);

/// <summary>An agent as operators and its owner see it.</summary>
/// <param name="Quarantined">A quarantine holds (until released), whatever the current state.</param>
/// <param name="ProbationUntil">When a quarantine with probation is released automatically, if set.</param>
[GenerateSerializer, Immutable, Alias("meshos.AgentInfo")]
public sealed record AgentInfo(
    AgentRegistration Registration,
    AgentState State,
    string StateReason,
    DateTimeOffset RegisteredAt,
    DateTimeOffset StateChangedAt,
    DateTimeOffset? LastHeartbeatAt,
    double Load,
    int InFlight,
    bool Connected,
    bool Quarantined = false,
    DateTimeOffset? ProbationUntil = null);

/// <summary>How a restart was carried out.</summary>
[GenerateSerializer]
public enum RestartPath
{
    /// <summary>The runtime that started the agent was asked to restart it.</summary>
    Runtime = 0,
    /// <summary>A restart command went down the agent's own channel (queued if it is disconnected).</summary>
    Command = 1,
}

/// <summary>A directory entry: enough to list and count agents without activating them.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AgentSummary")]
public sealed record AgentSummary(
    string AgentId,
    string Owner,
    string Pool,
    ImmutableArray<string> Capabilities,
    AgentState State,
    DateTimeOffset StateChangedAt);

/// <summary>A channel down to a connected agent, implemented by the gateway session that holds its stream.</summary>
[Alias("meshos.IAgentChannelObserver")]
public interface IAgentChannelObserver : IGrainObserver
{
    /// <summary>Delivers a command to the agent. Fire-and-forget: undelivered commands are repeated on heartbeats.</summary>
    [Alias("OnCommand"), OneWay]
    Task OnCommandAsync(AgentCommand command);

    /// <summary>Tells the session the agent's state changed (for example quarantined: ask for no more work).</summary>
    [Alias("OnState"), OneWay]
    Task OnStateChangedAsync(AgentState state);
}

/// <summary>The answer to a registration: the agent, and the rhythm the mesh expects of it.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AgentRegistered")]
public sealed record AgentRegistered(AgentInfo Agent, TimeSpan HeartbeatInterval, TimeSpan LeaseDuration);

/// <summary>
/// Which agents a directory listing returns: optionally one owner's, one pool's, and only those a tenant sees (its own
/// and every agent that can lease its jobs: in its own pools or in the shared pools listed for it,
/// <paramref name="ListedPools"/>; see <see cref="Tenants.PoolAccess.IsVisibleTo"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.AgentFilter")]
public sealed record AgentFilter(string? Owner, string? Pool, string? VisibleToTenant, string[]? ListedPools = null)
{
    public bool Matches(AgentSummary agent) =>
        (Owner is null || agent.Owner == Owner)
        && (Pool is null || agent.Pool == Pool)
        && (VisibleToTenant is null || Tenants.PoolAccess.IsVisibleTo(VisibleToTenant, ListedPools ?? [], agent.Owner, agent.Pool));
}
