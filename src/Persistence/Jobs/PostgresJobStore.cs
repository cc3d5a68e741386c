using System.Collections.Immutable;
using System.Text;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Kernel.Jobs;
using Npgsql;

namespace MeshOs.Persistence.Jobs;

/// <summary>
/// Jobs in <c>meshos_jobs</c>. Writes go through the group-commit <see cref="JobWriter"/>; reads are single
/// statements on indexes made for them (see sql/0004_jobs.sql).
/// </summary>
internal sealed class PostgresJobStore(PostgresConnection connection, JobWriter writer) : IJobStore
{
    public async Task<JobRecord?> InsertAsync(JobRecord job, CancellationToken cancellationToken = default)
    {
        if (await writer.InsertAsync(job))
        {
            return null;
        }

        // Not inserted: the id, or the tenant's idempotency key, is taken. Return whichever job holds it.
        return await GetAsync(job.JobId, cancellationToken)
            ?? (job.Spec.IdempotencyKey is { } key ? await GetByKeyAsync(job.TenantId, key, cancellationToken) : null)
            ?? throw new InvalidOperationException($"Job {job.JobId} was neither inserted nor found.");
    }

    public Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default) =>
        writer.UpdateAsync(job, events);

    public async Task<JobRecord?> GetAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand($"SELECT {JobRows.Columns} FROM meshos_jobs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        var sql = new StringBuilder($"SELECT {JobRows.Columns} FROM meshos_jobs WHERE tenant_id = $1");
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

    public async Task<int> DeleteTerminalAsync(DateTimeOffset completedBefore, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand("""
            DELETE FROM meshos_jobs WHERE id IN (
                SELECT id FROM meshos_jobs WHERE status >= 3 AND completed_at < $1 ORDER BY completed_at LIMIT $2)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = completedBefore.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<JobRecord?> GetByKeyAsync(string tenantId, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.DataSource.CreateCommand(
            $"SELECT {JobRows.Columns} FROM meshos_jobs WHERE tenant_id = $1 AND idempotency_key = $2");
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
