using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Gateway.Dispatch;

/// <summary>
/// An agent this gateway can hand jobs to: a gRPC stream or a REST long-poll. Credits are how many more assignments
/// the agent accepts; they are read and changed only under the <see cref="DispatchHub"/>'s lock.
/// </summary>
public abstract class AgentSession(AgentRegistration registration, AgentState state)
{
    public AgentRegistration Registration { get; } = registration;

    public string AgentId => Registration.AgentId;

    /// <summary>The agent's state as last heard from the mesh; only Healthy and Degraded agents get work.</summary>
    public AgentState State { get; set; } = state;

    /// <summary>Further assignments the agent accepts. Guarded by the hub's lock.</summary>
    internal int Credits { get; set; }

    /// <summary>Leases started for this session and not yet delivered or failed. Guarded by the hub's lock.</summary>
    internal int Leasing { get; set; }

    /// <summary>Set once the session ended; guarded by the hub's lock.</summary>
    internal bool Closed { get; set; }

    /// <summary>Assignments handed over and not yet reported.</summary>
    public abstract int Outstanding { get; }

    /// <summary>
    /// Credits that may be used now: all of them for a Healthy agent; a Degraded one gets at most a quarter of its
    /// concurrency (at least one job) outstanding; none in any other state.
    /// </summary>
    internal int UsableCredits => Closed || Credits <= 0 ? 0 : State switch
    {
        AgentState.Healthy => Credits,
        AgentState.Degraded => Math.Clamp(Math.Max(1, Registration.MaxConcurrency / 4) - Outstanding - Leasing, 0, Credits),
        _ => 0,
    };

    internal bool Eligible => UsableCredits > 0;

    /// <summary>Hands a granted lease to the agent; false when the session can no longer deliver it.</summary>
    public abstract bool TryDeliver(LeaseGrant grant);
}
