using System.Collections.Immutable;
using System.Diagnostics;
using MeshOs.Abstractions.Cluster;
using MeshOs.Grains.Storage;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace MeshOs.Grains.Cluster;

/// <summary>Answers status and readiness questions on whichever silo receives the call.</summary>
[StatelessWorker]
internal sealed class StatusGrain(
    IClusterMembershipService membership,
    IStorageProbe storage,
    MeshCountsReader counts) : Grain, IStatusGrain
{
    private static readonly TimeSpan StoragePingTimeout = TimeSpan.FromSeconds(3);

    public Task<ImmutableArray<SiloMember>> GetMembersAsync()
    {
        var members = membership.CurrentSnapshot.Members.Values
            .OrderByDescending(m => m.SiloAddress.Generation)
            .Select(m => new SiloMember(m.SiloAddress.ToParsableString(), m.Name, m.Status.ToString(), null))
            .ToImmutableArray();
        return Task.FromResult(members);
    }

    public Task<MeshCounts> GetCountsAsync() => counts.ReadAsync();

    public async Task<StorageHealth> CheckStorageAsync()
    {
        var watch = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(StoragePingTimeout);
        try
        {
            await storage.PingAsync(timeout.Token);
            return new StorageHealth(true, storage.Mode, storage.Describe(), watch.Elapsed);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new StorageHealth(false, storage.Mode, $"{storage.Describe()}: {ex.GetBaseException().Message}", watch.Elapsed);
        }
    }
}
