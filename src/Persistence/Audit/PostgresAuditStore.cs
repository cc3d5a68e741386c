using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using MeshOs.Abstractions.Audit;
using MeshOs.Grains.Audit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MeshOs.Persistence.Audit;

/// <summary>
/// The audit chain on PostgreSQL (<c>sql/0007_audit.sql</c>). Appends are group-committed: one writer loop takes every
/// draft waiting (up to <see cref="AuditOptions.MaxBatch"/>) and, in one transaction, locks the head row, seals the
/// drafts onto it, inserts them and moves the head; the appends complete at commit. The head row's lock is what keeps
/// one chain across silos, and the batch amortises it. Each of those transactions also seals the audit inbox
/// (sql/0014_audit_inbox.sql): the entries the job store wrote with job changes are taken, oldest first, and chained
/// ahead of the batch's own drafts. The job writer asks for a seal after each commit that wrote entries; a poll every
/// <see cref="AuditOptions.InboxPollInterval"/> takes what another silo left; a query or verification seals first.
/// </summary>
internal sealed partial class PostgresAuditStore(
    PostgresConnection connection,
    IOptions<AuditOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<PostgresAuditStore> logger) : BackgroundService, IAuditStore
{
    private static readonly Meter Meter = new("MeshOs.Audit");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram("meshos.audit.batch_size", "{entry}", "Audit entries sealed per transaction.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] });
    private static readonly Counter<long> InboxSealed = Meter.CreateCounter<long>("meshos.audit.inbox_sealed", "{entry}",
        "Audit entries written with job changes (the inbox) and sealed onto the chain.");

    private readonly Channel<Append> _queue = Channel.CreateUnbounded<Append>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PartitionsMade _partitions = new("meshos_audit_ensure_partition");
    private int _sealAsked;

    /// <summary>
    /// The job writer wrote entries into the inbox: the writer loop seals them with its next transaction (at once when
    /// idle). Requests made while one waits are one.
    /// </summary>
    public void InboxFilled()
    {
        if (Interlocked.Exchange(ref _sealAsked, 1) == 0)
        {
            _queue.Writer.TryWrite(new Append([]));
        }
    }

    /// <summary>
    /// Seals what the inbox holds now (a transaction of the writer loop) so that a read that follows sees every
    /// acknowledged entry. A failure is logged only: the read goes on over what is sealed.
    /// </summary>
    private async Task SealInboxAsync()
    {
        var seal = new Append([]);
        if (!_queue.Writer.TryWrite(seal))
        {
            return;
        }

        try
        {
            await seal.Done.Task;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSealFailed(logger, ex.GetBaseException().Message);
        }
    }

    public Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken = default)
    {
        var append = new Append(drafts);
        if (!_queue.Writer.TryWrite(append))
        {
            append.Done.TrySetException(new InvalidOperationException("The audit store is shutting down."));
        }

        return append.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = PollInboxAsync(stoppingToken);
        await WriteLoopAsync(stoppingToken);
        await poll;
    }

    /// <summary>Asks for a seal every <see cref="AuditOptions.InboxPollInterval"/>: rows another silo's writer left (it stopped), rows from before a restart.</summary>
    private async Task PollInboxAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.InboxPollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                InboxFilled();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WriteLoopAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Append>();
        NpgsqlConnection? conn = null;
        try
        {
            conn = await WarmUpAsync(stoppingToken);
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var count = 0;
                while (count < options.Value.MaxBatch && _queue.Reader.TryRead(out var append))
                {
                    batch.Add(append);
                    count += append.Drafts.Count;
                }

                // From here a new inbox write asks again: this transaction may start before it commits.
                Interlocked.Exchange(ref _sealAsked, 0);

                try
                {
                    conn ??= await connection.DataSource.OpenConnectionAsync(stoppingToken);
                    var sealedEntries = await CommitAsync(conn, [.. batch.SelectMany(a => a.Drafts)], stoppingToken);
                    BatchSize.Record(sealedEntries.Count);
                    var offset = 0;
                    foreach (var append in batch)
                    {
                        append.Done.TrySetResult([.. sealedEntries.Skip(offset).Take(append.Drafts.Count)]);
                        offset += append.Drafts.Count;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogBatchFailed(logger, count, ex);
                    batch.ForEach(a => a.Done.TrySetException(ex));
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

        _queue.Writer.TryComplete();
        foreach (var append in batch.Concat(Drain()))
        {
            append.Done.TrySetException(new OperationCanceledException("The audit store stopped."));
        }
    }

    /// <summary>
    /// Opens the writer's connection and makes this month's partition at start, so that the first mutation after a
    /// silo starts does not wait for them (under load they took longer than an append's retry budget, and the first
    /// audited call answered 503). A failure is only logged: the first batch tries again.
    /// </summary>
    private async Task<NpgsqlConnection?> WarmUpAsync(CancellationToken stoppingToken)
    {
        NpgsqlConnection? conn = null;
        try
        {
            conn = await connection.DataSource.OpenConnectionAsync(stoppingToken);
            await _partitions.EnsureAsync(conn, AuditRetentionPolicy.MonthOf(time.GetUtcNow()), stoppingToken);
            return conn;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogWarmUpFailed(logger, ex.GetBaseException().Message);
            if (conn is not null)
            {
                await conn.DisposeAsync();
            }

            return null;
        }
    }

    private IEnumerable<Append> Drain()
    {
        while (_queue.Reader.TryRead(out var append))
        {
            yield return append;
        }
    }

    /// <summary>
    /// Locks the head, takes the oldest inbox rows, seals them and then the drafts onto it, inserts them, moves the head
    /// and deletes the rows taken: one transaction. Returns the drafts' entries (the inbox's are nobody's to answer).
    /// </summary>
    private async Task<IReadOnlyList<AuditEntry>> CommitAsync(NpgsqlConnection conn, IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await _partitions.EnsureAsync(conn, AuditRetentionPolicy.MonthOf(now), cancellationToken);
        await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
        AuditHead head;
        await using (var read = new NpgsqlCommand("SELECT seq, hash, at FROM meshos_audit_head WHERE id = 1 FOR UPDATE", conn, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new InvalidOperationException("The audit head row is missing (meshos_audit_head): the schema was altered.");
            }

            head = new AuditHead(reader.GetInt64(0), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(1)), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero));
        }

        var inbox = new List<(long Id, AuditDraft Draft)>();
        await using (var take = new NpgsqlCommand(AuditRows.InboxTakeSql, conn, transaction))
        {
            take.Parameters.Add(new NpgsqlParameter { Value = options.Value.MaxBatch });
            await using var reader = await take.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                inbox.Add(AuditRows.ReadInbox(reader));
            }
        }

        if (inbox.Count == options.Value.MaxBatch)
        {
            InboxFilled(); // more may wait
        }

        if (inbox.Count + drafts.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return [];
        }

        inbox.Sort((a, b) => a.Id.CompareTo(b.Id));
        var (entries, next) = AuditChain.Seal(head, [.. inbox.Select(i => i.Draft), .. drafts], now);
        await using (var write = new NpgsqlBatch(conn, transaction))
        {
            write.BatchCommands.Add(AuditRows.InsertCommand(entries));
            var move = new NpgsqlBatchCommand("UPDATE meshos_audit_head SET seq = $1, hash = $2, at = $3 WHERE id = 1");
            move.Parameters.Add(new NpgsqlParameter { Value = next.Seq });
            move.Parameters.Add(new NpgsqlParameter { Value = Convert.FromHexString(next.Hash) });
            move.Parameters.Add(new NpgsqlParameter { Value = next.At.UtcDateTime });
            write.BatchCommands.Add(move);
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        InboxSealed.Add(inbox.Count);
        return inbox.Count == 0 ? entries : [.. entries.Skip(inbox.Count)];
    }

    public async Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken = default)
    {
        await SealInboxAsync();
        await using var command = connection.DataSource.CreateCommand("SELECT seq, hash, at FROM meshos_audit_head WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AuditHead(reader.GetInt64(0), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(1)), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero))
            : AuditHead.Empty;
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        await SealInboxAsync();
        var sql = new StringBuilder($"SELECT {AuditRows.Columns} FROM meshos_audit WHERE true");
        await using var command = connection.DataSource.CreateCommand();
        void Filter(string condition, object? value)
        {
            if (value is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
                sql.Append(" AND ").Append(condition.Replace("?", "$" + command.Parameters.Count, StringComparison.Ordinal));
            }
        }

        Filter("actor_key = ?", query.ActorKeyId);
        Filter("tenant = ?", query.Tenant);
        Filter("action = ?", query.Action);
        Filter("target = ?", query.Target);
        Filter("at >= ?", query.From?.UtcDateTime);
        Filter("at < ?", query.To?.UtcDateTime);
        Filter("seq < ?", query.Before);
        sql.Append(" ORDER BY seq DESC LIMIT ").Append(query.Limit + 1);
        command.CommandText = sql.ToString();
        var entries = new List<AuditEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(AuditRows.Read(reader));
            }
        }

        var page = entries.Take(query.Limit).ToImmutableArray();
        return new AuditPage(page, entries.Count > query.Limit ? page[^1].Seq : null);
    }

    public async IAsyncEnumerable<AuditEntry> ReadAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand($"SELECT {AuditRows.Columns} FROM meshos_audit WHERE seq BETWEEN $1 AND $2 ORDER BY seq");
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return AuditRows.Read(reader);
        }
    }

    public async Task<AuditEntry?> FirstAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var entry in ReadSqlAsync($"SELECT {AuditRows.Columns} FROM meshos_audit ORDER BY seq LIMIT 1", cancellationToken))
        {
            return entry;
        }

        return null;
    }

    private async IAsyncEnumerable<AuditEntry> ReadSqlAsync(string sql, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = connection.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return AuditRows.Read(reader);
        }
    }

    public async Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand(InsertCheckpointSql);
        AddCheckpointParameters(command.Parameters, checkpoint);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string InsertCheckpointSql = $"INSERT INTO meshos_audit_checkpoints ({AuditRows.CheckpointColumns}) VALUES ($1, $2, $3, $4, $5)";

    private static void AddCheckpointParameters(NpgsqlParameterCollection p, AuditCheckpoint checkpoint)
    {
        p.Add(new NpgsqlParameter { Value = checkpoint.Seq });
        p.Add(new NpgsqlParameter { Value = Convert.FromHexString(checkpoint.Hash) });
        p.Add(new NpgsqlParameter { Value = checkpoint.At.UtcDateTime });
        p.Add(new NpgsqlParameter { Value = AuditCanonical.Name(checkpoint.Kind) });
        p.Add(new NpgsqlParameter { Value = Convert.FromHexString(checkpoint.Mac) });
    }

    public async Task<IReadOnlyList<AuditCheckpoint>> CheckpointsAsync(long from, long to, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand(
            $"SELECT {AuditRows.CheckpointColumns} FROM meshos_audit_checkpoints WHERE seq BETWEEN $1 AND $2 ORDER BY seq, id");
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        return await ReadCheckpointsAsync(command, cancellationToken);
    }

    public async Task<AuditCheckpoint?> LastCheckpointAsync(AuditCheckpointKind? kind, CancellationToken cancellationToken = default)
    {
        await using var command = connection.DataSource.CreateCommand(
            $"SELECT {AuditRows.CheckpointColumns} FROM meshos_audit_checkpoints WHERE $1::text IS NULL OR kind = $1 ORDER BY seq DESC, id DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = kind is { } k ? AuditCanonical.Name(k) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var found = await ReadCheckpointsAsync(command, cancellationToken);
        return found.Count > 0 ? found[0] : null;
    }

    private static async Task<IReadOnlyList<AuditCheckpoint>> ReadCheckpointsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var checkpoints = new List<AuditCheckpoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            checkpoints.Add(AuditRows.ReadCheckpoint(reader));
        }

        return checkpoints;
    }

    /// <summary>
    /// Drops whole monthly partitions past the cutoff in one transaction, after storing the boundary checkpoint of
    /// the last entry they held.
    /// </summary>
    public async Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, Func<long, string, AuditCheckpoint> boundary, CancellationToken cancellationToken = default)
    {
        await using var conn = await connection.DataSource.OpenConnectionAsync(cancellationToken);
        var months = (await PostgresPartitions.ListAsync(conn, "meshos_audit", AuditRetentionPolicy.Months, cancellationToken))
            .Where(month => AuditRetentionPolicy.IsDroppable(month, cutoff))
            .ToList();
        if (months.Count == 0)
        {
            return [];
        }

        await using var transaction = await conn.BeginTransactionAsync(cancellationToken);
        await using (var last = new NpgsqlCommand("SELECT seq, hash FROM meshos_audit WHERE at < $1 ORDER BY seq DESC LIMIT 1", conn, transaction))
        {
            last.Parameters.Add(new NpgsqlParameter { Value = AuditRetentionPolicy.End(months[^1]).UtcDateTime });
            await using var reader = await last.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                var checkpoint = boundary(reader.GetInt64(0), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(1)));
                await reader.CloseAsync();
                await using var insert = new NpgsqlCommand(InsertCheckpointSql, conn, transaction);
                AddCheckpointParameters(insert.Parameters, checkpoint);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        foreach (var month in months)
        {
            await using var drop = new NpgsqlCommand($"DROP TABLE {PartitionName(month)}", conn, transaction);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            _partitions.Forget(month);
        }

        await transaction.CommitAsync(cancellationToken);
        return months;
    }

    public static string PartitionName(DateOnly month) => AuditRetentionPolicy.Months.Name(month);

    private sealed class Append(IReadOnlyList<AuditDraft> drafts)
    {
        public IReadOnlyList<AuditDraft> Drafts { get; } = drafts;

        public TaskCompletionSource<IReadOnlyList<AuditEntry>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit store: could not prepare its connection and this month's partition at start ({Reason}); the first append will")]
    private static partial void LogWarmUpFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit store: could not seal the inbox before a read ({Reason}); the read shows what is sealed")]
    private static partial void LogSealFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} audit entries failed (none was acknowledged)")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception exception);
}
