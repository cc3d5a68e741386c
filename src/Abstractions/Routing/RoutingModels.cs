using System.Collections.Immutable;
using MeshOs.Abstractions.Events;

namespace MeshOs.Abstractions.Routing;

/// <summary>
/// What the mesh has learned about one agent serving one capability, from the ends of its attempts
/// (<see cref="JobAttemptEnded"/>). Counts decay with time (a half-life), so old behaviour fades.
/// </summary>
/// <param name="Version">The agent software version of the latest attempt counted; a new version starts afresh.</param>
/// <param name="Successes">Succeeded attempts, decayed.</param>
/// <param name="Failures">Failed, timed-out and lost attempts, decayed.</param>
/// <param name="LatencyMs">Run time of succeeded attempts, exponentially weighted mean (milliseconds).</param>
/// <param name="LatencyVarianceMs2">Exponentially weighted variance of the same run times.</param>
/// <param name="CostPerJob">Cost the agent reported per attempt, exponentially weighted; 0 when it reports none.</param>
/// <param name="Attempts">Attempts counted in all (not decayed).</param>
/// <param name="UpdatedAt">When the latest attempt counted ended.</param>
/// <param name="Stamp">The pool's change counter when this entry last changed (for incremental reads).</param>
[GenerateSerializer, Immutable, Alias("meshos.RouteStats")]
public sealed record RouteStats(
    [property: Id(0)] string AgentId,
    [property: Id(1)] string Capability,
    [property: Id(2)] string? Version,
    [property: Id(3)] double Successes,
    [property: Id(4)] double Failures,
    [property: Id(5)] double LatencyMs,
    [property: Id(6)] double LatencyVarianceMs2,
    [property: Id(7)] double CostPerJob,
    [property: Id(8)] long Attempts,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] long Stamp)
{
    /// <summary>Success rate with one success and one failure of prior (Laplace), so a new agent reads 0.5, not 0 or 1.</summary>
    public double SuccessRate => (Successes + 1) / (Successes + Failures + 2);

    /// <summary>Tail latency estimate: the weighted mean plus two weighted standard deviations (≈ p95 for a bell-shaped spread).</summary>
    public double TailLatencyMs => LatencyMs + 2 * Math.Sqrt(Math.Max(0, LatencyVarianceMs2));
}

/// <summary>Entries of one pool and capability changed after a stamp, and the stamp to ask from next time.</summary>
/// <param name="Full">True when <see cref="Entries"/> is everything held (the caller's stamp was from before a restart or unknown).</param>
/// <param name="HalfLife">The learner's half-life: a reader fades counts by the time since each entry's last update with it.</param>
[GenerateSerializer, Immutable, Alias("meshos.RouteStatsChanges")]
public sealed record RouteStatsChanges(
    [property: Id(0)] long Stamp,
    [property: Id(1)] ImmutableArray<RouteStats> Entries,
    [property: Id(2)] bool Full,
    [property: Id(3)] long Epoch,
    [property: Id(4)] TimeSpan HalfLife);

/// <summary>What the attempts of one agent version achieved in one pool and capability (for releases).</summary>
[GenerateSerializer, Immutable, Alias("meshos.VersionStats")]
public sealed record VersionStats(
    [property: Id(0)] string Capability,
    [property: Id(1)] string Version,
    [property: Id(2)] double Successes,
    [property: Id(3)] double Failures,
    [property: Id(4)] double LatencyMs,
    [property: Id(5)] long Attempts,
    [property: Id(6)] DateTimeOffset UpdatedAt)
{
    public double SuccessRate => (Successes + 1) / (Successes + Failures + 2);
}

/// <summary>A pool's learned statistics, for operators.</summary>
[GenerateSerializer, Immutable, Alias("meshos.PoolRouteStats")]
public sealed record PoolRouteStats(
    [property: Id(0)] string Pool,
    [property: Id(1)] ImmutableArray<RouteStats> Agents,
    [property: Id(2)] ImmutableArray<VersionStats> Versions);

