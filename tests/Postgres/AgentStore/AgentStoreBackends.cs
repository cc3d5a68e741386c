using MeshOs.Testing;
using MeshOs.Tests.Postgres.JobStore;

namespace MeshOs.Tests.Postgres.AgentStore;

/// <summary>The agent store contract on the embedded mode's in-memory store.</summary>
public sealed class InMemoryAgentStoreTests : AgentStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult(StoreBackend.InMemory());
}

/// <summary>The agent store contract on PostgreSQL: a fresh database per test, built the way a silo builds it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresAgentStoreTests(PostgresFixture postgres) : AgentStoreContract
{
    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.StartAsync(await postgres.CreateDatabaseAsync());
}
