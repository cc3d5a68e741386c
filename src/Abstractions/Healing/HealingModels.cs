using System.Collections.Immutable;
using MeshOs.Abstractions.Events;

namespace MeshOs.Abstractions.Healing;

/// <summary>A rung of the remediation ladder, or another automatic action of the healing supervisor.</summary>
[GenerateSerializer]
public enum RemediationStep
{
    /// <summary>An agent was restarted (through its runtime or a command).</summary>
    Restart = 0,
    /// <summary>A dead agent's leased jobs were handed back at once, not after lease expiry.</summary>
    Reassign = 1,
    /// <summary>An agent failed too often: no new leases until probation passes or an operator releases it.</summary>
    Quarantine = 2,
    /// <summary>A quarantine was lifted.</summary>
    Release = 3,
    /// <summary>An agent's error rate or latency is far above its pool's: Degraded, fewer leases.</summary>
    Degrade = 4,
    /// <summary>A Degraded agent is back in line with its pool.</summary>
    Recover = 5,
    /// <summary>A job ran past its timeout and was cancelled on its agent (retried or dead-lettered).</summary>
    StuckJob = 6,
    /// <summary>Demand exceeds capacity: a scale-up was recommended.</summary>
    ScaleUp = 7,
    /// <summary>An agent was declared dead after its grace period.</summary>
    DeclaredDead = 8,
}

/// <summary>One recorded remediation.</summary>
/// <param name="Subject">An agent id, a job id or a queue, as the step says.</param>
[GenerateSerializer, Immutable, Alias("meshos.Remediation")]
public sealed record Remediation(DateTimeOffset At, RemediationStep Step, string Subject, string Detail, bool Automatic);

/// <summary>A recommendation to add capacity to a pool/capability.</summary>
[GenerateSerializer, Immutable, Alias("meshos.ScaleRecommendation")]
public sealed record ScaleRecommendation(
    DateTimeOffset At,
    string Pool,
    string Capability,
    int Pending,
    int Capacity,
    int SuggestedAdditionalAgents,
    string Reason) : IMeshEventPayload;

/// <summary>How the healing supervisor sees one pool.</summary>
[GenerateSerializer, Immutable, Alias("meshos.PoolHealth")]
public sealed record PoolHealth(string Pool, int Agents, int Available, int Unavailable, int Degraded, int Quarantined);

/// <summary>The healing supervisor's view and its latest actions.</summary>
[GenerateSerializer, Immutable, Alias("meshos.HealingReport")]
public sealed record HealingReport(
    ImmutableArray<PoolHealth> Pools,
    ImmutableArray<Remediation> Recent,
    ImmutableArray<ScaleRecommendation> Recommendations,
    long EventsProcessed);

/// <summary>
/// The self-healing engine: consumes the kernel's events, remediates agents (restart, reassign, quarantine,
/// probation), degrades outliers, watches queue pressure and opens or clears incidents. Key: "default".
/// </summary>
[Alias("meshos.IHealingSupervisorGrain")]
public interface IHealingSupervisorGrain : IMeshEventConsumer
{
    [Alias("GetReport")]
    Task<HealingReport> GetReportAsync(int recent);

    /// <summary>Recorded remediations, newest first; only one agent's when <paramref name="subject"/> is set.</summary>
    [Alias("GetRemediations")]
    Task<ImmutableArray<Remediation>> GetRemediationsAsync(string? subject, int limit);

    /// <summary>Runs one evaluation pass now (the timer does this every tick).</summary>
    [Alias("Evaluate")]
    Task EvaluateAsync();
}
