using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>One backend under contract test: a job store, an agent store and the event log their writes append to.</summary>
public sealed class StoreBackend(IJobStore jobs, IAgentStore agents, IEventLog events, Func<ValueTask>? dispose = null) : IAsyncDisposable
{
    public IJobStore Jobs { get; } = jobs;

    public IAgentStore Agents { get; } = agents;

    public IEventLog Events { get; } = events;

    /// <summary>The embedded mode's backend: all in process memory.</summary>
    public static StoreBackend InMemory()
    {
        var events = new InMemoryEventLog(TimeProvider.System);
        return new StoreBackend(new InMemoryJobStore(events), new InMemoryAgentStore(events), events);
    }

    public ValueTask DisposeAsync() => dispose?.Invoke() ?? ValueTask.CompletedTask;
}
