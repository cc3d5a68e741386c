using Npgsql;

namespace MeshOs.Bench.Measurement;

/// <summary>
/// Commits and WAL flushes of one database over a window, from pg_stat_database and pg_stat_wal. PostgreSQL
/// publishes these with a delay of up to about a second, which is small next to a window of tens of seconds.
/// </summary>
public sealed class PostgresCounters(string connectionString)
{
    private Sample? _start;

    public async Task StartAsync() => _start = await TakeAsync();

    public async Task<PostgresActivity> StopAsync()
    {
        var start = _start ?? throw new InvalidOperationException("PostgresCounters.StartAsync was not called.");
        var end = await TakeAsync();
        var seconds = (end.At - start.At).TotalSeconds;
        return new PostgresActivity(
            (end.Commits - start.Commits) / seconds,
            (end.Rollbacks - start.Rollbacks) / seconds,
            (end.WalSyncs - start.WalSyncs) / seconds,
            (end.WalBytes - start.WalBytes) / seconds / (1024 * 1024));
    }

    private async Task<Sample> TakeAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT d.xact_commit, d.xact_rollback, w.wal_sync, w.wal_bytes::bigint FROM pg_stat_database d, pg_stat_wal w " +
            "WHERE d.datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Sample(DateTime.UtcNow, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private sealed record Sample(DateTime At, long Commits, long Rollbacks, long WalSyncs, long WalBytes);
}

/// <summary>Per second over the window: commits and rollbacks of the database, WAL fsyncs and WAL MiB of the server.</summary>
public sealed record PostgresActivity(double CommitsPerSecond, double RollbacksPerSecond, double WalSyncsPerSecond, double WalMiBPerSecond);
