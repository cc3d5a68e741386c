using MeshOs.Testing;
using Npgsql;

namespace MeshOs.Tests.Postgres;

/// <summary>The test server itself: fresh databases, and restarts that keep data and port.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Creates_named_and_unnamed_databases()
    {
        var name = "named_" + Guid.NewGuid().ToString("N")[..8];

        var named = await postgres.CreateDatabaseAsync(name);
        var unnamed = await postgres.CreateDatabaseAsync();

        Assert.Equal(name, await Db.ScalarAsync<string>(named, "SELECT current_database()"));
        Assert.StartsWith("t_", await Db.ScalarAsync<string>(unnamed, "SELECT current_database()"), StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => postgres.CreateDatabaseAsync("Bad-Name"));
    }

    [Fact]
    public async Task A_restart_keeps_the_data_and_the_port()
    {
        var server = postgres.Server;
        if (server.IsExternal)
        {
            // A server named by MESHOS_TEST_POSTGRES belongs to someone else.
            await Assert.ThrowsAsync<NotSupportedException>(() => server.StopAsync());
            return;
        }

        var database = await server.CreateDatabaseAsync();
        await Db.ExecuteAsync(database, "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (42);");
        Assert.Equal("300", await Db.ScalarAsync<string>(database, "SHOW max_connections"));
        var port = server.Port;

        await server.StopAsync();
        Assert.False(server.IsRunning);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Db.ScalarAsync<int>(database, "SELECT 1"));

        await server.StartAsync();
        Assert.True(server.IsRunning);
        Assert.Equal(port, server.Port);
        Assert.Equal(42, await Db.ScalarAsync<int>(database, "SELECT id FROM kept"));
    }
}
