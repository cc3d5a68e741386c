using MeshOs.Gateway.Routing;

namespace MeshOs.Tests.Unit.Routing;

public sealed class RoutingOptionsTests
{
    [Fact]
    public void Defaults_are_adaptive_balanced_with_aimd_and_no_latency_target()
    {
        var settings = new RoutingOptions().For("platform");

        Assert.Equal(AdaptivePolicy.PolicyName, settings.Policy);
        Assert.Equal(new RoutingWeights(1, 1, 1), settings.Weights);
        Assert.Equal((16, 0.05, TimeSpan.FromSeconds(1)), (settings.Candidates, settings.ExplorationShare, settings.FailurePenalty));
        Assert.Equal(new ConcurrencySettings(true, 1, 0.75, null), settings.Concurrency);
        Assert.IsType<AdaptivePolicy>(settings.CreatePolicy(new Random(1)));
    }

    [Fact]
    public void A_pool_overrides_what_it_sets_and_inherits_the_rest()
    {
        var options = new RoutingOptions
        {
            Prefer = RoutingPreference.Cheap,
            Candidates = 8,
            LatencyTarget = TimeSpan.FromSeconds(2),
            Pools =
            {
                ["gpu"] = new PoolRoutingOptions { Prefer = RoutingPreference.Fast, Weights = new WeightOptions { Reliable = 3 } },
                ["legacy"] = new PoolRoutingOptions { Policy = RoundRobinPolicy.PolicyName, AdaptiveConcurrency = false },
            },
        };

        var gpu = options.For("gpu");
        Assert.Equal(new RoutingWeights(2, 0.25, 3), gpu.Weights);
        Assert.Equal(8, gpu.Candidates);
        Assert.Equal(TimeSpan.FromSeconds(2), gpu.Concurrency.LatencyTarget);
        Assert.Equal(new RoutingWeights(0.5, 2, 1), options.For("other").Weights);
        var legacy = options.For("legacy");
        Assert.IsType<RoundRobinPolicy>(legacy.CreatePolicy(new Random(1)));
        Assert.False(legacy.Concurrency.Enabled);
    }

    [Fact]
    public void Bad_settings_are_refused_naming_the_key()
    {
        var options = new RoutingOptions
        {
            Policy = "fastest",
            ExplorationShare = 0.9,
            Pools = { ["gpu"] = new PoolRoutingOptions { DecreaseFactor = 1.5, LatencyTarget = TimeSpan.Zero } },
        };

        var result = new RoutingOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("MeshOs:Routing:Policy 'fastest' is not a policy", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("MeshOs:Routing:ExplorationShare:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("MeshOs:Routing:Pools:gpu:DecreaseFactor:", StringComparison.Ordinal));
        Assert.Contains("MeshOs:Routing:Pools:gpu:LatencyTarget must be positive.", failures);
        Assert.Equal(4, failures.Count);
        Assert.True(new RoutingOptionsValidator().Validate(null, new RoutingOptions()).Succeeded);
    }
}
