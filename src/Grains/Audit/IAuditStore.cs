using MeshOs.Abstractions.Audit;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Audit;

/// <summary>
/// Where the audit chain is kept: in process memory (embedded mode) or in PostgreSQL. Both seal entries with
/// <see cref="AuditChain"/>, so the chain, its hashes and its verification are the same.
/// </summary>
public interface IAuditStore
{
    /// <summary>Seals the drafts onto the one chain and returns their entries once they are durable.</summary>
    Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken = default);

    /// <summary>The last sealed entry (seq 0 for an empty log).</summary>
    Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken = default);

    /// <summary>A page of entries matching the query, newest first.</summary>
    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>The entries with seqs in [<paramref name="from"/>, <paramref name="to"/>] as stored, in seq order.</summary>
    IAsyncEnumerable<AuditEntry> ReadAsync(long from, long to, CancellationToken cancellationToken = default);

    /// <summary>The oldest entry kept, or null when the log holds none.</summary>
    Task<AuditEntry?> FirstAsync(CancellationToken cancellationToken = default);

    Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default);

    /// <summary>The checkpoints with seqs in [<paramref name="from"/>, <paramref name="to"/>], in seq order.</summary>
    Task<IReadOnlyList<AuditCheckpoint>> CheckpointsAsync(long from, long to, CancellationToken cancellationToken = default);

    /// <summary>The checkpoint with the highest seq (of <paramref name="kind"/>, when given).</summary>
    Task<AuditCheckpoint?> LastCheckpointAsync(AuditCheckpointKind? kind, CancellationToken cancellationToken = default);

    /// <summary>
    /// Drops every whole month of entries that ended at or before <paramref name="cutoff"/> (see <see cref="AuditRetentionPolicy"/>).
    /// Before dropping, it stores <paramref name="boundary"/>(seq, hash) for the last dropped entry, so the kept rest
    /// still verifies from there. Returns the months dropped.
    /// </summary>
    Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, Func<long, string, AuditCheckpoint> boundary, CancellationToken cancellationToken = default);
}

/// <summary>Which months of entries retention drops (pure): a month goes once all of it is older than the retention.</summary>
public static class AuditRetentionPolicy
{
    /// <summary>The audit log's monthly partitions (<c>meshos_audit_yyyyMM</c>).</summary>
    public static readonly TimePartitioning Months = new("meshos_audit_", PartitionPeriod.Month);

    /// <summary>The first day (UTC) of the month holding <paramref name="at"/>.</summary>
    public static DateOnly MonthOf(DateTimeOffset at) => Months.PeriodOf(at);

    public static DateTimeOffset Start(DateOnly month) => Months.Start(month);

    public static DateTimeOffset End(DateOnly month) => Months.End(month);

    /// <summary>Entries older than this may go: now minus the retention.</summary>
    public static DateTimeOffset Cutoff(DateTimeOffset now, TimeSpan retention) => now - retention;

    /// <summary>A month is dropped when it ended at or before the cutoff.</summary>
    public static bool IsDroppable(DateOnly month, DateTimeOffset cutoff) => Months.IsDroppable(month, cutoff);
}
