using System.Globalization;

namespace MeshOs.AgentSim;

/// <summary>Where a simulated agent is in its life.</summary>
public enum SimulatedAgentStatus
{
    /// <summary>Not started yet.</summary>
    Idle,

    /// <summary>Running: connected, or reconnecting.</summary>
    Running,

    /// <summary>Crashed or killed: no stream, no heartbeats, until it restarts.</summary>
    Crashed,

    /// <summary>Drained on the mesh's command; stays down.</summary>
    Drained,

    /// <summary>The mesh rejected its registration for good (credentials, declaration), or it failed; stays down.</summary>
    Rejected,

    /// <summary>Stopped with the fleet.</summary>
    Stopped,
}

/// <summary>One simulated agent's figures, summed over its restarts.</summary>
/// <param name="Completed">Successful results the mesh accepted.</param>
/// <param name="Failed">Failed results the mesh accepted.</param>
/// <param name="Refused">Reports the mesh refused as stale.</param>
/// <param name="Registrations">Successful registrations, reconnections and restarts included.</param>
public sealed record SimulatedAgentStats(
    string AgentId,
    SimulatedAgentStatus Status,
    bool Connected,
    int InFlight,
    long Completed,
    long Failed,
    long Refused,
    long Crashes,
    long Restarts,
    long Registrations);

/// <summary>The fleet's figures: sums over its agents.</summary>
public sealed record FleetStats(
    int Agents,
    int Connected,
    int InFlight,
    long Completed,
    long Failed,
    long Refused,
    long Crashes,
    long Restarts)
{
    /// <summary>One line for a console.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"agents {Agents} connected {Connected} in-flight {InFlight} completed {Completed} failed {Failed} refused {Refused} crashes {Crashes} restarts {Restarts}");
}
