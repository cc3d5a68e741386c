using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Events;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost supervisor's consumer of the event log (<see cref="ICostRouterGrain"/>): stateless; each batch is split by
/// the shard of its agent (<see cref="CostShards.Of"/>) and every shard's part is applied in parallel. It answers (and
/// the pump advances its cursor) only once every shard has committed its part.
/// </summary>
internal sealed class CostRouterGrain(IOptions<CostOptions> options) : Grain, ICostRouterGrain
{
    public Task OnEventsAsync(ImmutableArray<MeshEvent> events)
    {
        var parts = new Dictionary<string, ImmutableArray<MeshEvent>.Builder>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var (pool, agent) = e.Payload switch
            {
                AgentStateChanged a => (a.Pool, a.AgentId),
                JobAttemptEnded { AgentId: { } id } j => (j.Pool, id),
                _ => (null, null),
            };
            if (pool is null || agent is null)
            {
                continue;
            }

            var shard = CostShards.Of(pool, agent, options.Value.ShardsPerPool);
            if (!parts.TryGetValue(shard, out var part))
            {
                parts[shard] = part = ImmutableArray.CreateBuilder<MeshEvent>();
            }

            part.Add(e);
        }

        return Task.WhenAll(parts.Select(p => GrainFactory.GetGrain<ICostShardGrain>(p.Key).ApplyAsync(p.Value.ToImmutable())));
    }
}

/// <summary>Where an agent's cost is kept: the shard <c>{pool}#{n}</c>.</summary>
public static class CostShards
{
    public static string Of(string pool, string agentId, int shardsPerPool) => $"{pool}#{ShardHash.Bucket(agentId, shardsPerPool)}";
}
