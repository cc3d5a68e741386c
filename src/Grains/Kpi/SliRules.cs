using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>What a closed 5-minute window (or any run of minutes) added up to.</summary>
public sealed class WindowTally
{
    public long Minutes { get; set; }

    public long ObservedMinutes { get; set; }

    public long BadMinutes { get; set; }

    public long UnobservedMinutes { get; set; }

    public long ExcludedMinutes { get; set; }

    public long Requests { get; set; }

    public long Errors { get; set; }

    public long[] Submit { get; } = LatencySketch.Empty();
}

/// <summary>
/// The SLI rules (KPIS.md): when a minute is bad, when a 5-minute window meets every SLO, burn rates, the error budget.
/// Pure: no clock, no I/O.
/// </summary>
public static class SliRules
{
    /// <summary>
    /// A minute is bad when a readiness probe failed in it, or when more than <paramref name="errorShare"/> of its
    /// requests were answered 5xx/UNAVAILABLE. A minute with no request is good unless a probe failed.
    /// </summary>
    public static bool IsBad(long requests, long errors, bool probeFailed, double errorShare) =>
        probeFailed || (requests > 0 && errors > errorShare * requests);

    /// <summary>Whether a window is judged: it has data and is not wholly maintenance.</summary>
    public static bool IsJudged(WindowTally window) =>
        (window.ObservedMinutes > 0 || window.UnobservedMinutes > 0) && window.ExcludedMinutes < window.Minutes;

    /// <summary>
    /// A judged window meets every SLO when it has no bad or unobserved minute, its error rate is under the target (no
    /// request: met), and its submit latency P95 and P99 are under theirs (no submit: met).
    /// </summary>
    public static bool Meets(WindowTally window, KpiOptions options)
    {
        if (window.BadMinutes > 0 || window.UnobservedMinutes > 0)
        {
            return false;
        }

        if (window.Requests > 0 && (decimal)window.Errors / window.Requests >= options.ErrorRateTarget)
        {
            return false;
        }

        var submit = window.Submit.ToImmutableArray();
        return UnderTarget(LatencySketch.Quantile(submit, 0.95), options.SubmitP95TargetMs)
            && UnderTarget(LatencySketch.Quantile(submit, 0.99), options.SubmitP99TargetMs);
    }

    /// <summary>A quantile reported as a bucket's upper edge is under a target when the edge is at most the target.</summary>
    public static bool UnderTarget(double? quantileMs, decimal targetMs) => quantileMs is not { } q || q <= (double)targetMs;

    /// <summary>The burn rate: the error ratio over the budget's ratio (1 − target); null under <paramref name="minRequests"/> requests.</summary>
    public static double? BurnRate(long requests, long errors, decimal availabilityTarget, int minRequests)
    {
        if (requests < minRequests || availabilityTarget >= 100m)
        {
            return null;
        }

        return (double)errors / requests / (double)(1m - (availabilityTarget / 100m));
    }

    /// <summary>A fast burn: both the long and the short window at or above the rate (the SRE workbook's multi-window rule).</summary>
    public static bool IsFastBurn(double? shortWindow, double? longWindow, double rate) =>
        shortWindow is { } s && longWindow is { } l && s >= rate && l >= rate;

    /// <summary>The error budget in minutes: (1 − target) × valid minutes.</summary>
    public static decimal AllowedBadMinutes(decimal availabilityTarget, long validMinutes) => (1m - (availabilityTarget / 100m)) * validMinutes;

    /// <summary>What is left of the budget: 1 − bad ÷ allowed (negative once overspent); null when nothing is allowed.</summary>
    public static decimal? BudgetRemaining(decimal allowed, long bad) => allowed <= 0m ? null : Math.Round(1m - (bad / allowed), 6);
}
