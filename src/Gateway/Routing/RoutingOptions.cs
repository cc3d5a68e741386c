using System.ComponentModel.DataAnnotations;

namespace MeshOs.Gateway.Routing;

/// <summary>
/// How the gateway's dispatcher chooses agents and sizes their concurrency (section <c>MeshOs:Routing</c>); each pool
/// may override any of it under <c>MeshOs:Routing:Pools:{pool}</c>. README "Adaptive routing".
/// </summary>
public sealed class RoutingOptions : PoolRoutingOptions
{
    public const string Section = "MeshOs:Routing";

    /// <summary>How often a dispatcher reads what changed in its pools' learned statistics. Default 2 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Seeds the policies' randomness (tests and benchmarks that must repeat); null: a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>Per-pool overrides; what a pool leaves unset comes from the defaults above.</summary>
    public Dictionary<string, PoolRoutingOptions> Pools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The settings in force for <paramref name="pool"/>.</summary>
    public PoolRouting For(string pool)
    {
        var o = Pools.GetValueOrDefault(pool);
        var preference = o?.Prefer ?? Prefer ?? RoutingPreference.Balanced;
        var weights = RoutingWeights.For(preference);
        weights = new RoutingWeights(
            o?.Weights?.Fast ?? Weights?.Fast ?? weights.Fast,
            o?.Weights?.Cheap ?? Weights?.Cheap ?? weights.Cheap,
            o?.Weights?.Reliable ?? Weights?.Reliable ?? weights.Reliable);
        var concurrency = new ConcurrencySettings(
            o?.AdaptiveConcurrency ?? AdaptiveConcurrency ?? true,
            o?.MinConcurrency ?? MinConcurrency ?? 1,
            o?.DecreaseFactor ?? DecreaseFactor ?? 0.75,
            o?.LatencyTarget ?? LatencyTarget);
        return new PoolRouting(
            o?.Policy ?? Policy ?? AdaptivePolicy.PolicyName,
            weights,
            o?.Candidates ?? Candidates ?? 16,
            o?.ExplorationShare ?? ExplorationShare ?? 0.05,
            o?.FailurePenalty ?? FailurePenalty ?? TimeSpan.FromSeconds(1),
            concurrency);
    }
}

/// <summary>What a pool may set (every value optional: unset falls back to <see cref="RoutingOptions"/>, then to the defaults).</summary>
public class PoolRoutingOptions
{
    /// <summary><c>adaptive</c> (default) or <c>round-robin</c>.</summary>
    public string? Policy { get; set; }

    /// <summary><c>Balanced</c> (default), <c>Fast</c>, <c>Cheap</c> or <c>Reliable</c>: preset weights.</summary>
    public RoutingPreference? Prefer { get; set; }

    /// <summary>Explicit weights (exponents, ≥ 0) overriding the preset's, each optional.</summary>
    public WeightOptions? Weights { get; set; }

    /// <summary>Candidates compared per job (2–64). Default 16.</summary>
    [Range(2, 64)]
    public int? Candidates { get; set; }

    /// <summary>Share of jobs sent to a random candidate (0–0.5), so every agent keeps being measured. Default 0.05.</summary>
    [Range(0.0, 0.5)]
    public double? ExplorationShare { get; set; }

    /// <summary>What one failed attempt is taken to cost in time (its retry). Default 1 s.</summary>
    public TimeSpan? FailurePenalty { get; set; }

    /// <summary>Whether agents' concurrency adapts (AIMD) to failures and the latency target. Default true.</summary>
    public bool? AdaptiveConcurrency { get; set; }

    /// <summary>The lowest adaptive limit (≥ 1). Default 1.</summary>
    [Range(1, 10_000)]
    public int? MinConcurrency { get; set; }

    /// <summary>What a failure (or a result over the latency target) multiplies an agent's limit by (0.1–0.99). Default 0.75.</summary>
    [Range(0.1, 0.99)]
    public double? DecreaseFactor { get; set; }

    /// <summary>A result slower than this (from delivery to report) counts against the agent's limit; unset: only failures do.</summary>
    public TimeSpan? LatencyTarget { get; set; }
}

public sealed class WeightOptions
{
    [Range(0.0, 10.0)]
    public double? Fast { get; set; }

    [Range(0.0, 10.0)]
    public double? Cheap { get; set; }

    [Range(0.0, 10.0)]
    public double? Reliable { get; set; }
}

/// <summary>A pool's routing settings in force.</summary>
public sealed record PoolRouting(string Policy, RoutingWeights Weights, int Candidates, double ExplorationShare, TimeSpan FailurePenalty, ConcurrencySettings Concurrency)
{
    /// <summary>The pool's policy, its randomness from <paramref name="random"/>.</summary>
    public IRoutingPolicy CreatePolicy(Random random) => Policy switch
    {
        RoundRobinPolicy.PolicyName => new RoundRobinPolicy(),
        _ => new AdaptivePolicy(Weights, Candidates, ExplorationShare, FailurePenalty, random),
    };
}

/// <summary>Refuses settings no pool could run with, naming the key.</summary>
public sealed class RoutingOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<RoutingOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var failures = new List<string>();
        if (options.RefreshInterval <= TimeSpan.Zero)
        {
            failures.Add($"{RoutingOptions.Section}:RefreshInterval must be positive.");
        }

        Check(RoutingOptions.Section, options, failures);
        foreach (var (pool, o) in options.Pools)
        {
            Check($"{RoutingOptions.Section}:Pools:{pool}", o, failures);
        }

        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string prefix, PoolRoutingOptions o, List<string> failures)
    {
        if (o.Policy is { } policy && policy is not (AdaptivePolicy.PolicyName or RoundRobinPolicy.PolicyName))
        {
            failures.Add($"{prefix}:Policy '{policy}' is not a policy; use '{AdaptivePolicy.PolicyName}' or '{RoundRobinPolicy.PolicyName}'.");
        }

        var results = new List<ValidationResult>();
        Validator.TryValidateObject(o, new ValidationContext(o), results, validateAllProperties: true);
        if (o.Weights is { } w)
        {
            Validator.TryValidateObject(w, new ValidationContext(w), results, validateAllProperties: true);
        }

        failures.AddRange(results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        if (o.FailurePenalty is { } penalty && penalty < TimeSpan.Zero)
        {
            failures.Add($"{prefix}:FailurePenalty must not be negative.");
        }

        if (o.LatencyTarget is { } target && target <= TimeSpan.Zero)
        {
            failures.Add($"{prefix}:LatencyTarget must be positive.");
        }
    }
}
