using MeshOs.Abstractions.Cost;

namespace MeshOs.AgentSdk;

/// <summary>What a job handler returns: success with a result, or failure with a reason; usage in both cases.</summary>
/// <param name="ResultJson">The result (JSON) of a successful job; empty on failure.</param>
/// <param name="Error">Why the job failed; empty on success.</param>
/// <param name="Retryable">Whether the mesh may run a failed job again (attempts permitting).</param>
/// <param name="TokensIn">Model tokens consumed, for cost and learning.</param>
/// <param name="TokensOut">Model tokens produced.</param>
/// <param name="Cost">What the run cost, in the operator's currency.</param>
/// <param name="Metered">Metered usage the mesh prices with its rate card (units such as tokens_in of a model, gpu_seconds; COST.md); at most 32 items.</param>
public sealed record JobOutcome(
    bool Succeeded,
    string ResultJson,
    string Error,
    bool Retryable,
    long TokensIn,
    long TokensOut,
    double Cost,
    IReadOnlyList<MeteredUsage>? Metered = null)
{
    /// <summary>This outcome with metered usage added.</summary>
    public JobOutcome WithMetered(params MeteredUsage[] items) => this with { Metered = [.. Metered ?? [], .. items] };

    public static JobOutcome Success(string resultJson, long tokensIn = 0, long tokensOut = 0, double cost = 0) =>
        new(true, resultJson, string.Empty, false, tokensIn, tokensOut, cost);

    public static JobOutcome Failure(string error, bool retryable, long tokensIn = 0, long tokensOut = 0, double cost = 0) =>
        new(false, string.Empty, error, retryable, tokensIn, tokensOut, cost);
}
