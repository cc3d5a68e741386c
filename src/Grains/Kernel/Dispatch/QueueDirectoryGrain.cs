using System.Collections.Immutable;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Dispatch;

/// <summary>The set of pool/capability queues that ever received a job. Called once per queue shard activation.</summary>
internal sealed class QueueDirectoryGrain(
    [PersistentState("queue-directory", MeshStorage.GrainStore)] IPersistentState<QueueDirectoryState> state,
    IOptions<DispatchOptions> options) : Grain, IQueueDirectoryGrain
{
    public async Task<int> RegisterAsync(string pool, string capability)
    {
        var name = new QueueName(pool, capability);
        if (!state.State.Queues.Contains(name))
        {
            state.State.Queues.Add(name);
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Queues.Remove(name); // not stored: the next registration tries again
                throw;
            }
        }

        return options.Value.ShardsPerQueue;
    }

    public Task<QueueTopology> ListAsync() =>
        Task.FromResult(new QueueTopology([.. state.State.Queues], options.Value.ShardsPerQueue));
}

[GenerateSerializer, Alias("meshos.QueueDirectoryState")]
public sealed class QueueDirectoryState
{
    [Id(0)] public List<QueueName> Queues { get; set; } = [];
}
