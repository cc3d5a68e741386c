using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Incidents;

namespace MeshOs.Grains.Healing;

/// <summary>One attempt's outcome as degradation sees it.</summary>
public readonly record struct AttemptSample(DateTimeOffset At, bool Failed, TimeSpan RunTime);

/// <summary>Error rate and median run time over a window.</summary>
public readonly record struct PerformanceFigures(int Samples, double ErrorRate, TimeSpan MedianRunTime)
{
    public static PerformanceFigures Of(IReadOnlyCollection<AttemptSample> samples)
    {
        if (samples.Count == 0)
        {
            return new PerformanceFigures(0, 0, TimeSpan.Zero);
        }

        var failed = samples.Count(s => s.Failed);
        var ordered = samples.Select(s => s.RunTime).Order().ToList();
        return new PerformanceFigures(samples.Count, (double)failed / samples.Count, ordered[ordered.Count / 2]);
    }
}

/// <summary>The healing supervisor's decisions, free of Orleans: pure functions of what it has seen and the clock.</summary>
public static class HealingPolicy
{
    /// <summary>The wait before restart number <paramref name="restartsSoFar"/> + 1 of a still-dead agent (the first is immediate).</summary>
    public static TimeSpan RestartDelay(int restartsSoFar, HealingOptions options)
    {
        if (restartsSoFar <= 0)
        {
            return TimeSpan.Zero;
        }

        var ms = options.RestartInitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(restartsSoFar - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(ms, options.RestartMaxBackoff.TotalMilliseconds));
    }

    /// <summary>
    /// Whether a job of the agent that lost its lease or timed out counts as one of its failures: only while the agent
    /// is heard from. A silent agent (Unresponsive, Offline) cannot renew its leases, so their loss is a symptom of the
    /// silence, which counts once, as its death; counting each lease too would quarantine every busy agent that a
    /// gateway outage or a network cut silenced (an agent holding K leases would reach K + 1 failures at once).
    /// </summary>
    public static bool CountsLeaseFailure(AgentState state, bool dead) =>
        !dead && state is not (AgentState.Unresponsive or AgentState.Offline);

    /// <summary>
    /// Whether a lost lease at <paramref name="at"/> is a failure of its own, given when the agent last had one counted
    /// (<paramref name="lastCounted"/>): not within one lease duration of it. Leases lapse together when their agent
    /// crashes and comes back, or drops its work: one cause, one failure. (An agent killed and restarted within the
    /// silence limit is never declared dead, and each of its old leases lapsed while it was Healthy again: an agent
    /// holding four was quarantined for one crash.)
    /// </summary>
    public static bool IsNewLeaseLoss(DateTimeOffset at, DateTimeOffset? lastCounted, TimeSpan leaseDuration) =>
        lastCounted is not { } last || at - last > leaseDuration || at < last;

    /// <summary>
    /// The failures an agent still has once it is declared dead: lost leases and timeouts recorded after it fell silent
    /// (at the latest <paramref name="unresponsiveAfter"/> before it was found Unresponsive at
    /// <paramref name="unresponsiveAt"/>; their events may arrive before that state change's) are dropped, as the death
    /// counts for them. Failures up to its previous death (<paramref name="previousDeath"/>) are kept whatever their time.
    /// </summary>
    public static void DropSymptomsOfSilence(List<DateTimeOffset> failures, DateTimeOffset unresponsiveAt, TimeSpan unresponsiveAfter,
        DateTimeOffset? previousDeath)
    {
        var silentSince = unresponsiveAt - unresponsiveAfter;
        if (previousDeath is { } death && death > silentSince)
        {
            silentSince = death;
        }

        failures.RemoveAll(f => f > silentSince);
    }

    /// <summary>Whether the failures within the window reach the quarantine threshold.</summary>
    public static bool ShouldQuarantine(IEnumerable<DateTimeOffset> failures, DateTimeOffset now, HealingOptions options) =>
        failures.Count(f => now - f <= options.QuarantineWindow) >= options.QuarantineFailures;

    /// <summary>
    /// Severity of a pool's availability, as the runbook defines it: every agent unavailable → P0; half or more →
    /// P1; at least one → P3; none (or no agents) → null.
    /// </summary>
    public static IncidentSeverity? AvailabilitySeverity(int agents, int unavailable)
    {
        if (agents <= 0 || unavailable <= 0)
        {
            return null;
        }

        if (unavailable >= agents)
        {
            return IncidentSeverity.P0;
        }

        return unavailable * 2 >= agents ? IncidentSeverity.P1 : IncidentSeverity.P3;
    }

    /// <summary>
    /// Whether an agent performs far worse than its pool: its error rate several times the pool's (and high in
    /// absolute terms) or its median run time several times the pool's. Needs enough samples on both sides.
    /// </summary>
    public static bool IsOutlier(PerformanceFigures agent, PerformanceFigures pool, HealingOptions options)
    {
        if (agent.Samples < options.DegradationMinSamples || pool.Samples < options.DegradationMinSamples)
        {
            return false;
        }

        var errors = agent.ErrorRate >= options.DegradationMinErrorRate
            && agent.ErrorRate >= pool.ErrorRate * options.DegradationErrorFactor - 1e-9
            && agent.ErrorRate > pool.ErrorRate;
        var slow = pool.MedianRunTime > TimeSpan.Zero
            && agent.MedianRunTime.TotalMilliseconds >= pool.MedianRunTime.TotalMilliseconds * options.DegradationLatencyFactor;
        return errors || slow;
    }

    /// <summary>An agent that was an outlier is back in line: error rate at most twice the pool's (or under the minimum) and run time under twice the pool's.</summary>
    public static bool HasRecovered(PerformanceFigures agent, PerformanceFigures pool, HealingOptions options) =>
        agent.Samples >= options.DegradationMinSamples
        && (agent.ErrorRate < options.DegradationMinErrorRate || agent.ErrorRate <= pool.ErrorRate * 2)
        && (pool.MedianRunTime == TimeSpan.Zero || agent.MedianRunTime.TotalMilliseconds < pool.MedianRunTime.TotalMilliseconds * 2);

    /// <summary>
    /// Extra agents to recommend for a backlog: enough to drain <paramref name="pending"/> jobs in five minutes at the
    /// pool's observed rate per agent (at least one).
    /// </summary>
    public static int SuggestedAgents(int pending, double jobsPerAgentPerMinute)
    {
        var perAgentInFiveMinutes = Math.Max(1, jobsPerAgentPerMinute * 5);
        return Math.Clamp((int)Math.Ceiling(pending / perAgentInFiveMinutes), 1, 10_000);
    }

    /// <summary>
    /// Whether the supervisor forgets an agent (its view and its samples): Offline longer than
    /// <see cref="HealingOptions.ForgetDeadAgentsAfter"/>, so the state does not grow with every agent that ever existed.
    /// </summary>
    public static bool IsForgotten(AgentState state, DateTimeOffset since, DateTimeOffset now, HealingOptions options) =>
        state == AgentState.Offline && now - since > options.ForgetDeadAgentsAfter;
}

/// <summary>The audit entry of a healing action: actor system/healing, <c>healing.{step}</c> (kebab case) on <c>agent/{id}</c>.</summary>
public static class HealingAudit
{
    public const string Component = "healing";

    public static string Action(RemediationStep step) =>
        "healing." + string.Concat(step.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    public static AuditDraft Draft(RemediationStep step, string agentId, string detail) => new(
        AuditActor.System(Component), Action(step), "agent/" + agentId, null, AuditOutcome.Succeeded, null, null, null, "internal",
        new AuditChange().Add("detail", detail).Digest());
}
