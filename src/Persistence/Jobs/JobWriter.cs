using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Persistence.Agents;
using MeshOs.Persistence.Audit;
using MeshOs.Persistence.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace MeshOs.Persistence.Jobs;

/// <summary>
/// Group commit for the job store, the agent store and the event log. Grains hand in writes and await them; each of a few writer
/// loops takes every write waiting (up to a batch), applies them in one transaction with one round trip (inserts,
/// versioned updates and their events as array-bound statements) and completes them all at commit. Throughput then
/// grows with load instead of being capped by one commit per write. Audit entries carried with a job write go into the
/// audit inbox in the same transaction, only when the write is applied (sql/0014_audit_inbox.sql), and the audit store
/// is told to seal them onto the chain.
/// </summary>
internal sealed partial class JobWriter(
    PostgresConnection connection,
    IOptions<PostgresStoreOptions> options,
    PostgresAuditStore audit,
    ILogger<JobWriter> logger) : BackgroundService
{
    private static readonly Meter Meter = new("MeshOs.Storage");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram("meshos.storage.batch_size", "{write}", "Writes committed per transaction.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] });
    private static readonly Histogram<double> CommitTime = Meter.CreateHistogram("meshos.storage.commit_duration", "s", "Time to apply and commit one batch.",
        advice: Grains.Telemetry.KernelMetrics.SecondsBuckets);
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("meshos.storage.batch_failures", "{batch}", "Batches that failed (their writes were not acknowledged).");

    private const int MaxEventsPerBatch = 100_000;

    private readonly Channel<Write> _queue = Channel.CreateUnbounded<Write>(new UnboundedChannelOptions { SingleReader = false });

    /// <summary>Inserts the job (true) unless its id or idempotency key is taken (false); <paramref name="entries"/> are written with it.</summary>
    public Task<bool> InsertAsync(JobRecord job, ImmutableArray<AuditDraft> entries) => Enqueue(new InsertWrite(job) { Audit = entries.IsDefault ? [] : entries });

    /// <summary>Writes the newer version of a job (true) or nothing (false); <paramref name="entries"/> are written with it.</summary>
    public Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, ImmutableArray<AuditDraft> entries) =>
        Enqueue(new UpdateWrite(job, events) { Audit = entries.IsDefault ? [] : entries });

    public Task<bool> AppendAsync(ImmutableArray<MeshEvent> events) => Enqueue(new AppendWrite(events));

    /// <summary>Writes an agent's record (when newer than the stored one) with its events; see <see cref="AgentRows.UpsertCommand"/>.</summary>
    public Task<bool> WriteAgentAsync(AgentRecord agent, ImmutableArray<MeshEvent> events) => Enqueue(new AgentWrite(agent, events));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.Writers).Select(_ => Task.Run(() => WriteLoopAsync(stoppingToken), stoppingToken)));

    private Task<bool> Enqueue(Write write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            write.Done.TrySetException(new InvalidOperationException("The job store is shutting down."));
        }

        return write.Done.Task;
    }

    /// <summary>
    /// One writer: its own connection, kept open between batches (its statements stay prepared on the server), and
    /// opened afresh after a failure.
    /// </summary>
    private async Task WriteLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Write>(options.Value.MaxBatch);
        NpgsqlConnection? conn = null;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // Event positions leave room for 2^20 events per transaction: stay far below.
                var events = 0;
                while (batch.Count < options.Value.MaxBatch && events < MaxEventsPerBatch && _queue.Reader.TryRead(out var write))
                {
                    batch.Add(write);
                    events += write.EventCount;
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                var started = Stopwatch.GetTimestamp();
                try
                {
                    conn ??= await OpenWriterConnectionAsync(stoppingToken);
                    await CommitAsync(conn, batch, stoppingToken);
                    BatchSize.Record(batch.Count);
                    CommitTime.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                catch (Exception ex)
                {
                    Failures.Add(1);
                    LogBatchFailed(logger, batch.Count, ex.GetBaseException().Message);
                    foreach (var write in batch)
                    {
                        write.Done.TrySetException(ex);
                    }

                    // The connection may be what failed (a restarted server, a broken socket): the next batch opens a new one.
                    if (conn is not null)
                    {
                        await conn.DisposeAsync();
                        conn = null;
                    }
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (conn is not null)
            {
                await conn.DisposeAsync();
            }
        }

        foreach (var write in batch)
        {
            write.Done.TrySetException(new OperationCanceledException("The job store stopped."));
        }
    }

    /// <summary>
    /// A writer's connection. Its statements are prepared once, but planned at every execution
    /// (<c>force_custom_plan</c>): a generic plan made while the job table was small (a sequential scan) would be kept
    /// as the table grows, and PostgreSQL then scanned the whole table for every batch (measured: 1.2 cores busy at
    /// 1,000 jobs/s, 171 commits/s, until the next ANALYZE replaced the plan).
    /// </summary>
    private async Task<NpgsqlConnection> OpenWriterConnectionAsync(CancellationToken cancellationToken)
    {
        var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var set = new NpgsqlCommand("SET plan_cache_mode = force_custom_plan", conn);
            await set.ExecuteNonQueryAsync(cancellationToken);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Commits a batch. Within one batch a job may appear more than once only when two activations race (a silo
    /// failover): per job only one insert is attempted, and only the highest-version update; the others are answered
    /// "not applied", which is what they would have met one transaction later. When the database rejects the batch
    /// because of one write's data, the writes are retried one by one so only that write fails.
    /// </summary>
    private async Task CommitAsync(NpgsqlConnection conn, List<Write> batch, CancellationToken cancellationToken)
    {
        try
        {
            await CommitOnceAsync(conn, batch, cancellationToken);
        }
        catch (PostgresException ex) when (batch.Count > 1 && IsDataError(ex))
        {
            LogBatchSplit(logger, batch.Count, ex.SqlState);
            foreach (var write in batch)
            {
                try
                {
                    await CommitOnceAsync(conn, [write], cancellationToken);
                }
                catch (Exception single) when (single is not OperationCanceledException)
                {
                    write.Done.TrySetException(single);
                }
            }
        }
    }

    /// <summary>Data exceptions (class 22) and integrity violations (class 23) belong to one write, not to the batch.</summary>
    private static bool IsDataError(PostgresException ex) => ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal);

    /// <summary>
    /// Applies a batch as one implicit transaction: every statement goes out in one message sequence ending in a single
    /// Sync, which PostgreSQL runs as one transaction and commits (flushed, with synchronous commit) before it answers
    /// ReadyForQuery. The reader is consumed to that answer before any write is acknowledged; no BEGIN/COMMIT round
    /// trips. The statements are prepared on the writer's connection once and reused.
    /// </summary>
    private async Task CommitOnceAsync(NpgsqlConnection conn, List<Write> batch, CancellationToken cancellationToken)
    {
        var inserts = new List<InsertWrite>();
        var duplicateInserts = new List<InsertWrite>();
        var seenIds = new HashSet<Guid>();
        var seenKeys = new HashSet<(string, string)>();
        foreach (var insert in batch.OfType<InsertWrite>())
        {
            var job = insert.Job;
            var keyTaken = job.Spec.IdempotencyKey is { } key && !seenKeys.Add((job.TenantId, key));
            if (!seenIds.Add(job.JobId) || keyTaken)
            {
                duplicateInserts.Add(insert);
            }
            else
            {
                inserts.Add(insert);
            }
        }

        // Per job, the highest version (first of equals) is the one that may apply.
        var candidates = batch.OfType<UpdateWrite>()
            .GroupBy(u => u.Job.JobId)
            .Select(g => g.OrderByDescending(u => u.Job.Version).First())
            .ToList();
        var losers = batch.OfType<UpdateWrite>().Except(candidates).ToList();
        // Per agent likewise (an upsert may touch a row only once per statement).
        var agentCandidates = batch.OfType<AgentWrite>()
            .GroupBy(a => a.Agent.AgentId, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(a => a.Agent.Version).First())
            .ToList();
        var agentLosers = batch.OfType<AgentWrite>().Except(agentCandidates).ToList();
        var appends = batch.OfType<AppendWrite>().ToList();

        await using var commands = new NpgsqlBatch(conn);
        var ordinal = 0;
        var appendsEvents = batch.Any(w => w.EventCount > 0);
        if (appendsEvents)
        {
            // Before any write gives the transaction its id (which numbers its events): readers then see it as an
            // open event writer for as long as it may still commit events.
            commands.BatchCommands.Add(new NpgsqlBatchCommand(EventRows.WriterLockSql));
        }

        // A fresh job's id is version 7 (its submit time): the statement checking those ids probes only the partitions
        // of the days around that time. Any other id (an idempotency key's, a client's) or key may be anywhere.
        var insertGroups = inserts.GroupBy(i => i.Job.Spec.IdempotencyKey is null && JobRows.IdTime(i.Job.JobId) is not null)
            .OrderByDescending(g => g.Key)
            .Select(g => g.ToList())
            .ToList();
        foreach (var group in insertGroups)
        {
            commands.BatchCommands.Add(InsertCommand(group, Entries(group)));
        }

        var candidateEntries = Entries(candidates);
        if (candidates.Count > 0)
        {
            commands.BatchCommands.Add(UpdateCommand(candidates, candidateEntries, ref ordinal));
        }

        if (agentCandidates.Count > 0)
        {
            commands.BatchCommands.Add(AgentRows.UpsertCommand([.. agentCandidates.Select(a => (a.Agent, a.Events))], ref ordinal));
        }

        if (appends.Count > 0)
        {
            commands.BatchCommands.Add(AppendCommand(appends.SelectMany(a => a.Events), ref ordinal));
        }

        var inserted = new HashSet<Guid>();
        var updated = new HashSet<Guid>();
        var agentsWritten = new HashSet<string>(StringComparer.Ordinal);
        if (commands.BatchCommands.Count > 0)
        {
            await commands.PrepareAsync(cancellationToken);
            await using (var reader = await commands.ExecuteReaderAsync(cancellationToken))
            {
                // One result per statement, in the order they were added; appends return no rows.
                if (appendsEvents)
                {
                    await reader.NextResultAsync(cancellationToken);
                }

                foreach (var _ in insertGroups)
                {
                    await ReadResultAsync(reader, r => inserted.Add(r.GetGuid(0)), cancellationToken);
                }

                if (candidates.Count > 0)
                {
                    await ReadResultAsync(reader, r => updated.Add(r.GetGuid(0)), cancellationToken);
                }

                if (agentCandidates.Count > 0)
                {
                    await ReadResultAsync(reader, r => agentsWritten.Add(r.GetString(0)), cancellationToken);
                }

                // Read to the end: a failure at commit arrives after the last result.
                while (await reader.NextResultAsync(cancellationToken))
                {
                }
            }
        }

        if (insertGroups.Any(g => g.Any(i => i.Audit.Length > 0)) || candidateEntries.Count > 0)
        {
            audit.InboxFilled();
        }

        inserts.ForEach(w => w.Done.TrySetResult(inserted.Contains(w.Job.JobId)));
        duplicateInserts.ForEach(w => w.Done.TrySetResult(false));
        candidates.ForEach(w => w.Done.TrySetResult(updated.Contains(w.Job.JobId)));
        losers.ForEach(w => w.Done.TrySetResult(false));
        agentCandidates.ForEach(w => w.Done.TrySetResult(agentsWritten.Contains(w.Agent.AgentId)));
        agentLosers.ForEach(w => w.Done.TrySetResult(false));
        appends.ForEach(w => w.Done.TrySetResult(true));
    }

    /// <summary>Reads the current result's rows, then moves to the next result.</summary>
    private static async Task ReadResultAsync(NpgsqlDataReader reader, Func<NpgsqlDataReader, bool> row, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            row(reader);
        }

        await reader.NextResultAsync(cancellationToken);
    }

    /// <summary>
    /// Inserts the jobs whose id, and tenant's idempotency key, no partition holds (sql/0011_jobs_partitioned.sql: no
    /// unique index spans the partitions). The checks run per job against each partition's unique index (OFFSET 0
    /// keeps them per-row index probes, never a join over a whole partition); ON CONFLICT DO NOTHING covers a
    /// concurrent insert into the same day. When every id is version 7 without a key, the id check is bounded to the
    /// days around the ids' times, a constant the planner prunes the other partitions with.
    /// </summary>
    /// <summary>The audit entries the writes carry, each with its job.</summary>
    private static List<(Guid JobId, AuditDraft Draft)> Entries(IEnumerable<JobWrite> writes) =>
        [.. writes.SelectMany(w => w.Audit.Select(d => (w.Job.JobId, d)))];

    private static NpgsqlBatchCommand InsertCommand(List<InsertWrite> inserts, List<(Guid JobId, AuditDraft Draft)> entries)
    {
        var jobs = inserts.Select(i => i.Job).ToList();
        var idTimes = jobs.Select(j => j.Spec.IdempotencyKey is null ? JobRows.IdTime(j.JobId) : null).ToList();
        var bounded = idTimes.All(t => t is not null);
        var existing = bounded
            ? "NOT EXISTS (SELECT 1 FROM meshos_jobs j WHERE j.id = u.id AND j.created_at BETWEEN $34 AND $35 OFFSET 0)"
            : """
              NOT EXISTS (SELECT 1 FROM meshos_jobs j WHERE j.id = u.id OFFSET 0)
                AND (u.idempotency_key IS NULL OR NOT EXISTS (
                    SELECT 1 FROM meshos_jobs j WHERE j.tenant_id = u.tenant_id AND j.idempotency_key = u.idempotency_key OFFSET 0))
              """;
        var firstEntryParameter = bounded ? 36 : 34;
        var command = new NpgsqlBatchCommand((entries.Count > 0 ? "WITH ins AS (\n" : string.Empty) + $"""
            INSERT INTO meshos_jobs ({JobRows.Columns})
            SELECT {JobRows.ScalarColumns}, string_to_array(data_classes, E'\n') FROM unnest(
                $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::smallint[], $8::smallint[], $9::int[],
                $10::int[], $11::bigint[], $12::bigint[], $13::float8[], $14::bigint[], $15::text[], $16::text[], $17::text[],
                $18::text[], $19::text[], $20::bigint[], $21::timestamptz[], $22::timestamptz[], $23::timestamptz[],
                $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::bigint[], $29::bigint[],
                $30::bigint[], $31::numeric[], $32::text[], $33::text[])
                AS u({JobRows.ScalarColumns}, data_classes)
            WHERE {existing}
            ON CONFLICT DO NOTHING
            RETURNING id
            """ + (entries.Count > 0
                ? $"\n), audited AS (\n{AuditRows.InboxInsertSql(firstEntryParameter, "SELECT id FROM ins")}\n)\nSELECT id FROM ins"
                : string.Empty));
        var p = command.Parameters;
        p.Add(Array(jobs.Select(j => j.JobId)));
        p.Add(Array(jobs.Select(j => j.TenantId)));
        p.Add(Array(jobs.Select(j => j.Spec.Type)));
        p.Add(Array(jobs.Select(j => j.Spec.Capability)));
        p.Add(Array(jobs.Select(j => j.Spec.Pool)));
        p.Add(Array(jobs.Select(j => j.Shard)));
        p.Add(Array(jobs.Select(j => (short)j.Spec.Priority)));
        p.Add(Array(jobs.Select(j => (short)j.Status)));
        p.Add(Array(jobs.Select(j => j.Attempts)));
        p.Add(Array(jobs.Select(j => j.Spec.Retry.MaxAttempts)));
        p.Add(Array(jobs.Select(j => (long)j.Spec.Retry.InitialBackoff.TotalMilliseconds)));
        p.Add(Array(jobs.Select(j => (long)j.Spec.Retry.MaxBackoff.TotalMilliseconds)));
        p.Add(Array(jobs.Select(j => j.Spec.Retry.Multiplier)));
        p.Add(Array(jobs.Select(j => (long)j.Spec.Timeout.TotalMilliseconds)));
        p.Add(Array(jobs.Select(j => j.Spec.IdempotencyKey)));
        p.Add(Array(jobs.Select(j => j.Spec.PayloadJson)));
        p.Add(Array(jobs.Select(j => j.ResultJson)));
        p.Add(Array(jobs.Select(j => j.Error)));
        p.Add(Array(jobs.Select(j => j.AgentId)));
        p.Add(Array(jobs.Select(j => j.Epoch)));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.LeaseExpiresAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.LeasedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.StartedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.CompletedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.CreatedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.UpdatedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.AvailableAt))));
        p.Add(Array(jobs.Select(j => j.Version)));
        p.Add(Array(jobs.Select(j => j.Usage.TokensIn)));
        p.Add(Array(jobs.Select(j => j.Usage.TokensOut)));
        p.Add(Array(jobs.Select(j => j.Usage.Cost)));
        p.Add(Array(jobs.Select(j => j.AgentVersion)));
        p.Add(Array(jobs.Select(j => JobRows.JoinClasses(j.Spec.DataClasses))));
        if (bounded)
        {
            p.Add(new NpgsqlParameter { Value = (idTimes.Min()!.Value - JobRows.IdTimeSlack).UtcDateTime });
            p.Add(new NpgsqlParameter { Value = (idTimes.Max()!.Value + JobRows.IdTimeSlack).UtcDateTime });
        }

        if (entries.Count > 0)
        {
            AuditRows.AddInboxParameters(p, entries);
        }

        return command;
    }

    private static NpgsqlBatchCommand UpdateCommand(List<UpdateWrite> updates, List<(Guid JobId, AuditDraft Draft)> entries, ref int ordinal)
    {
        var jobs = updates.Select(u => u.Job).ToList();
        var events = new List<(Guid JobId, int Ordinal, MeshEvent Event)>();
        foreach (var update in updates)
        {
            foreach (var e in update.Events)
            {
                events.Add((update.Job.JobId, ordinal++, e));
            }
        }

        var command = new NpgsqlBatchCommand($"""
            WITH u AS (
                SELECT * FROM unnest(
                    $1::uuid[], $2::smallint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::timestamptz[],
                    $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::bigint[],
                    $15::bigint[], $16::bigint[], $17::numeric[], $18::text[], $26::text[])
                AS u(id, status, attempts, result, error, agent_id, epoch, lease_expires_at, leased_at, started_at, completed_at,
                     updated_at, available_at, version, tokens_in, tokens_out, cost, agent_version, routing)
            ), changed AS (
                UPDATE meshos_jobs j
                SET status = u.status, attempts = u.attempts, result = u.result, error = u.error, agent_id = u.agent_id,
                    epoch = u.epoch, lease_expires_at = u.lease_expires_at, leased_at = u.leased_at, started_at = u.started_at,
                    completed_at = u.completed_at, updated_at = u.updated_at, available_at = u.available_at, version = u.version,
                    tokens_in = u.tokens_in, tokens_out = u.tokens_out, cost = u.cost, agent_version = u.agent_version,
                    routing = u.routing
                FROM u
                WHERE j.id = u.id AND j.version < u.version AND j.created_at BETWEEN $24 AND $25
                RETURNING j.id
            ), appended AS (
            {EventRows.AppendSql(19, "uuid", "SELECT id FROM changed")}
            ){(entries.Count > 0 ? $", audited AS (\n{AuditRows.InboxInsertSql(27, "SELECT id FROM changed")}\n)" : string.Empty)}
            SELECT id FROM changed
            """);
        var p = command.Parameters;
        p.Add(Array(jobs.Select(j => j.JobId)));
        p.Add(Array(jobs.Select(j => (short)j.Status)));
        p.Add(Array(jobs.Select(j => j.Attempts)));
        p.Add(Array(jobs.Select(j => j.ResultJson)));
        p.Add(Array(jobs.Select(j => j.Error)));
        p.Add(Array(jobs.Select(j => j.AgentId)));
        p.Add(Array(jobs.Select(j => j.Epoch)));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.LeaseExpiresAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.LeasedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.StartedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.CompletedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.UpdatedAt))));
        p.Add(Array(jobs.Select(j => JobRows.Utc(j.AvailableAt))));
        p.Add(Array(jobs.Select(j => j.Version)));
        p.Add(Array(jobs.Select(j => j.Usage.TokensIn)));
        p.Add(Array(jobs.Select(j => j.Usage.TokensOut)));
        p.Add(Array(jobs.Select(j => j.Usage.Cost)));
        p.Add(Array(jobs.Select(j => j.AgentVersion)));
        EventRows.AddParameters(p, events.Select(e => (e.JobId, e.Ordinal, e.Event)));
        // The batch's creation days, as constants the planner prunes the other partitions with (sql/0011): a job's
        // creation time never changes, and this spares planning and probing every day kept.
        p.Add(new NpgsqlParameter { Value = jobs.Min(j => j.CreatedAt).UtcDateTime });
        p.Add(new NpgsqlParameter { Value = jobs.Max(j => j.CreatedAt).UtcDateTime });
        p.Add(Array(jobs.Select(j => JobRows.RoutingText(j.Routing))));
        if (entries.Count > 0)
        {
            AuditRows.AddInboxParameters(p, entries);
        }

        return command;
    }

    private static NpgsqlBatchCommand AppendCommand(IEnumerable<MeshEvent> events, ref int ordinal)
    {
        var numbered = new List<(Guid, int, MeshEvent)>();
        foreach (var e in events)
        {
            numbered.Add((Guid.Empty, ordinal++, e));
        }

        var command = new NpgsqlBatchCommand(EventRows.AppendSql(1, "uuid"));
        EventRows.AddParameters(command.Parameters, numbered);
        return command;
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values) => new() { Value = values.ToArray() };

    private abstract class Write
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public virtual int EventCount => 0;
    }

    /// <summary>A write of a job, with the audit entries to write in its transaction when it is applied.</summary>
    private abstract class JobWrite(JobRecord job) : Write
    {
        public JobRecord Job { get; } = job;

        public ImmutableArray<AuditDraft> Audit { get; init; } = [];
    }

    private sealed class InsertWrite(JobRecord job) : JobWrite(job);

    private sealed class UpdateWrite(JobRecord job, ImmutableArray<MeshEvent> events) : JobWrite(job)
    {
        public ImmutableArray<MeshEvent> Events { get; } = events.IsDefault ? [] : events;

        public override int EventCount => Events.Length;
    }

    private sealed class AgentWrite(AgentRecord agent, ImmutableArray<MeshEvent> events) : Write
    {
        public AgentRecord Agent { get; } = agent;

        public ImmutableArray<MeshEvent> Events { get; } = events.IsDefault ? [] : events;

        public override int EventCount => Events.Length;
    }

    private sealed class AppendWrite(ImmutableArray<MeshEvent> events) : Write
    {
        public ImmutableArray<MeshEvent> Events { get; } = events;

        public override int EventCount => Events.Length;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} job-store writes was refused for one write's data ({SqlState}); committing them one by one")]
    private static partial void LogBatchSplit(ILogger logger, int count, string sqlState);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} job-store write(s) failed: {Reason}")]
    private static partial void LogBatchFailed(ILogger logger, int count, string reason);
}
