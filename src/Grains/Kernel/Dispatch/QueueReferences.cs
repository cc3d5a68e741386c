using System.Collections.Concurrent;
using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Grains.Kernel.Dispatch;

/// <summary>
/// References to queue shards, built once per shard for the silo. Building one (formatting the key, resolving the
/// grain type, hashing) cost about 3 % of the silo's CPU when every new job grain did it.
/// </summary>
public sealed class QueueReferences(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<QueueKey, IQueueGrain> _cache = new();

    public IQueueGrain Get(string pool, string capability, int shard) =>
        _cache.GetOrAdd(new QueueKey(pool, capability, shard), static (key, grains) => grains.GetGrain<IQueueGrain>(key.ToString()), grains);
}
