using System.Collections.Immutable;

namespace MeshOs.Abstractions.Cluster;

/// <summary>A silo as the membership table sees it.</summary>
[GenerateSerializer, Immutable, Alias("meshos.SiloMember")]
public sealed record SiloMember(string Address, string Name, string Status, DateTimeOffset? StartedAt);

/// <summary>Fleet and job figures for /status, from directories and counters, never by activating every grain.</summary>
[GenerateSerializer, Immutable, Alias("meshos.MeshCounts")]
public sealed record MeshCounts(
    ImmutableDictionary<string, int> AgentsByState,
    ImmutableDictionary<string, long> JobsByStatus);

/// <summary>Cluster-wide read models for status pages. Stateless worker.</summary>
[Alias("meshos.IStatusGrain")]
public interface IStatusGrain : IGrainWithIntegerKey
{
    /// <summary>Silos in the membership table, dead ones included, newest first.</summary>
    [Alias("GetMembers")]
    Task<ImmutableArray<SiloMember>> GetMembersAsync();

    /// <summary>Agents by state and jobs by status.</summary>
    [Alias("GetCounts")]
    Task<MeshCounts> GetCountsAsync();

    /// <summary>Pings the durable store from a silo (readiness of silos and gateways alike).</summary>
    [Alias("CheckStorage")]
    Task<StorageHealth> CheckStorageAsync();
}

/// <summary>Whether the durable store answers, and how fast.</summary>
[GenerateSerializer, Immutable, Alias("meshos.StorageHealth")]
public sealed record StorageHealth(bool Reachable, string Mode, string Description, TimeSpan Latency);
