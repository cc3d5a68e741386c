using MeshOs.Testing;
using MeshOs.Tests.Cli.Support;
using Npgsql;

namespace MeshOs.Tests.Cli.EndToEnd;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

/// <summary>backup and restore: pg_dump, pg_restore and psql run by meshctl against a private PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class BackupCommandTests(PostgresFixture postgres) : IDisposable
{
    private readonly Meshctl _cli = new();

    [Fact]
    public async Task A_custom_format_backup_restored_with_clean_brings_back_the_rows_as_they_were()
    {
        var database = await postgres.CreateDatabaseAsync();
        await ExecuteAsync(database, "CREATE TABLE jobs (id int PRIMARY KEY, status text); INSERT INTO jobs VALUES (1, 'Succeeded'), (2, 'Pending');");
        var file = Path.Combine(_cli.Home, "meshos.dump");

        var backup = await _cli.RunAsync("backup", "--connection", database, "--file", file);
        await ExecuteAsync(database, "DELETE FROM jobs WHERE id = 1; UPDATE jobs SET status = 'Cancelled'; INSERT INTO jobs VALUES (3, 'Failed');");
        var restore = await _cli.RunAsync("restore", "--connection", database, "--file", file, "--clean");

        Assert.True(backup.ExitCode == 0, backup.ToString());
        Assert.StartsWith($"Backed up to {file} (", backup.Error, StringComparison.Ordinal);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(["1 Succeeded", "2 Pending"], await RowsAsync(database));
    }

    [Fact]
    public async Task A_plain_sql_backup_restores_into_an_empty_database_with_psql()
    {
        var source = await postgres.CreateDatabaseAsync();
        var target = await postgres.CreateDatabaseAsync();
        await ExecuteAsync(source, "CREATE TABLE jobs (id int PRIMARY KEY, status text); INSERT INTO jobs VALUES (7, 'Running');");
        var file = Path.Combine(_cli.Home, "meshos.sql");

        var backup = await _cli.RunAsync("backup", "--connection", source, "--file", file, "--format", "plain");
        var restore = await _cli.RunAsync("restore", "--connection", target, "--file", file);

        Assert.True(backup.ExitCode == 0, backup.ToString());
        Assert.StartsWith("--", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(["7 Running"], await RowsAsync(target));
    }

    [Fact]
    public async Task A_database_that_does_not_exist_is_exit_code_5_and_no_connection_string_is_exit_code_1()
    {
        var missing = new NpgsqlConnectionStringBuilder(postgres.Server.ConnectionString) { Database = "no_such_db_" + Guid.NewGuid().ToString("N")[..8] };

        var failed = await _cli.RunAsync("backup", "--connection", missing.ConnectionString, "--file", Path.Combine(_cli.Home, "x.dump"));
        var usage = await _cli.RunAsync("backup");

        Assert.True(failed.ExitCode == 5, failed.ToString());
        Assert.Contains("pg_dump failed (exit code 1)", failed.Error, StringComparison.Ordinal);
        Assert.True(usage.ExitCode == 1, usage.ToString());
        Assert.Equal("error: --connection (or MESHCTL_DATABASE) is required: the MeshOs database's connection string.", usage.Error.Trim());
    }

    public void Dispose() => _cli.Dispose();

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> RowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, status FROM jobs ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add($"{reader.GetInt32(0)} {reader.GetString(1)}");
        }

        return rows;
    }
}
