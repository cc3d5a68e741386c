using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using Orleans.Concurrency;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>Reads over the job store on whichever silo takes the call.</summary>
[StatelessWorker]
internal sealed class JobQueryGrain(IJobStore store) : Grain, IJobQueryGrain
{
    public async Task<JobPage> ListAsync(JobQuery query)
    {
        try
        {
            return await store.ListAsync(query);
        }
        catch (Exception ex) when (ex is not MeshException)
        {
            throw MeshException.Unavailable("The job store is unavailable. Retry later. (" + ex.GetBaseException().Message + ")");
        }
    }

    public Task<ImmutableDictionary<JobStatus, long>> CountByStatusAsync() => store.CountByStatusAsync();

    public Task<ImmutableArray<LeaseRef>> ListLeasedByAsync(string agentId) => store.ListLeasedByAgentAsync(agentId);
}
