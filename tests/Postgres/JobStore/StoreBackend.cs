using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>One backend under contract test: a job store and the event log its updates append to.</summary>
public sealed class StoreBackend(IJobStore jobs, IEventLog events, Func<ValueTask>? dispose = null) : IAsyncDisposable
{
    public IJobStore Jobs { get; } = jobs;

    public IEventLog Events { get; } = events;

    /// <summary>The embedded mode's backend: both in process memory.</summary>
    public static StoreBackend InMemory()
    {
        var events = new InMemoryEventLog(TimeProvider.System);
        return new StoreBackend(new InMemoryJobStore(events), events);
    }

    public ValueTask DisposeAsync() => dispose?.Invoke() ?? ValueTask.CompletedTask;
}
