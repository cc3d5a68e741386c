using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cluster;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cluster;

/// <summary>
/// Reads fleet and job counts cheaply: agents from the directory shards (one call each), jobs from the store's
/// counters. Never activates agent or job grains.
/// </summary>
public sealed class MeshCountsReader(IGrainFactory grains, IJobStore jobs, IOptions<AgentOptions> agentOptions)
{
    public async Task<MeshCounts> ReadAsync()
    {
        var shards = Enumerable.Range(0, agentOptions.Value.DirectoryShards)
            .Select(shard => grains.GetGrain<IAgentDirectoryGrain>(shard).CountByStateAsync())
            .ToArray();
        var jobCounts = await jobs.CountByStatusAsync();
        var agentCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var state in Enum.GetValues<AgentState>())
        {
            agentCounts[state.ToString()] = 0;
        }

        foreach (var shard in await Task.WhenAll(shards))
        {
            foreach (var (state, count) in shard)
            {
                agentCounts[state.ToString()] += count;
            }
        }

        var jobsByStatus = Enum.GetValues<MeshOs.Abstractions.Jobs.JobStatus>()
            .ToImmutableDictionary(s => s.ToString(), s => jobCounts.GetValueOrDefault(s));
        return new MeshCounts(agentCounts.ToImmutableDictionary(), jobsByStatus);
    }
}
