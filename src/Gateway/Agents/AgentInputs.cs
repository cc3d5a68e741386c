using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Gateway.Agents;

/// <summary>An agent's registration as both transports carry it.</summary>
public sealed record RegisterInput(
    string? AgentId,
    string? Pool,
    IEnumerable<string>? Capabilities,
    int MaxConcurrency,
    string? Version,
    string? Region,
    double CostPerHour,
    string? RuntimeId,
    IEnumerable<string>? Certifications = null);

/// <summary>Builds domain records from what agents send, with the caller's identity deciding the owner.</summary>
internal static class AgentInputs
{
    /// <summary>Largest cost one attempt may report (as the job store keeps it).</summary>
    private const double MaxCost = 1_000_000_000_000;

    public static AgentRegistration Registration(string owner, RegisterInput input)
    {
        if (!double.IsFinite(input.CostPerHour) || input.CostPerHour < 0 || input.CostPerHour > 1_000_000)
        {
            throw MeshException.Invalid("costPerHour", "0–1,000,000.");
        }

        if (!AgentIds.IsValid(input.AgentId))
        {
            // Checked before the grain is addressed: an id that cannot exist must not activate (or load) anything.
            throw MeshException.Invalid("agentId", "1–128 of letters, digits and - _ . : /");
        }

        var runtime = input.RuntimeId;
        if (runtime is { Length: > 128 } || (runtime is not null && !runtime.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')))
        {
            throw MeshException.Invalid("runtimeId", "at most 128 of letters, digits and - _ . :");
        }

        return new AgentRegistration(
            input.AgentId,
            owner,
            string.IsNullOrEmpty(input.Pool) ? (owner == AgentPools.PlatformOwner ? AgentPools.Platform : owner) : input.Pool,
            input.Capabilities?.ToImmutableArray() ?? [],
            input.MaxConcurrency,
            input.Version ?? string.Empty,
            input.Region ?? string.Empty,
            (decimal)input.CostPerHour,
            string.IsNullOrEmpty(runtime) ? null : runtime,
            ComplianceTags.Normalize("certifications", input.Certifications));
    }

    /// <summary>Leases named on the wire by job id text and epoch.</summary>
    public static ImmutableArray<LeaseRef> Leases(IEnumerable<(string JobId, long Epoch)> leases)
    {
        var builder = ImmutableArray.CreateBuilder<LeaseRef>();
        foreach (var (jobId, epoch) in leases)
        {
            if (!Guid.TryParse(jobId, out var id))
            {
                throw MeshException.Invalid("inFlight", $"'{Truncate(jobId)}' is not a job id.");
            }

            builder.Add(new LeaseRef(id, epoch));
        }

        return builder.ToImmutable();
    }

    /// <summary>One attempt's result as an agent reports it; usage must be non-negative and finite.</summary>
    /// <param name="error">For a failure: why (empty: "failed"); more than 10,000 characters are cut.</param>
    /// <param name="metered">Metered usage (COST.md): at most 32 items, unit names, non-negative quantities.</param>
    public static JobResult Result(bool succeeded, string? resultJson, string? error, bool retryable, long tokensIn, long tokensOut, double cost,
        IReadOnlyList<MeteredUsage>? metered = null)
    {
        if (metered is not null)
        {
            MeteredUsage.Validate(metered, "metered");
        }

        if (tokensIn < 0 || tokensOut < 0 || !double.IsFinite(cost) || cost is < 0 or > MaxCost)
        {
            throw MeshException.Invalid("usage", "tokens and cost must be non-negative (cost at most 1,000,000,000,000).");
        }

        return new JobResult(
            succeeded,
            succeeded ? (string.IsNullOrEmpty(resultJson) ? null : resultJson) : null,
            succeeded ? null : (string.IsNullOrEmpty(error) ? "failed" : error),
            !succeeded && retryable,
            new JobUsage(tokensIn, tokensOut, (decimal)cost, metered is { Count: > 0 } ? [.. metered] : null));
    }

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
