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

    /// <summary>Set once the session ended; guarded by the hub's lock.</summary>
    internal bool Closed { get; set; }

    internal bool Eligible => !Closed && Credits > 0 && State is AgentState.Healthy or AgentState.Degraded;

    /// <summary>Hands a granted lease to the agent; false when the session can no longer deliver it.</summary>
    public abstract bool TryDeliver(LeaseGrant grant);
}
