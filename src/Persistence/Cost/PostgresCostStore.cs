using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;
using Npgsql;
using NpgsqlTypes;

namespace MeshOs.Persistence.Cost;

/// <summary>
/// The cost store on PostgreSQL (sql/0012_cost.sql, sql/0013_cost_jobs.sql): a commit adds its rollups and job costs
/// with multi-row upserts and sets the shard's agents and position in the same transaction (one batch, one round trip); queries are sums over the
/// hourly partitions in range.
/// </summary>
public sealed class PostgresCostStore(PostgresConnection connection) : ICostStore
{
    private const string Table = "meshos_cost_hourly";

    private readonly PartitionsMade _partitions = new("meshos_cost_ensure_partition");

    public async Task<CostShardSnapshot> LoadShardAsync(string shard, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        long position = 0;
        await using (var read = new NpgsqlCommand("SELECT position FROM meshos_cost_shards WHERE shard = $1", conn))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = shard });
            if (await read.ExecuteScalarAsync(cancellationToken) is long p)
            {
                position = p;
            }
        }

        var agents = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand("SELECT agent, state::text FROM meshos_cost_agents WHERE shard = $1", conn))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = shard });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                agents[reader.GetString(0)] = reader.GetString(1);
            }
        }

        var spans = new List<PendingSpan>();
        await using (var read = new NpgsqlCommand("SELECT agent, job_id, tenant, capability, from_at, to_at FROM meshos_cost_pending WHERE shard = $1", conn))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = shard });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                spans.Add(new PendingSpan(reader.GetString(0), new BusySpan(reader.GetGuid(1), reader.GetString(2), reader.GetString(3),
                    new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero), new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero))));
            }
        }

        return new CostShardSnapshot(position, agents, spans);
    }

    public async Task CommitAsync(CostCommit commit, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var month in commit.Rollups.Select(r => r.Hour).Concat(commit.JobLines.Select(j => j.Hour)).Select(CostRetentionPolicy.Months.PeriodOf).Distinct())
        {
            await _partitions.EnsureAsync(conn, month, cancellationToken);
        }

        // One implicit transaction, one round trip: every statement in one batch (as the job writer does).
        await using var batch = new NpgsqlBatch(conn);
        // Rows of one key are summed first: one upsert may not touch a row twice.
        var rows = commit.Rollups
            .GroupBy(r => (Hour: r.Hour.UtcDateTime, r.Pool, r.Tenant, r.Agent, r.Capability))
            .Select(g => (g.Key, Allocated: g.Sum(r => r.Allocated), Idle: g.Sum(r => r.Idle), Usage: g.Sum(r => r.Usage), Ms: g.Sum(r => r.AgentMs)))
            .ToList();
        if (rows.Count > 0)
        {
            var upsert = new NpgsqlBatchCommand(
                $"""
                INSERT INTO {Table} (hour, pool, tenant, agent, capability, allocated, idle, usage, agent_ms)
                SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[], $8::numeric[], $9::bigint[])
                ON CONFLICT (hour, pool, tenant, agent, capability) DO UPDATE SET
                    allocated = {Table}.allocated + excluded.allocated, idle = {Table}.idle + excluded.idle,
                    usage = {Table}.usage + excluded.usage, agent_ms = {Table}.agent_ms + excluded.agent_ms
                """);
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Hour).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Pool).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Tenant).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Agent).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Key.Capability).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Allocated).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Idle).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Usage).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Ms).ToArray() });
            batch.BatchCommands.Add(upsert);
        }

        var jobs = commit.JobLines
            .GroupBy(j => (Month: CostRetentionPolicy.Months.PeriodOf(j.Hour), j.JobId))
            .Select(g => (g.Key, First: g.First(), Allocated: g.Sum(j => j.Allocated), Usage: g.Sum(j => j.Usage), Ms: g.Sum(j => j.AgentMs)))
            .ToList();
        if (jobs.Count > 0)
        {
            var upsert = new NpgsqlBatchCommand(
                """
                INSERT INTO meshos_cost_jobs (month, job_id, tenant, pool, capability, allocated, usage, agent_ms)
                SELECT * FROM unnest($1::date[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[], $8::bigint[])
                ON CONFLICT (month, job_id) DO UPDATE SET
                    allocated = meshos_cost_jobs.allocated + excluded.allocated, usage = meshos_cost_jobs.usage + excluded.usage,
                    agent_ms = meshos_cost_jobs.agent_ms + excluded.agent_ms
                """);
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Key.Month).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Key.JobId).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.First.Tenant).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.First.Pool).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.First.Capability).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Allocated).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Usage).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = jobs.Select(j => j.Ms).ToArray() });
            batch.BatchCommands.Add(upsert);
        }

        var set = commit.Agents.Where(a => a.Value is not null).ToList();
        if (set.Count > 0)
        {
            var upsert = new NpgsqlBatchCommand(
                """
                INSERT INTO meshos_cost_agents (shard, agent, state) SELECT $1, a, s::jsonb FROM unnest($2::text[], $3::text[]) AS t(a, s)
                ON CONFLICT (shard, agent) DO UPDATE SET state = excluded.state
                """);
            upsert.Parameters.Add(new NpgsqlParameter { Value = commit.Shard });
            upsert.Parameters.Add(new NpgsqlParameter { Value = set.Select(a => a.Key).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = set.Select(a => a.Value!).ToArray() });
            batch.BatchCommands.Add(upsert);
        }

        var removed = commit.Agents.Where(a => a.Value is null).Select(a => a.Key).ToArray();
        if (removed.Length > 0)
        {
            var delete = new NpgsqlBatchCommand("DELETE FROM meshos_cost_agents WHERE shard = $1 AND agent = ANY($2)");
            delete.Parameters.Add(new NpgsqlParameter { Value = commit.Shard });
            delete.Parameters.Add(new NpgsqlParameter { Value = removed });
            batch.BatchCommands.Add(delete);
        }

        if (commit.AddedSpans.Count > 0)
        {
            var insert = new NpgsqlBatchCommand(
                """
                INSERT INTO meshos_cost_pending (shard, agent, job_id, tenant, capability, from_at, to_at)
                SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
                """);
            var added = commit.AddedSpans;
            insert.Parameters.Add(new NpgsqlParameter { Value = commit.Shard });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Agent).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Span.JobId).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Span.TenantId).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Span.Capability).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Span.From.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter { Value = added.Select(a => a.Span.To.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            batch.BatchCommands.Add(insert);
        }

        if (commit.SettledThrough.Count > 0)
        {
            // After the inserts: a span added and settled in one commit is gone at its end.
            var settle = new NpgsqlBatchCommand(
                """
                DELETE FROM meshos_cost_pending p USING unnest($2::text[], $3::timestamptz[]) AS s(agent, through)
                WHERE p.shard = $1 AND p.agent = s.agent AND p.to_at <= s.through
                """);
            settle.Parameters.Add(new NpgsqlParameter { Value = commit.Shard });
            settle.Parameters.Add(new NpgsqlParameter { Value = commit.SettledThrough.Keys.ToArray() });
            settle.Parameters.Add(new NpgsqlParameter { Value = commit.SettledThrough.Values.Select(t => t.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            batch.BatchCommands.Add(settle);
        }

        var position = new NpgsqlBatchCommand(
            """
            INSERT INTO meshos_cost_shards (shard, position, updated_at) VALUES ($1, $2, now())
            ON CONFLICT (shard) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """);
        position.Parameters.Add(new NpgsqlParameter { Value = commit.Shard });
        position.Parameters.Add(new NpgsqlParameter { Value = commit.Position });
        batch.BatchCommands.Add(position);

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<JobCost?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand(
            """
            SELECT (array_agg(tenant ORDER BY month))[1], (array_agg(pool ORDER BY month))[1], (array_agg(capability ORDER BY month))[1],
                   sum(allocated), sum(usage), sum(agent_ms)::bigint
            FROM meshos_cost_jobs WHERE job_id = $1 HAVING count(*) > 0
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new JobCost(jobId, string.Empty, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetDecimal(3), reader.GetDecimal(4), reader.GetInt64(5))
            : null;
    }

    public async Task<IReadOnlyList<CostSum>> SumAsync(CostSumQuery query, CancellationToken cancellationToken = default)
    {
        var key = query.GroupBy switch
        {
            CostDimension.Tenant => "tenant",
            CostDimension.Pool => "pool",
            CostDimension.Agent => "agent",
            CostDimension.Capability => "capability",
            _ => "''",
        };
        var bucket = query.Interval switch
        {
            CostInterval.Hour => "hour",
            CostInterval.Day => "date_trunc('day', hour, 'UTC')",
            CostInterval.Month => "date_trunc('month', hour, 'UTC')",
            _ => "NULL::timestamptz",
        };
        await using var command = connection.DataSource.CreateCommand();
        var sql = new StringBuilder($"SELECT {key} AS k, {bucket} AS b, sum(allocated), sum(idle), sum(usage), sum(agent_ms)::bigint FROM {Table} WHERE hour >= $1 AND hour < $2");
        command.Parameters.Add(new NpgsqlParameter { Value = query.From.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = query.To.UtcDateTime });
        void Filter(string column, string? value)
        {
            if (value is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
                sql.Append($" AND {column} = ${command.Parameters.Count}");
            }
        }

        Filter("tenant", query.Tenant);
        Filter("pool", query.Pool);
        Filter("agent", query.Agent);
        Filter("capability", query.Capability);
        sql.Append(" GROUP BY k, b ORDER BY b, k");
        command.CommandText = sql.ToString();
        var sums = new List<CostSum>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            sums.Add(new CostSum(reader.GetString(0), reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero),
                reader.GetDecimal(2), reader.GetDecimal(3), reader.GetDecimal(4), reader.GetInt64(5)));
        }

        return sums;
    }

    public async Task<IReadOnlyList<DateOnly>> PrepareMonthsAsync(IReadOnlyList<DateOnly> months, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        var made = new List<DateOnly>();
        foreach (var month in months)
        {
            if (!_partitions.Contains(month))
            {
                await _partitions.EnsureAsync(conn, month, cancellationToken);
                made.Add(month);
            }
        }

        return made;
    }

    public async Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        var months = (await PostgresPartitions.ListAsync(conn, Table, CostRetentionPolicy.Months, cancellationToken))
            .Where(month => CostRetentionPolicy.Months.IsDroppable(month, cutoff))
            .ToList();
        foreach (var month in months)
        {
            await using var drop = new NpgsqlCommand(
                $"DROP TABLE IF EXISTS {CostRetentionPolicy.Months.Name(month)}, meshos_cost_jobs_{month.ToString("yyyyMM", CultureInfo.InvariantCulture)}", conn);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            _partitions.Forget(month);
        }

        return months;
    }
}
