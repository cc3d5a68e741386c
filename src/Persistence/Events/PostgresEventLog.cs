using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using MeshOs.Grains.Storage;
using MeshOs.Persistence.Jobs;
using Npgsql;

namespace MeshOs.Persistence.Events;

/// <summary>
/// The event log in <c>meshos_events</c>. Appends share the job store's group commit; reads stop below the oldest
/// open <em>event writer</em>, so a reader never skips an event that commits later, and an unrelated long transaction
/// (an analyst's session, a report) does not hold readers back (see sql/0005_events.sql). The log is kept in daily
/// partitions that retention drops whole (sql/0009_events_partitioned.sql).
/// </summary>
internal sealed class PostgresEventLog(PostgresConnection connection, JobWriter writer) : IEventLog
{
    /// <summary>
    /// The reading horizon, as a transaction id: every transaction below it that could append events has ended.
    /// <list type="bullet">
    /// <item><c>next</c>, the current snapshot's xmax, is above every id assigned before this statement began.</item>
    /// <item>An event writer takes <see cref="EventRows.WriterLockSql"/> before it has an id and holds it until its
    /// commit is visible, so a writer with an id below <c>next</c> either still holds the lock (and shows its id in
    /// <c>pg_stat_activity.backend_xid</c>, read after the snapshot) or has ended. The horizon is the lowest such id.</item>
    /// <item><c>backend_xid</c> is 32 bits; it is widened to the 64-bit id of <c>next</c>'s epoch (an open
    /// transaction is always within 2^31 of <c>next</c>).</item>
    /// <item>A lock holder whose <c>backend_xid</c> this role may not see (another role, without
    /// <c>pg_read_all_stats</c>) falls back to the snapshot's xmin: slower, never wrong.</item>
    /// </list>
    /// The events are then read by a later statement (a later snapshot), in which every writer below the horizon has
    /// committed or rolled back.
    /// </summary>
    private static readonly string HorizonSql = $"""
        WITH snapshot AS (
            SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
                   pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next
        )
        SELECT LEAST(s.next, (
            SELECT min(CASE
                WHEN a.backend_xid IS NOT NULL
                    THEN s.next - ((s.next - a.backend_xid::text::bigint) % 4294967296 + 4294967296) % 4294967296
                WHEN a.pid IS NOT NULL AND (pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_read_all_stats', 'USAGE'))
                    THEN NULL
                ELSE s.xmin
            END)
            FROM pg_locks l
            LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted
              AND ((l.classid::bigint << 32) | l.objid::bigint) = {EventRows.WriterLockKey}))
        FROM snapshot s
        """;

    public Task AppendAsync(ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default) =>
        events.IsDefaultOrEmpty ? Task.CompletedTask : writer.AppendAsync(events);

    public async Task<ImmutableArray<MeshEvent>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        long horizon;
        await using (var horizonCommand = new NpgsqlCommand(HorizonSql, conn))
        {
            horizon = (long)(await horizonCommand.ExecuteScalarAsync(cancellationToken))!;
        }

        // A separate statement (autocommit): its snapshot is taken after the horizon was, so it sees every writer below it.
        await using var command = new NpgsqlCommand("""
            SELECT position, payload::text FROM meshos_events
            WHERE position > $1 AND position < ($3 << 20)
            ORDER BY position LIMIT $2
            """, conn);
        command.Parameters.Add(new NpgsqlParameter { Value = afterPosition });
        command.Parameters.Add(new NpgsqlParameter { Value = max });
        command.Parameters.Add(new NpgsqlParameter { Value = horizon });
        var events = ImmutableArray.CreateBuilder<MeshEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(MeshEventJson.Deserialize(reader.GetInt64(0), reader.GetString(1)));
        }

        return events.ToImmutable();
    }

    /// <summary>
    /// The transaction-level advisory lock that makes one partition change at a time across silos (the ASCII bytes of
    /// "MeshEvtP"; <c>meshos_events_ensure_partition</c> in sql/0009_events_partitioned.sql takes it too).
    /// </summary>
    private const long PartitionLockKey = 0x4D65_7368_4576_7450;

    private static readonly DailyPartitionedTable Partitions = new("meshos_events", "at", PartitionLockKey, EventRetentionPolicy.Days);

    private static TimePartitioning Days => Partitions.Days;

    public async Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        return await Partitions.PrepareDaysAsync(conn, days, cancellationToken);
    }

    /// <summary>
    /// One transaction: takes the partition lock, judges each daily partition past the cutoff by its highest position
    /// (an index probe), and drops those every consumer has read. Before dropping it locks the log and those partitions
    /// (the log first, as writers do) and judges them again, so an event written meanwhile into a day past the cutoff
    /// (a writer's clock far behind) holds its day back instead of being dropped unread.
    /// </summary>
    public async Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff, long readUpTo, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        return await Partitions.PruneAsync(conn, cutoff,
            (transaction, days) => JudgeAsync(conn, transaction, days, cutoff, readUpTo, cancellationToken), null, cancellationToken);
    }

    private static async Task<List<(DateOnly Day, PartitionVerdict Verdict)>> JudgeAsync(
        NpgsqlConnection conn, NpgsqlTransaction transaction, List<DateOnly> days, DateTimeOffset cutoff, long readUpTo, CancellationToken cancellationToken)
    {
        var judged = new List<(DateOnly, PartitionVerdict)>();
        if (days.Count == 0)
        {
            return judged;
        }

        await using var highest = new NpgsqlCommand(
            string.Join(" UNION ALL ", days.Select((day, i) => $"SELECT {i}, max(position) FROM {Days.Name(day)}")), conn, transaction);
        await using var reader = await highest.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var day = days[reader.GetInt32(0)];
            judged.Add((day, EventRetentionPolicy.Judge(day, reader.IsDBNull(1) ? null : reader.GetInt64(1), cutoff, readUpTo)));
        }

        judged.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return judged;
    }

}
