using MeshOs.Abstractions.Events;
using MeshOs.Persistence.Jobs;
using Npgsql;
using NpgsqlTypes;

namespace MeshOs.Persistence.Events;

/// <summary>
/// Appending events inside a group-commit statement: each event is numbered within its transaction (position =
/// transaction id &lt;&lt; 20 + ordinal, see sql/0005_events.sql) and carries the key of the row it belongs to, so a
/// statement that writes rows appends the events of the rows it wrote and no others.
/// </summary>
internal static class EventRows
{
    /// <summary>
    /// Key of the shared transaction-level advisory lock every transaction that appends events takes as its first
    /// statement, before it has a transaction id: the ASCII bytes of "MeshEvtW". Readers find the open event writers
    /// by it (see <see cref="PostgresEventLog"/>), so only they, not every open transaction on the server, hold readers back.
    /// </summary>
    public const long WriterLockKey = 0x4D65_7368_4576_7457;

    /// <summary>The statement that marks the current transaction as an event writer; first in the transaction.</summary>
    public static readonly string WriterLockSql = $"SELECT pg_advisory_xact_lock_shared({WriterLockKey})";

    /// <summary>
    /// The insert of the events bound to five array parameters from <c>$<paramref name="first"/></c> on (key, ordinal,
    /// kind, time, JSON), keys of SQL type <paramref name="keyType"/>; with <paramref name="writtenKeys"/> (a query
    /// returning the keys written) only those rows' events.
    /// </summary>
    public static string AppendSql(int first, string keyType, string? writtenKeys = null) =>
        $"""
        INSERT INTO meshos_events (position, kind, at, payload)
        SELECT (pg_current_xact_id()::text::bigint << 20) + e.ordinal, e.kind, e.at, e.payload
        FROM unnest(${first}::{keyType}[], ${first + 1}::int[], ${first + 2}::smallint[], ${first + 3}::timestamptz[], ${first + 4}::jsonb[]) AS e(row_key, ordinal, kind, at, payload)
        """ + (writtenKeys is null ? string.Empty : $"\nWHERE e.row_key IN ({writtenKeys})");

    /// <summary>The five parameters of <see cref="AppendSql"/>, in its order.</summary>
    public static void AddParameters<TKey>(NpgsqlParameterCollection p, IEnumerable<(TKey Key, int Ordinal, MeshEvent Event)> events)
    {
        var list = events.ToList();
        p.Add(new NpgsqlParameter { Value = list.Select(e => e.Key).ToArray() });
        p.Add(new NpgsqlParameter { Value = list.Select(e => e.Ordinal).ToArray() });
        p.Add(new NpgsqlParameter { Value = list.Select(e => (short)e.Event.Kind).ToArray() });
        p.Add(new NpgsqlParameter { Value = list.Select(e => JobRows.Utc(e.Event.At)).ToArray() });
        p.Add(new NpgsqlParameter { Value = list.Select(e => MeshEventJson.Serialize(e.Event)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
    }
}
