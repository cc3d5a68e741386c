using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Grains.Kernel.Tenants;

/// <summary>What a valid tenant configuration is.</summary>
public static class TenantPolicy
{
    /// <summary>The shared pool served by platform-owned agents.</summary>
    public const string PlatformPool = AgentPools.Platform;

    /// <summary>The owner name of platform agents.</summary>
    public const string PlatformOwner = AgentPools.PlatformOwner;

    public const int MaxPayloadBytesLimit = 4 * 1024 * 1024;

    /// <summary>Throws InvalidArgument naming the first thing wrong with <paramref name="spec"/>.</summary>
    public static void Validate(TenantSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.Name) || spec.Name.Length > 200)
        {
            throw MeshException.Invalid("name", "1–200 characters.");
        }

        if (!Enum.IsDefined(spec.Kind))
        {
            throw MeshException.Invalid("kind", "customer or partner.");
        }

        var q = spec.Quotas ?? throw MeshException.Invalid("quotas", "required.");
        Require(q.MaxConcurrentJobs is >= 1 and <= 1_000_000, "quotas.maxConcurrentJobs: 1–1,000,000.");
        Require(q.SubmitsPerSecond is >= 0.1 and <= 1_000_000, "quotas.submitsPerSecond: 0.1–1,000,000.");
        Require(q.SubmitBurst is >= 1 and <= 10_000_000, "quotas.submitBurst: 1–10,000,000.");
        Require(q.MaxPayloadBytes is >= 2 and <= MaxPayloadBytesLimit, $"quotas.maxPayloadBytes: 2–{MaxPayloadBytesLimit}.");
        Require(q.MaxQueuedJobs is >= 1 and <= 10_000_000, "quotas.maxQueuedJobs: 1–10,000,000.");

        if (spec.Pools.IsDefault || spec.Pools.Length > 100)
        {
            throw MeshException.Invalid("pools", "at most 100.");
        }

        foreach (var pool in spec.Pools)
        {
            Require(IsValidPoolName(pool), $"pools: '{pool}' is not a pool name (1–100 of a-z 0-9 - _ / .).");
        }

        ComplianceTags.Normalize("allowedRegions", spec.AllowedRegions);
        ComplianceTags.Normalize("allowedDataClasses", spec.AllowedDataClasses);
    }

    /// <summary>Pool names: lowercase letters, digits and - _ / . ; 1–100 characters.</summary>
    public static bool IsValidPoolName(string? pool) => PoolAccess.IsValidPoolName(pool);

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw MeshException.Invalid(message);
        }
    }
}
