using MeshOs.Testing;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>The job store contract on PostgreSQL: a fresh database per test, built the way a silo builds it.</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PostgresJobStoreTests(PostgresFixture postgres) : JobStoreContract
{
    private string? _database;

    private string Database => _database ?? throw new InvalidOperationException("The database is not created yet.");

    protected override async Task<StoreBackend> CreateBackendAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        return await PostgresBackend.StartAsync(_database);
    }
}

/// <summary>The event log contract on PostgreSQL: a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PostgresEventLogTests(PostgresFixture postgres) : EventLogContract
{
    private string? _database;

    private string Database => _database ?? throw new InvalidOperationException("The database is not created yet.");

    protected override async Task<StoreBackend> CreateBackendAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        return await PostgresBackend.StartAsync(_database);
    }
}
