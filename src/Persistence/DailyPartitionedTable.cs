using MeshOs.Grains.Storage;
using Npgsql;

namespace MeshOs.Persistence;

/// <summary>
/// A table kept in daily partitions by a time column (the event log, the job table): days are made ahead by the
/// table's <c>{table}_ensure_partition(day)</c> function, which also moves the rows that landed in <c>{table}_default</c>
/// for want of their day; retention drops whole days. Both take the table's advisory lock (the same key the SQL function
/// takes), so one partition change runs at a time across silos, and wait at most <see cref="LockTimeout"/> for the
/// table's locks: a drop queues writers behind it, so it gives up behind a long reader and the next pass tries again.
/// </summary>
/// <param name="Table">The partitioned table, e.g. <c>meshos_events</c>.</param>
/// <param name="TimeColumn">The column it is partitioned by, e.g. <c>at</c>.</param>
/// <param name="LockKey">The transaction-level advisory lock of its partition changes.</param>
internal sealed record DailyPartitionedTable(string Table, string TimeColumn, long LockKey, TimePartitioning Days)
{
    private const string LockTimeout = "2s";

    /// <summary>
    /// Makes the partitions of <paramref name="days"/> and of every day a row in the default partition belongs to;
    /// returns the days it made (one transaction each).
    /// </summary>
    public async Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(NpgsqlConnection conn, IReadOnlyList<DateOnly> days, CancellationToken cancellationToken)
    {
        var wanted = new SortedSet<DateOnly>(days);
        await using (var stray = new NpgsqlCommand($"SELECT DISTINCT ({TimeColumn} AT TIME ZONE 'UTC')::date FROM {Table}_default", conn))
        await using (var reader = await stray.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                wanted.Add(reader.GetFieldValue<DateOnly>(0));
            }
        }

        wanted.ExceptWith(await PostgresPartitions.ListAsync(conn, Table, Days, cancellationToken));
        var made = new List<DateOnly>();
        foreach (var day in wanted)
        {
            await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
            await SetLockTimeoutAsync(conn, transaction, cancellationToken);
            await using var ensure = new NpgsqlCommand($"SELECT {Table}_ensure_partition($1)", conn, transaction);
            ensure.Parameters.Add(new NpgsqlParameter { Value = day });
            if ((bool)(await ensure.ExecuteScalarAsync(cancellationToken))!)
            {
                made.Add(day);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return made;
    }

    /// <summary>
    /// One transaction: takes the partition lock, has <paramref name="judge"/> judge each day past the cutoff, and drops
    /// those it lets go. Before dropping it locks the table and those partitions (the table first, as writers do) and
    /// judges them again, so a row written meanwhile into such a day (a writer's clock far behind) holds its day back.
    /// <paramref name="beforeDrop"/> runs in the transaction just before the drop (to forget what the days held).
    /// </summary>
    public async Task<PartitionPruneResult> PruneAsync(NpgsqlConnection conn, DateTimeOffset cutoff,
        Func<NpgsqlTransaction, List<DateOnly>, Task<List<(DateOnly Day, PartitionVerdict Verdict)>>> judge,
        Func<NpgsqlTransaction, List<DateOnly>, Task>? beforeDrop, CancellationToken cancellationToken)
    {
        await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
        await using (var serialize = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey})", conn, transaction))
        {
            await serialize.ExecuteNonQueryAsync(cancellationToken);
        }

        await SetLockTimeoutAsync(conn, transaction, cancellationToken);
        var past = (await PostgresPartitions.ListAsync(conn, Table, Days, cancellationToken, transaction))
            .Where(day => Days.IsDroppable(day, cutoff))
            .ToList();
        var judged = past.Count == 0 ? [] : await judge(transaction, past);
        var held = judged.Where(d => d.Verdict == PartitionVerdict.Held).Select(d => d.Day).ToList();
        var drop = judged.Where(d => d.Verdict == PartitionVerdict.Drop).Select(d => d.Day).ToList();
        if (drop.Count > 0)
        {
            await using (var lockTables = new NpgsqlCommand(
                $"LOCK TABLE {Table}, {string.Join(", ", drop.Select(Days.Name))} IN ACCESS EXCLUSIVE MODE", conn, transaction))
            {
                await lockTables.ExecuteNonQueryAsync(cancellationToken);
            }

            var again = await judge(transaction, drop);
            held.AddRange(again.Where(d => d.Verdict == PartitionVerdict.Held).Select(d => d.Day));
            held.Sort();
            drop = [.. again.Where(d => d.Verdict == PartitionVerdict.Drop).Select(d => d.Day)];
            if (drop.Count > 0)
            {
                if (beforeDrop is not null)
                {
                    await beforeDrop(transaction, drop);
                }

                await using var dropTables = new NpgsqlCommand($"DROP TABLE {string.Join(", ", drop.Select(Days.Name))}", conn, transaction);
                await dropTables.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new PartitionPruneResult(drop, held);
    }

    private static async Task SetLockTimeoutAsync(NpgsqlConnection conn, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var timeout = new NpgsqlCommand($"SET LOCAL lock_timeout = '{LockTimeout}'", conn, transaction);
        await timeout.ExecuteNonQueryAsync(cancellationToken);
    }
}
