using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Tenants;

/// <summary>
/// What a revoked pool grant does to the agents that used it: each agent of the grantee registered in the pool is
/// drained (no new leases; it finishes what it holds, then goes Offline). New registrations are refused by the agent
/// grain's own check and new leases by the dispatchers' check, so an agent that connects meanwhile gets nothing either.
/// </summary>
internal static class PoolGrantRevocation
{
    private const int Page = 500;

    public static async Task<int> DrainAsync(IGrainFactory grains, int directoryShards, string grantee, string pool, string reason)
    {
        var filter = new AgentFilter(grantee, pool, null);
        var drained = 0;
        for (var shard = 0; shard < directoryShards; shard++)
        {
            var directory = grains.GetGrain<IAgentDirectoryGrain>(shard);
            string? after = null;
            while (true)
            {
                var page = await directory.ListMatchingAsync(filter, after, Page);
                await Task.WhenAll(page.Where(a => a.State != AgentState.Offline)
                    .Select(a => grains.GetGrain<IAgentGrain>(a.AgentId).DrainAsync(reason)));
                drained += page.Length;
                if (page.Length < Page)
                {
                    break;
                }

                after = page[^1].AgentId;
            }
        }

        return drained;
    }
}
