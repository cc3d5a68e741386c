using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Cluster.Cost;

/// <summary>Jobs the cost tests run by hand: submitted, taken off the queue, leased and started on a named agent.</summary>
internal static class CostTestJobs
{
    /// <summary>Submits a job of <paramref name="tenant"/> and has <paramref name="agentId"/> lease and start it; returns it with its epoch.</summary>
    public static async Task<(IJobGrain Job, long Epoch)> StartAsync(IGrainFactory grains, string tenant, string pool, string capability, string agentId)
    {
        var job = grains.GetGrain<IJobGrain>(Guid.CreateVersion7());
        await job.SubmitAsync(tenant, new JobSpec("test", capability, pool, "{}", 5, TimeSpan.FromMinutes(1),
            new RetryPolicy(1, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 2), null), 100, 100);
        for (var shard = 0; shard < 2; shard++)
        {
            await grains.GetGrain<IQueueGrain>(new QueueKey(pool, capability, shard).ToString()).TakeAsync("test", 10, 0, TimeSpan.Zero);
        }

        var grant = await job.LeaseAsync(agentId, "1.0.0", TimeSpan.Zero);
        await job.StartAsync(agentId, grant!.Epoch);
        return (job, grant.Epoch);
    }
}
