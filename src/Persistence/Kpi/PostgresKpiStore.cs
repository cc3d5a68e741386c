using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Kpi;
using Npgsql;
using NpgsqlTypes;

namespace MeshOs.Persistence.Kpi;

/// <summary>
/// The SLI store on PostgreSQL (sql/0016_kpi.sql): one multi-row upsert per add (rows of one key summed first), counts
/// and sketches added in the database so adds commute.
/// </summary>
public sealed class PostgresKpiStore(PostgresConnection connection) : IKpiStore
{
    public async Task AddAsync(IReadOnlyList<SliRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return;
        }

        // One upsert may not touch a row twice.
        var merged = rows.GroupBy(r => (r.Scope, r.Resolution, r.At)).Select(g => g.Aggregate(SliRowMath.Add)).ToList();
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO meshos_sli AS t (scope, resolution, at, requests, errors, observed_minutes, bad_minutes, unobserved_minutes,
                                         excluded_minutes, probe_failed_minutes, windows, windows_met, submit, end_to_end)
            SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                                 $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
                     AS u(scope, resolution, at, requests, errors, observed_minutes, bad_minutes, unobserved_minutes, excluded_minutes,
                          probe_failed_minutes, windows, windows_met)
                     CROSS JOIN LATERAL (SELECT '{}'::bigint[] AS submit, '{}'::bigint[] AS end_to_end) AS sketches
            ON CONFLICT (scope, resolution, at) DO UPDATE SET
                requests = t.requests + excluded.requests,
                errors = t.errors + excluded.errors,
                observed_minutes = t.observed_minutes + excluded.observed_minutes,
                bad_minutes = t.bad_minutes + excluded.bad_minutes,
                unobserved_minutes = t.unobserved_minutes + excluded.unobserved_minutes,
                excluded_minutes = t.excluded_minutes + excluded.excluded_minutes,
                probe_failed_minutes = t.probe_failed_minutes + excluded.probe_failed_minutes,
                windows = t.windows + excluded.windows,
                windows_met = t.windows_met + excluded.windows_met
            """, conn);
        // Sketches are arrays of arrays of unequal length (empty or 82): PostgreSQL has no ragged arrays, so they are
        // added row by row in the same transaction below.
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.Scope).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => (int)r.Resolution).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.At.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.Requests).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.Errors).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.ObservedMinutes).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.BadMinutes).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.UnobservedMinutes).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.ExcludedMinutes).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.ProbeFailedMinutes).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.Windows).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = merged.Select(r => r.WindowsMet).ToArray() });

        await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
        var withSketches = merged.Where(r => LatencySketch.Count(r.Submit) > 0 || LatencySketch.Count(r.EndToEnd) > 0).ToList();
        if (withSketches.Count > 0)
        {
            await using var batch = new NpgsqlBatch(conn, transaction);
            foreach (var row in withSketches)
            {
                var update = new NpgsqlBatchCommand(
                    "UPDATE meshos_sli SET submit = meshos_sketch_add(submit, $4), end_to_end = meshos_sketch_add(end_to_end, $5) WHERE scope = $1 AND resolution = $2 AND at = $3");
                update.Parameters.Add(new NpgsqlParameter { Value = row.Scope });
                update.Parameters.Add(new NpgsqlParameter { Value = (int)row.Resolution });
                update.Parameters.Add(new NpgsqlParameter { Value = row.At.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                update.Parameters.Add(new NpgsqlParameter { Value = Sketch(row.Submit), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                update.Parameters.Add(new NpgsqlParameter { Value = Sketch(row.EndToEnd), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                batch.BatchCommands.Add(update);
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<ImmutableArray<SliRow>> ReadAsync(string scope, SliResolution resolution, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT at, requests, errors, observed_minutes, bad_minutes, unobserved_minutes, excluded_minutes, probe_failed_minutes,
                   windows, windows_met, submit, end_to_end
            FROM meshos_sli WHERE scope = $1 AND resolution = $2 AND at >= $3 AND at < $4 ORDER BY at
            """, conn);
        command.Parameters.Add(new NpgsqlParameter { Value = scope });
        command.Parameters.Add(new NpgsqlParameter { Value = (int)resolution });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var rows = ImmutableArray.CreateBuilder<SliRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new SliRow(scope, resolution, new DateTimeOffset(reader.GetDateTime(0), TimeSpan.Zero), reader.GetInt64(1), reader.GetInt64(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                [.. reader.GetFieldValue<long[]>(10)], [.. reader.GetFieldValue<long[]>(11)]));
        }

        return rows.ToImmutable();
    }

    public async Task<long> PruneAsync(SliResolution resolution, DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("DELETE FROM meshos_sli WHERE resolution = $1 AND at < $2", conn);
        command.Parameters.Add(new NpgsqlParameter { Value = (int)resolution });
        command.Parameters.Add(new NpgsqlParameter { Value = before.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static long[] Sketch(ImmutableArray<long> counts) => counts.IsDefaultOrEmpty ? [] : [.. counts];
}
