using System.Globalization;
using MeshOs.Testing;
using Npgsql;

namespace MeshOs.Bench.Measurement;

/// <summary>
/// pg_stat_statements on the bench's private PostgreSQL: which statements the database spends its time on. Enabling it
/// needs the library preloaded, so the private server is restarted once before anything runs on it.
/// </summary>
public static class StatementStats
{
    public static async Task EnableAsync(PostgresServer server)
    {
        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", connection);
            await command.ExecuteNonQueryAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await server.StopAsync();
        await server.StartAsync();
    }

    public static async Task ResetAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
        await create.ExecuteNonQueryAsync();
        await using var reset = new NpgsqlCommand("SELECT pg_stat_statements_reset()", connection);
        await reset.ExecuteNonQueryAsync();
    }

    /// <summary>The statements of this database with the most total execution time, one line each.</summary>
    public static async Task<IReadOnlyList<string>> TopAsync(string database, int count = 12)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements " +
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT @n", connection);
        command.Parameters.AddWithValue("n", count);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            var query = reader.GetString(4);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{reader.GetInt64(0),9} calls {reader.GetDouble(1) / 1000,8:0.0} s total {reader.GetDouble(2),7:0.00} ms mean {reader.GetInt64(3),9} rows  {(query.Length > 160 ? query[..160] + "…" : query)}"));
        }

        return lines;
    }
}
