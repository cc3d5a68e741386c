using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Healing;

/// <summary>The self-healing engine. Section <c>MeshOs:Healing</c>.</summary>
public sealed class HealingOptions
{
    public const string Section = "MeshOs:Healing";

    /// <summary>Turns the healing supervisor on. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the supervisor evaluates (deaths, restarts, incidents). Default 1 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Disconnected is not dead: an Unresponsive agent is declared dead (its leases revoked and its jobs retried
    /// elsewhere at once) only after this grace. Default 5 s.
    /// </summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan DeadAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait before the second restart of a dead agent; doubles after each one. The first is immediate. Default 10 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan RestartInitialBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between restarts. Default 5 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan RestartMaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failures (deaths, lost leases, timeouts) within <see cref="QuarantineWindow"/> that quarantine an agent. Default 3.</summary>
    [Range(1, 1000)]
    public int QuarantineFailures { get; set; } = 3;

    /// <summary>Default 15 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan QuarantineWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Probation after which a quarantine is lifted automatically; zero: only an operator releases. Default 10 min.</summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan Probation { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Pending jobs in a queue above which pressure is watched. Default 100.</summary>
    [Range(1, 100_000_000)]
    public int QueuePressureThreshold { get; set; } = 100;

    /// <summary>How long pressure must last before a scale-up is recommended. Default 1 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan QueuePressureDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often queues are read for pressure. Default 15 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan QueueCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often agents are judged against their pool for degradation and recovery. Default 5 s.</summary>
    public TimeSpan DegradationCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Recent attempts per agent that degradation is judged on. Default 5 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan DegradationWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Fewest attempts in the window before an agent can be judged. Default 10.</summary>
    [Range(1, 100_000)]
    public int DegradationMinSamples { get; set; } = 10;

    /// <summary>An agent is Degraded when its error rate is this many times its pool's (and at least <see cref="DegradationMinErrorRate"/>). Default 3.</summary>
    public double DegradationErrorFactor { get; set; } = 3;

    /// <summary>Default 0.2 (20 %).</summary>
    public double DegradationMinErrorRate { get; set; } = 0.2;

    /// <summary>…or when its median run time is this many times its pool's. Default 3.</summary>
    public double DegradationLatencyFactor { get; set; } = 3;

    /// <summary>A pool whose error rate over the window exceeds this is degraded performance (a P2 incident). Default 0.25.</summary>
    public double PoolErrorRateSlo { get; set; } = 0.25;

    /// <summary>Agents dead (Offline after silence) this long no longer count toward their pool's availability. Default 1 h.</summary>
    [PositiveTimeSpan]
    public TimeSpan ForgetDeadAgentsAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Remediations kept for reports. Default 2,000.</summary>
    [Range(10, 1_000_000)]
    public int RemediationHistory { get; set; } = 2_000;
}
