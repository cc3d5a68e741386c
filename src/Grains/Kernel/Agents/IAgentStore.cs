using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// The durable home of agents: one record per agent, written by the agent's grain (its single writer) on registration
/// and state changes, never on heartbeats. Every backend passes the same contract test suite. Writes return once they
/// are durable; concurrent writes from many grains may share a transaction (group commit), so a registration costs the
/// same whether the fleet holds ten agents or thirty thousand. Events passed with a write are appended to the event log
/// atomically with it.
/// </summary>
public interface IAgentStore
{
    Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores an agent: written only when no record is stored yet or <see cref="AgentRecord.Version"/> is greater than
    /// the stored one, so a write from a stale activation never overwrites a newer one. Returns false when it was not
    /// newer (nothing is written then, not even the events).
    /// </summary>
    Task<bool> WriteAsync(AgentRecord agent, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Summaries of the agents of one directory shard, in agent-id order (ordinal) after <paramref name="afterId"/>.</summary>
    Task<ImmutableArray<AgentSummary>> ListShardAsync(int shard, string? afterId, int limit, CancellationToken cancellationToken = default);
}

/// <summary>
/// An agent as stored: what it registered, its state and the holds operators put on it. <see cref="Version"/> grows by
/// one with every write of the record.
/// </summary>
/// <param name="DirectoryShard">The agent-directory shard that lists it (<see cref="AgentPolicy.DirectoryShard"/>).</param>
/// <param name="QuarantineHold">Quarantined until released (or its probation passes), whatever it does meanwhile.</param>
/// <param name="DrainHold">Draining until it has finished its work and gone Offline.</param>
/// <param name="ProbationUntil">When a quarantine is lifted automatically; null: only by a release.</param>
public sealed record AgentRecord(
    AgentRegistration Registration,
    int DirectoryShard,
    AgentState State,
    string StateReason,
    DateTimeOffset RegisteredAt,
    DateTimeOffset StateChangedAt,
    bool QuarantineHold,
    bool DrainHold,
    DateTimeOffset? ProbationUntil,
    long Version)
{
    public string AgentId => Registration.AgentId;

    /// <summary>The agent's directory entry.</summary>
    public AgentSummary ToSummary() =>
        new(Registration.AgentId, Registration.Owner, Registration.Pool, Registration.Capabilities, State, StateChangedAt);
}
