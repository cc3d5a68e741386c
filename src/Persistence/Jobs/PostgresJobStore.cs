using System.Collections.Immutable;
using System.Text;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MeshOs.Persistence.Jobs;

/// <summary>
/// Jobs in <c>meshos_jobs</c>. Writes go through the group-commit <see cref="JobWriter"/>; reads are single
/// statements on indexes made for them (see sql/0004_jobs.sql). The table is kept in daily partitions by creation time
/// that retention drops whole (sql/0011_jobs_partitioned.sql); a lookup by id alone probes each partition's id index.
/// </summary>
internal sealed class PostgresJobStore(PostgresConnection connection, JobWriter writer, IOptions<AuditOptions> audit) : IJobStore
{
    /// <summary>With auditing on, carried entries go into the audit inbox in the write's transaction (sql/0014_audit_inbox.sql).</summary>
    public bool RecordsAudit => audit.Value.Enabled;

    public Task<JobRecord?> InsertAsync(JobRecord job, CancellationToken cancellationToken = default) =>
        InsertAsync(job, [], cancellationToken);

    public async Task<JobRecord?> InsertAsync(JobRecord job, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken = default)
    {
        if (await writer.InsertAsync(job, Recorded(audit)))
        {
            return null;
        }

        // Not inserted: the id, or the tenant's idempotency key, is taken. Return whichever job holds it.
        return await GetAsync(job.JobId, cancellationToken)
            ?? (job.Spec.IdempotencyKey is { } key ? await GetByKeyAsync(job.TenantId, key, cancellationToken) : null)
            ?? throw new InvalidOperationException($"Job {job.JobId} was neither inserted nor found.");
    }

