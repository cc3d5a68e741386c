using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Routing;
using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Grains.Routing;

/// <summary>
/// How one attempt's end changes what is learned about its agent (pure). Success and failure counts decay with a
/// half-life, so an agent that was flaky an hour ago is judged by what it does now; run times are exponentially
/// weighted (the first few samples weigh 1/n, so the first sample is the estimate).
/// </summary>
public static class RouteEstimator
{
    /// <summary>Whether the attempt counts, and as what: true success, false failure, null neither (cancelled, released).</summary>
    public static bool? Counts(string outcome) => outcome switch
    {
        AttemptOutcome.Succeeded => true,
        AttemptOutcome.Failed or AttemptOutcome.TimedOut or AttemptOutcome.LeaseLost => false,
        _ => null,
    };

    /// <summary>Multiplier for counts last updated at <paramref name="from"/>, seen at <paramref name="to"/>.</summary>
    public static double Decay(DateTimeOffset from, DateTimeOffset to, TimeSpan halfLife) =>
        to <= from || halfLife <= TimeSpan.Zero ? 1.0 : Math.Pow(0.5, (to - from) / halfLife);

    /// <summary>
    /// The entry after <paramref name="ended"/>; <paramref name="current"/> null for an agent not seen yet. A new
    /// software version starts afresh. Returns null when the attempt does not count.
    /// </summary>
    public static RouteStats? Observe(RouteStats? current, JobAttemptEnded ended, DateTimeOffset at, long stamp, RouteLearningSettings settings)
    {
        if (ended.AgentId is null || Counts(ended.Outcome) is not { } succeeded)
        {
            return null;
        }

        if (current is not null && ended.AgentVersion is not null && current.Version is not null && current.Version != ended.AgentVersion)
        {
            current = null;
        }

        var decay = current is null ? 1.0 : Decay(current.UpdatedAt, at, settings.HalfLife);
        var successes = (current?.Successes ?? 0) * decay + (succeeded ? 1 : 0);
        var failures = (current?.Failures ?? 0) * decay + (succeeded ? 0 : 1);
        var attempts = (current?.Attempts ?? 0) + 1;
        var latency = current?.LatencyMs ?? 0;
        var variance = current?.LatencyVarianceMs2 ?? 0;
        if (succeeded)
        {
            // The n-th success weighs 1/n until 1/n falls below the smoothing weight.
            var timed = Math.Max(1, Math.Round(current is null ? 1 : Math.Min(current.Successes + 1, 1 / settings.Smoothing + 1)));
            var weight = Math.Max(settings.Smoothing, 1 / timed);
            var diff = ended.RunTime.TotalMilliseconds - latency;
            var increment = weight * diff;
            latency += increment;
            variance = (1 - weight) * (variance + diff * increment);
        }

        var cost = (double)ended.Usage.Cost;
        var costPerJob = current is null ? cost : current.CostPerJob + settings.Smoothing * (cost - current.CostPerJob);
        return new RouteStats(ended.AgentId, ended.Capability, ended.AgentVersion ?? current?.Version, successes, failures,
            latency, variance, costPerJob, attempts, at, stamp);
    }

    /// <summary>The per-version aggregate after <paramref name="ended"/> (not decayed: a release's record is its whole history).</summary>
    public static VersionStats? ObserveVersion(VersionStats? current, JobAttemptEnded ended, DateTimeOffset at)
    {
        if (ended.AgentVersion is null || Counts(ended.Outcome) is not { } succeeded)
        {
            return null;
        }

        var successes = (current?.Successes ?? 0) + (succeeded ? 1 : 0);
        var failures = (current?.Failures ?? 0) + (succeeded ? 0 : 1);
        var latency = current?.LatencyMs ?? 0;
        if (succeeded)
        {
            latency += (ended.RunTime.TotalMilliseconds - latency) / successes; // the plain mean of successful run times
        }

        return new VersionStats(ended.Capability, ended.AgentVersion, successes, failures, latency, (current?.Attempts ?? 0) + 1, at);
    }
}

/// <param name="HalfLife">After this long, what an agent did counts half.</param>
/// <param name="Smoothing">Weight of the newest run time in the exponentially weighted mean (0–1).</param>
public readonly record struct RouteLearningSettings(TimeSpan HalfLife, double Smoothing);
