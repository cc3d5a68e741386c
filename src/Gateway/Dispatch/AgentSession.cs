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

    /// <summary>
    /// The agent's adaptive concurrency (AIMD on its reported results), set by the hub when the session attaches;
    /// guarded by the hub's lock.
    /// </summary>
    internal Routing.ConcurrencyLimit Limit { get; set; } = new(registration.MaxConcurrency, Routing.ConcurrencySettings.Fixed);

    /// <summary>Assignments handed over and not yet reported.</summary>
    public abstract int Outstanding { get; }

    /// <summary>
    /// Credits that may be used now, within the agent's adaptive limit (<see cref="Limit"/>): a Healthy agent at its full
    /// limit uses all of them; one whose limit came down has at most that many jobs outstanding; a Degraded one at most
    /// a quarter of its concurrency (at least one job), or its limit if lower; none in any other state.
    /// </summary>
    internal int UsableCredits => Closed || Credits <= 0 ? 0 : State switch
    {
        AgentState.Healthy when !Limit.Reduced => Credits,
        AgentState.Healthy => Math.Clamp(Limit.Current - Outstanding - Leasing, 0, Credits),
        AgentState.Degraded => Math.Clamp(Math.Min(Limit.Current, Math.Max(1, Registration.MaxConcurrency / 4)) - Outstanding - Leasing, 0, Credits),
        _ => 0,
    };

    internal bool Eligible => UsableCredits > 0;

    /// <summary>Hands a granted lease to the agent; false when the session can no longer deliver it.</summary>
    public abstract bool TryDeliver(LeaseGrant grant);
}