    public Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default) =>
        writer.UpdateAsync(job, events, []);

    public Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken = default) =>
        writer.UpdateAsync(job, events, Recorded(audit));

    private ImmutableArray<AuditDraft> Recorded(IReadOnlyList<AuditDraft> drafts) =>
        RecordsAudit ? [.. drafts.Select(d => d.Storable())] : [];

    /// <summary>
    /// A job by id. A version-7 id tells about when the job was created: the days around it are looked in first, a
    /// statement the planner prunes to those days' partitions (measured with 40 days kept: 0.5 ms against 3.7 ms, most
    /// of it planning, for one that opens every partition); only when it is not there are all days looked in.
    /// </summary>
    public async Task<JobRecord?> GetAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        if (JobRows.IdTime(jobId) is { } made)
        {
            await using var bounded = connection.DataSource.CreateCommand(
                $"SELECT {JobRows.ReadColumns} FROM meshos_jobs WHERE id = $1 AND created_at BETWEEN $2 AND $3");
            bounded.Parameters.Add(new NpgsqlParameter { Value = jobId });
            bounded.Parameters.Add(new NpgsqlParameter { Value = (made - JobRows.IdTimeSlack).UtcDateTime });
            bounded.Parameters.Add(new NpgsqlParameter { Value = (made + JobRows.IdTimeSlack).UtcDateTime });
            if (await ReadOneAsync(bounded, cancellationToken) is { } job)
            {
                return job;
            }
        }

        await using var command = connection.DataSource.CreateCommand($"SELECT {JobRows.ReadColumns} FROM meshos_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        var sql = new StringBuilder($"SELECT {JobRows.ReadColumns} FROM meshos_jobs WHERE tenant_id = $1");
        var parameters = new List<NpgsqlParameter> { new() { Value = query.TenantId } };
        void Add(string condition, object value)
        {
            parameters.Add(new NpgsqlParameter { Value = value });
            sql.Append(" AND ").Append(condition.Replace("$?", "$" + parameters.Count, StringComparison.Ordinal));
        }

        if (query.Status is { } status)
        {
            Add("status = $?", (short)status);
        }

        if (query.Type is { } type)
        {
            Add("type = $?", type);
        }

        if (query.CreatedFrom is { } from)
        {
            Add("created_at >= $?", from.UtcDateTime);
        }

        if (query.CreatedTo is { } to)
        {
            Add("created_at < $?", to.UtcDateTime);
        }

        if (query.Cursor is { } cursorText)
        {
            var cursor = JobCursor.Decode(cursorText);
            parameters.Add(new NpgsqlParameter { Value = cursor.CreatedAt.UtcDateTime });
            parameters.Add(new NpgsqlParameter { Value = cursor.JobId });
            sql.Append(" AND (created_at, id) < ($").Append(parameters.Count - 1).Append(", $").Append(parameters.Count).Append(')');
        }

        // One more than a page: the extra row only says whether another page exists.
        parameters.Add(new NpgsqlParameter { Value = query.Limit + 1 });
        sql.Append(" ORDER BY created_at DESC, id DESC LIMIT $").Append(parameters.Count);

        await using var command = connection.DataSource.CreateCommand(sql.ToString());
        command.Parameters.AddRange(parameters.ToArray());
        var jobs = await ReadManyAsync(command, cancellationToken);
        var more = jobs.Count > query.Limit;
        if (more)
        {
            jobs.RemoveAt(jobs.Count - 1);
        }

        var next = more ? new JobCursor(jobs[^1].CreatedAt, jobs[^1].JobId).Encode() : null;
        return new JobPage([.. jobs], next);
    }

    public async Task<ImmutableArray<PendingJobRef>> ListPendingAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("""
            SELECT id, tenant_id, priority, available_at, created_at, updated_at, data_classes FROM meshos_jobs
            WHERE pool = $1 AND capability = $2 AND shard = $3 AND status = 0 AND id > $4
            ORDER BY id LIMIT $5
            """);
        AddQueueParameters(command, queue, afterJobId, limit);
        var result = ImmutableArray.CreateBuilder<PendingJobRef>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new PendingJobRef(reader.GetGuid(0), reader.GetString(1), reader.GetInt16(2), Utc(reader, 3), Utc(reader, 4), Utc(reader, 5),
                JobRows.Classes(reader, 6)));
        }

        return result.ToImmutable();
    }

    public async Task<ImmutableArray<LeasedJobRef>> ListLeasedAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("""
            SELECT id, tenant_id, agent_id, epoch, lease_expires_at FROM meshos_jobs
            WHERE pool = $1 AND capability = $2 AND shard = $3 AND status IN (1, 2) AND id > $4
            ORDER BY id LIMIT $5
            """);
        AddQueueParameters(command, queue, afterJobId, limit);
        var result = ImmutableArray.CreateBuilder<LeasedJobRef>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new LeasedJobRef(reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt64(3), reader.IsDBNull(4) ? null : Utc(reader, 4)));
        }

        return result.ToImmutable();
    }

    public async Task<ImmutableArray<LeaseRef>> ListLeasedByAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("SELECT id, epoch FROM meshos_jobs WHERE agent_id = $1 AND status IN (1, 2)");
        command.Parameters.Add(new NpgsqlParameter { Value = agentId });
        var result = ImmutableArray.CreateBuilder<LeaseRef>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new LeaseRef(reader.GetGuid(0), reader.GetInt64(1)));
        }

        return result.ToImmutable();
    }

    public async Task<ImmutableDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand(
            "SELECT status, sum(count)::bigint FROM meshos_job_counts GROUP BY status HAVING sum(count) <> 0");
        var result = ImmutableDictionary.CreateBuilder<JobStatus, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[(JobStatus)reader.GetInt16(0)] = reader.GetInt64(1);
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// The transaction-level advisory lock that makes one partition change at a time across silos (the ASCII bytes of
    /// "MeshJobP"; <c>meshos_jobs_ensure_partition</c> in sql/0011_jobs_partitioned.sql takes it too).
    /// </summary>
    private const long PartitionLockKey = 0x4D65_7368_4A6F_6250;

    private static readonly DailyPartitionedTable Partitions = new("meshos_jobs", "created_at", PartitionLockKey, JobRetentionPolicy.Days);

    private static TimePartitioning Days => Partitions.Days;

    public async Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        return await Partitions.PrepareDaysAsync(conn, days, cancellationToken);
    }

    /// <summary>
    /// One transaction: takes the partition lock, judges each daily partition past the cutoff by index probes (does it
    /// hold an unfinished job, its latest completion), and drops those <see cref="JobRetentionPolicy"/> lets go. Before
    /// dropping it locks the table and those partitions (the table first, as writers do) and judges them again, so a
    /// job written meanwhile into such a day (a clock far behind) holds its day back. The dropped days' counter rows
    /// (sql/0011: counts are kept per created day) go in the same transaction, so the counts stay exact without
    /// counting the dropped rows.
    /// </summary>
    public async Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        return await Partitions.PruneAsync(conn, cutoff,
            (transaction, days) => JudgeAsync(conn, transaction, days, cutoff, cancellationToken),
            (transaction, days) => UncountAsync(conn, transaction, days, cancellationToken),
            cancellationToken);
    }

    /// <summary>
    /// Forgets the counters of the days about to be dropped: a daily partition's counters are its day's; the old table's
    /// partition (FROM MINVALUE) holds every day up to its own.
    /// </summary>
    private static async Task UncountAsync(NpgsqlConnection conn, NpgsqlTransaction transaction, List<DateOnly> days, CancellationToken cancellationToken)
    {
        await using var uncount = new NpgsqlCommand("""
            DELETE FROM meshos_job_counts c USING unnest($1::date[], $2::text[]) AS d(day, name)
            WHERE c.day = d.day
               OR (c.day < d.day AND (SELECT pg_get_expr(p.relpartbound, p.oid) FROM pg_class p WHERE p.oid = d.name::regclass)
                   LIKE 'FOR VALUES FROM (MINVALUE)%')
            """, conn, transaction);
        uncount.Parameters.Add(new NpgsqlParameter { Value = days.ToArray() });
        uncount.Parameters.Add(new NpgsqlParameter { Value = days.Select(Days.Name).ToArray() });
        await uncount.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Each day's verdict from three index probes of its partition: a pending job (meshos_jobs_queue_pending), a leased
    /// or running one (meshos_jobs_queue_leased), the latest completion (meshos_jobs_completed).
    /// </summary>
    private static async Task<List<(DateOnly Day, PartitionVerdict Verdict)>> JudgeAsync(
        NpgsqlConnection conn, NpgsqlTransaction transaction, List<DateOnly> days, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var judged = new List<(DateOnly, PartitionVerdict)>();
        if (days.Count == 0)
        {
            return judged;
        }

        await using var probe = new NpgsqlCommand(
            string.Join(" UNION ALL ", days.Select((day, i) =>
                $"SELECT {i}, EXISTS (SELECT 1 FROM {Days.Name(day)} WHERE status = 0) OR EXISTS (SELECT 1 FROM {Days.Name(day)} WHERE status IN (1, 2)), " +
                $"(SELECT max(completed_at) FROM {Days.Name(day)} WHERE status >= 3)")),
            conn, transaction);
        await using var reader = await probe.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var day = days[reader.GetInt32(0)];
            var latest = reader.IsDBNull(2) ? (DateTimeOffset?)null : Utc(reader, 2);
            judged.Add((day, JobRetentionPolicy.Judge(day, reader.GetBoolean(1), latest, cutoff)));
        }

        judged.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return judged;
    }

    private async Task<JobRecord?> GetByKeyAsync(string tenantId, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.DataSource.CreateCommand(
            $"SELECT {JobRows.ReadColumns} FROM meshos_jobs WHERE tenant_id = $1 AND idempotency_key = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        return await ReadOneAsync(command, cancellationToken);
    }

    private static void AddQueueParameters(NpgsqlCommand command, QueueKey queue, Guid? afterJobId, int limit)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = queue.Pool });
        command.Parameters.Add(new NpgsqlParameter { Value = queue.Capability });
        command.Parameters.Add(new NpgsqlParameter { Value = queue.Shard });
        command.Parameters.Add(new NpgsqlParameter { Value = afterJobId ?? Guid.Empty });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
    }

    private static async Task<JobRecord?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? JobRows.Read(reader) : null;
    }

    private static async Task<List<JobRecord>> ReadManyAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<JobRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(JobRows.Read(reader));
        }

        return jobs;
    }

    private static DateTimeOffset Utc(NpgsqlDataReader reader, int ordinal) =>
        new(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));
}