/// <summary>
/// Why a job went to its agent: the policy, the reason, and the candidates the policy compared at that moment (the
/// chosen one first, then the best of the others), with the statistics it saw. Kept with the job for its latest lease.
/// </summary>
/// <param name="Reason">
/// <c>best-score</c>, <c>exploration</c> (a random candidate, the share that keeps every agent's statistics fresh),
/// <c>only-candidate</c> or <c>round-robin</c>.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.RoutingDecision")]
public sealed record RoutingDecision(
    [property: Id(0)] string Policy,
    [property: Id(1)] string Reason,
    [property: Id(2)] int CandidatesCompared,
    [property: Id(3)] ImmutableArray<RoutingCandidateScore> Candidates)
{
    /// <summary>Field by field, the candidates by content (a stored decision read back equals the one written).</summary>
    public bool Equals(RoutingDecision? other) =>
        other is not null && Policy == other.Policy && Reason == other.Reason && CandidatesCompared == other.CandidatesCompared
        && (Candidates.IsDefault ? [] : Candidates).SequenceEqual(other.Candidates.IsDefault ? [] : other.Candidates);

    public override int GetHashCode() => HashCode.Combine(Policy, Reason, CandidatesCompared, Candidates.IsDefault ? 0 : Candidates.Length);
}

/// <summary>One candidate of a routing decision.</summary>
/// <param name="Score">The policy's score (lower is better); null for a policy that does not score.</param>
/// <param name="SuccessRate">Learned success rate (null: nothing learned yet).</param>
/// <param name="LatencyMs">Learned mean run time (null: nothing learned yet).</param>
/// <param name="CostPerJob">Expected cost of one job on this agent (null: no cost known).</param>
/// <param name="InFlight">Jobs the agent held or was being handed.</param>
/// <param name="Limit">Its concurrency limit at that moment (adaptive, within its advertised concurrency).</param>
[GenerateSerializer, Immutable, Alias("meshos.RoutingCandidateScore")]
public sealed record RoutingCandidateScore(
    [property: Id(0)] string AgentId,
    [property: Id(1)] string? Version,
    [property: Id(2)] double? Score,
    [property: Id(3)] double? SuccessRate,
    [property: Id(4)] double? LatencyMs,
    [property: Id(5)] double? CostPerJob,
    [property: Id(6)] long Attempts,
    [property: Id(7)] int InFlight,
    [property: Id(8)] int Limit);

/// <summary>
/// Learned routing statistics of one pool (key: the pool). Fed by <see cref="IRoutingLearnerGrain"/>; read by the
/// gateways' dispatchers (incrementally) and by operators.
/// </summary>
[Alias("meshos.IRoutingStatsGrain")]
public interface IRoutingStatsGrain : IGrainWithStringKey
{
    /// <summary>Counts the ends of attempts (of this pool), in log order; an event at or below the last position applied is skipped.</summary>
    [Alias("Apply")]
    Task ApplyAsync(ImmutableArray<MeshEvent> events);

    /// <summary>
    /// Entries of <paramref name="capability"/> changed after <paramref name="afterStamp"/>; everything when
    /// <paramref name="epoch"/> is not this activation's (the stamps of another activation mean nothing here).
    /// </summary>
    [Alias("GetChanges")]
    Task<RouteStatsChanges> GetChangesAsync(string capability, long epoch, long afterStamp);

    /// <summary>Everything learned about the pool's agents (optionally one agent) and versions.</summary>
    [Alias("Get")]
    Task<PoolRouteStats> GetAsync(string? agentId);
}

/// <summary>The event-log consumer (<c>routing</c>) that hands each pool's attempt ends to its <see cref="IRoutingStatsGrain"/>.</summary>
[Alias("meshos.IRoutingLearnerGrain")]
public interface IRoutingLearnerGrain : IMeshEventConsumer;
