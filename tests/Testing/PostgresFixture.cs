using Xunit;

namespace MeshOs.Testing;

/// <summary>
/// One <see cref="PostgresServer"/> shared by the tests of a collection. A test project declares the
/// collection itself (xunit looks for collection definitions in the test assembly):
/// <code>
/// [CollectionDefinition(Name)]
/// public sealed class PostgresCollection : ICollectionFixture&lt;PostgresFixture&gt; { public const string Name = "postgres"; }
/// </code>
/// and each test asks <see cref="CreateDatabaseAsync"/> for a database of its own.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    /// <summary>The server; available once xunit has initialized the fixture.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL fixture is not initialized.");

    /// <summary>Creates a fresh empty database on the shared server and returns its connection string.</summary>
    public Task<string> CreateDatabaseAsync(string? name = null) => Server.CreateDatabaseAsync(name);

    /// <inheritdoc />
    public async Task InitializeAsync() => _server = await PostgresServer.CreateAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
