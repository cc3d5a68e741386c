using MeshOs.AgentSdk;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSim;

/// <summary>Checks <see cref="SimulationOptions"/>, and each agent's settings with the SDK's own validator.</summary>
public sealed class SimulationOptionsValidator : IValidateOptions<SimulationOptions>
{
    public const int MaxAgents = 100_000;

    public ValidateOptionsResult Validate(string? name, SimulationOptions options)
    {
        var failures = new List<string>();
        if (options.Count is < 0 or > MaxAgents)
        {
            failures.Add($"Count: 0–{MaxAgents}.");
        }

        if (options.LatencyMs < 0 || options.LatencyJitterMs < 0)
        {
            failures.Add("LatencyMs, LatencyJitterMs: must not be negative.");
        }

        if (options.FailureRate is not (>= 0 and <= 1) || options.CrashRate is not (>= 0 and <= 1))
        {
            failures.Add("FailureRate, CrashRate: probabilities, 0–1.");
        }

        if (options.RestartDelay < TimeSpan.Zero)
        {
            failures.Add("RestartDelay: must not be negative.");
        }

        if (options.StatsInterval <= TimeSpan.Zero)
        {
            failures.Add("StatsInterval: must be positive.");
        }

        if (options.CostPerMillionTokens < 0)
        {
            failures.Add("CostPerMillionTokens: must not be negative.");
        }

        // The last id is the longest: if it is valid, all are.
        var agent = new MeshAgentOptionsValidator().Validate(name, SimulatedFleet.AgentOptions(options, SimulatedFleet.AgentIdOf(options, Math.Max(1, options.Count))));
        if (agent.Failed)
        {
            failures.AddRange(agent.Failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem of <paramref name="options"/>.</summary>
    public static void ThrowIfInvalid(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new SimulationOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(SimulationOptions), result.Failures);
        }
    }
}
