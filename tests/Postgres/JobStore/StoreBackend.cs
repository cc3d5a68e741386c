using MeshOs.Grains.Cost;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>One backend under contract test: a job store, an agent store and the event log their writes append to, and the cost store.</summary>
public sealed class StoreBackend(IJobStore jobs, IAgentStore agents, IEventLog events, Func<ValueTask>? dispose = null, ICostStore? cost = null,
    Grains.Kpi.IKpiStore? kpi = null) : IAsyncDisposable
{
    public Grains.Kpi.IKpiStore Kpi { get; } = kpi ?? new Grains.Kpi.InMemoryKpiStore();

    public ICostStore Cost { get; } = cost ?? new InMemoryCostStore();

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

/// <summary>
/// A contract suite of the stores (their XML docs), run against every backend: each backend derives from the suite and
/// says how to build a fresh, empty backend for each test.
/// </summary>
public abstract class StoreContract : IAsyncLifetime
{
    private StoreBackend? _backend;

    protected StoreBackend Backend => _backend ?? throw new InvalidOperationException("The backend is not created yet.");

    /// <summary>A new, empty backend for one test.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync();

    public async Task InitializeAsync() => _backend = await CreateBackendAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }
}
