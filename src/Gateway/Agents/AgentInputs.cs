using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Gateway.Agents;

/// <summary>Builds domain records from what agents send, with the caller's identity deciding the owner.</summary>
internal static class AgentInputs
{
    public static AgentRegistration Registration(string owner, string? agentId, string? pool, IEnumerable<string>? capabilities,
        int maxConcurrency, string? version, string? region, double costPerHour, string? runtime = null)
    {
        if (!double.IsFinite(costPerHour) || costPerHour < 0 || costPerHour > 1_000_000)
        {
            throw MeshException.Invalid("costPerHour: 0–1,000,000.");
        }

        if (!AgentIds.IsValid(agentId))
        {
            // Checked before the grain is addressed: an id that cannot exist must not activate (or load) anything.
            throw MeshException.Invalid("agentId: 1–128 of letters, digits and - _ . : /");
        }

        if (runtime is { Length: > 128 } || (runtime is not null && !runtime.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')))
        {
            throw MeshException.Invalid("runtimeId: at most 128 of letters, digits and - _ . :");
        }

        return new AgentRegistration(
            agentId,
            owner,
            string.IsNullOrEmpty(pool) ? (owner == "platform" ? "platform" : owner) : pool,
            capabilities?.ToImmutableArray() ?? [],
            maxConcurrency,
            version ?? string.Empty,
            region ?? string.Empty,
            (decimal)costPerHour,
            string.IsNullOrEmpty(runtime) ? null : runtime);
    }

    public static ImmutableArray<LeaseRef> Leases(IEnumerable<(string JobId, long Epoch)> leases)
    {
        var builder = ImmutableArray.CreateBuilder<LeaseRef>();
        foreach (var (jobId, epoch) in leases)
        {
            if (!Guid.TryParse(jobId, out var id))
            {
                throw MeshException.Invalid($"inFlight: '{Truncate(jobId)}' is not a job id.");
            }

            builder.Add(new LeaseRef(id, epoch));
        }

        if (builder.Count > 100_000)
        {
            throw MeshException.Invalid("inFlight: too many leases.");
        }

        return builder.ToImmutable();
    }

    public static ImmutableDictionary<string, double> Metrics(IEnumerable<KeyValuePair<string, double>>? metrics)
    {
        var dict = (metrics ?? []).ToImmutableDictionary(StringComparer.Ordinal);
        if (dict.Count > 64 || dict.Keys.Any(k => k.Length > 100) || dict.Values.Any(v => !double.IsFinite(v)))
        {
            throw MeshException.Invalid("metrics: at most 64 finite values with names of at most 100 characters.");
        }

        return dict;
    }

    public static double Load(double load) =>
        double.IsFinite(load) && load is >= 0 and <= 1_000 ? load : throw MeshException.Invalid("load: 0–1,000.");

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
