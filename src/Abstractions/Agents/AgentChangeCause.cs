namespace MeshOs.Abstractions.Agents;

/// <summary>
/// Why an agent changed state, as a type consumers decide on (the healing supervisor tells an agent that left on
/// purpose from one that died by it). The free-text reason beside it is for humans and may be worded any way.
/// </summary>
[GenerateSerializer]
public enum AgentChangeCause
{
    /// <summary>Not recorded (events written before causes existed).</summary>
    Unspecified = 0,

    /// <summary>The agent registered or re-registered.</summary>
    Registered = 1,

    /// <summary>Heartbeats came back after silence.</summary>
    HeartbeatResumed = 2,

    /// <summary>Heartbeats or the connection stopped (Unresponsive, then Offline when silent long enough).</summary>
    Silent = 3,

    /// <summary>A drain was asked for (by an operator, the owner, or a revoked pool grant): no new leases.</summary>
    DrainRequested = 4,

    /// <summary>A draining agent finished its jobs and left.</summary>
    DrainCompleted = 5,

    /// <summary>The agent was deregistered (taken Offline on purpose).</summary>
    Deregistered = 6,

    /// <summary>Quarantined (by an operator or the healing supervisor).</summary>
    Quarantined = 7,

    /// <summary>A quarantine was lifted by an operator or the healing supervisor.</summary>
    Released = 8,

    /// <summary>A quarantine ended by itself when its probation passed.</summary>
    ProbationEnded = 9,

    /// <summary>Marked Degraded, or recovered from it, by the healing supervisor.</summary>
    Performance = 10,
}

/// <summary>What the causes mean to consumers.</summary>
public static class AgentChangeCauses
{
    /// <summary>Whether an agent going Offline for this cause left on purpose (it is not a failure of its pool).</summary>
    public static bool LeftOnPurpose(AgentChangeCause cause) =>
        cause is AgentChangeCause.DrainRequested or AgentChangeCause.DrainCompleted or AgentChangeCause.Deregistered;
}
