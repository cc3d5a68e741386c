using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using MeshOs.Persistence.Jobs;
using Npgsql;

namespace MeshOs.Persistence.Events;

/// <summary>
/// The event log in <c>meshos_events</c>. Appends share the job store's group commit; reads stop below the oldest
/// running transaction, so a reader never skips an event that commits later (see sql/0005_events.sql).
/// </summary>
internal sealed class PostgresEventLog(PostgresConnection connection, JobWriter writer) : IEventLog
{
    public Task AppendAsync(ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default) =>
        events.IsDefaultOrEmpty ? Task.CompletedTask : writer.AppendAsync(events);

    public async Task<ImmutableArray<MeshEvent>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("""
            SELECT position, payload::text FROM meshos_events
            WHERE position > $1 AND position < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)
            ORDER BY position LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = afterPosition });
        command.Parameters.Add(new NpgsqlParameter { Value = max });
        var events = ImmutableArray.CreateBuilder<MeshEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(MeshEventJson.Deserialize(reader.GetInt64(0), reader.GetString(1)));
        }

        return events.ToImmutable();
    }

    public async Task<int> TrimAsync(long position, DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("DELETE FROM meshos_events WHERE position <= $1 AND at < $2");
        command.Parameters.Add(new NpgsqlParameter { Value = position });
        command.Parameters.Add(new NpgsqlParameter { Value = olderThan.UtcDateTime });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
