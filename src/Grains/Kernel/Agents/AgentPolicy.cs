using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Grains.Kernel.Tenants;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>What a valid agent registration is, and where an agent's directory entry lives.</summary>
public static class AgentPolicy
{
    public const int MaxConcurrencyLimit = 10_000;

    public static void Validate(AgentRegistration r)
    {
        Require(AgentIds.IsValid(r.AgentId), "agentId", "1–128 of letters, digits and - _ . : /");
        Require(r.Owner is { Length: > 0 }, "owner", "required.");
        Require(TenantPolicy.IsValidPoolName(r.Pool), "pool", "1–100 of a-z 0-9 - _ / .");
        Require(!r.Capabilities.IsDefaultOrEmpty && r.Capabilities.Length <= 64, "capabilities", "1–64.");
        foreach (var c in r.Capabilities)
        {
            Require(IsValidCapability(c), "capabilities", $"'{c}' is not a capability name (1–100 of a-z 0-9 - _ . /).");
        }

        Require(r.MaxConcurrency is >= 1 and <= MaxConcurrencyLimit, "maxConcurrency", $"1–{MaxConcurrencyLimit}.");
        Require(r.Version is { Length: <= 64 } && !r.Version.Any(char.IsControl), "version", "at most 64 characters, no control characters.");
        Require(r.Region is { Length: <= 64 } && !r.Region.Any(char.IsControl), "region", "at most 64 characters, no control characters.");
        Require(r.CostPerHour is >= 0 and <= 1_000_000, "costPerHour", "0–1,000,000.");
        ComplianceTags.Normalize("certifications", r.Certifications);
    }

    public static bool IsValidCapability(string? capability) =>
        capability is { Length: > 0 and <= 100 } && capability.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '/');

    /// <summary>The directory shard of an agent: a stable hash, the same on every silo and version.</summary>
    public static int DirectoryShard(string agentId, int shards) =>
        ShardHash.Bucket(agentId, shards);

    private static void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            throw MeshException.Invalid(field, problem);
        }
    }
}
