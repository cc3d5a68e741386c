using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Routing;
using MeshOs.Grains.Routing;

namespace MeshOs.Tests.Unit.Routing;

public sealed class RouteEstimatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 8, 0, 0, 0, TimeSpan.Zero);
    private static readonly RouteLearningSettings Settings = new(TimeSpan.FromMinutes(10), 0.1);

    [Fact]
    public void The_first_success_sets_the_latency_and_counts_one_success()
    {
        var stats = RouteEstimator.Observe(null, Ended("succeeded", 120), T0, 1, Settings)!;

        Assert.Equal(("a1", "llm", "1.0"), (stats.AgentId, stats.Capability, stats.Version));
        Assert.Equal((1.0, 0.0, 1L), (stats.Successes, stats.Failures, stats.Attempts));
        Assert.Equal(120.0, stats.LatencyMs, 9);
        Assert.Equal(0.0, stats.LatencyVarianceMs2, 9);
        Assert.Equal(2.0 / 3.0, stats.SuccessRate, 9);
        Assert.Equal(1L, stats.Stamp);
    }

    [Fact]
    public void Early_successes_are_a_plain_mean_then_the_newest_weighs_the_smoothing()
    {
        RouteStats? stats = null;
        foreach (var ms in new[] { 100.0, 200.0, 300.0 })
        {
            stats = RouteEstimator.Observe(stats, Ended("succeeded", ms), T0, 1, Settings);
        }

        Assert.Equal(200.0, stats!.LatencyMs, 9); // 1, 1/2, 1/3: the mean of the three
        for (var i = 0; i < 20; i++)
        {
            stats = RouteEstimator.Observe(stats, Ended("succeeded", 200), T0, 1, Settings);
        }

        var before = stats!.LatencyMs;
        stats = RouteEstimator.Observe(stats, Ended("succeeded", 1_200), T0, 1, Settings)!;
        Assert.Equal(before + 0.1 * (1_200 - before), stats.LatencyMs, 9); // past 1/smoothing samples, weight 0.1
        Assert.True(stats.TailLatencyMs > stats.LatencyMs);
    }

    [Theory]
    [InlineData("failed", false)]
    [InlineData("timed-out", false)]
    [InlineData("lease-lost", false)]
    [InlineData("succeeded", true)]
    public void Failures_timeouts_and_lost_leases_count_as_failures(string outcome, bool success)
    {
        var stats = RouteEstimator.Observe(null, Ended(outcome, 50), T0, 1, Settings)!;

        Assert.Equal(success ? (1.0, 0.0) : (0.0, 1.0), (stats.Successes, stats.Failures));
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("released")]
    public void Cancelled_and_released_attempts_say_nothing_about_the_agent(string outcome) =>
        Assert.Null(RouteEstimator.Observe(null, Ended(outcome, 50), T0, 1, Settings));

    [Fact]
    public void Counts_halve_after_one_half_life()
    {
        var stats = RouteEstimator.Observe(null, Ended("failed", 0), T0, 1, Settings)!;
        stats = RouteEstimator.Observe(stats, Ended("failed", 0), T0, 2, Settings)!;

        stats = RouteEstimator.Observe(stats, Ended("succeeded", 10), T0 + TimeSpan.FromMinutes(10), 3, Settings)!;

        Assert.Equal(1.0, stats.Failures, 9);
        Assert.Equal(1.0, stats.Successes, 9);
        Assert.Equal(3L, stats.Attempts); // attempts are a plain count
    }

    [Fact]
    public void A_new_version_starts_afresh()
    {
        var stats = RouteEstimator.Observe(null, Ended("failed", 0), T0, 1, Settings)!;

        stats = RouteEstimator.Observe(stats, Ended("succeeded", 80, version: "2.0"), T0, 2, Settings)!;

        Assert.Equal(("2.0", 1.0, 0.0, 1L), (stats.Version, stats.Successes, stats.Failures, stats.Attempts));
    }

    [Fact]
    public void Cost_per_job_is_the_reported_cost_exponentially_weighted()
    {
        var stats = RouteEstimator.Observe(null, Ended("succeeded", 10, cost: 0.5m), T0, 1, Settings)!;
        stats = RouteEstimator.Observe(stats, Ended("failed", 10, cost: 1.5m), T0, 2, Settings)!;

        Assert.Equal(0.5 + 0.1 * (1.5 - 0.5), stats.CostPerJob, 9);
    }

    [Fact]
    public void A_version_record_is_its_whole_history_undecayed()
    {
        VersionStats? v = null;
        v = RouteEstimator.ObserveVersion(v, Ended("succeeded", 100), T0);
        v = RouteEstimator.ObserveVersion(v, Ended("failed", 999), T0 + TimeSpan.FromHours(5));
        v = RouteEstimator.ObserveVersion(v, Ended("succeeded", 300), T0 + TimeSpan.FromHours(10));

        Assert.Equal((2.0, 1.0, 3L, 200.0), (v!.Successes, v.Failures, v.Attempts, v.LatencyMs));
        Assert.Null(RouteEstimator.ObserveVersion(null, Ended("succeeded", 1, version: null), T0));
    }

    internal static JobAttemptEnded Ended(string outcome, double runMs, string? version = "1.0", decimal cost = 0m, string agent = "a1") =>
        new(Guid.NewGuid(), "t1", "work", "platform", "llm", agent, 1, outcome, outcome == "succeeded" ? JobStatus.Succeeded : JobStatus.Pending,
            outcome == "succeeded", TimeSpan.Zero, TimeSpan.FromMilliseconds(runMs), new JobUsage(0, 0, cost), version);
}
