namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>The job store contract on the embedded mode's in-memory store.</summary>
public sealed class InMemoryJobStoreTests : JobStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult(StoreBackend.InMemory());
}

/// <summary>The event log contract on the embedded mode's in-memory log.</summary>
public sealed class InMemoryEventLogTests : EventLogContract
{
    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult(StoreBackend.InMemory());
}
