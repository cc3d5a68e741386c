using MeshOs.Abstractions.Audit;

namespace MeshOs.Grains.Audit;

/// <summary>
/// The audit log as the silo's components use it: append (the gateway's mutation recorder through
/// <c>IAuditGrain</c>; supervisors and policies directly), query, verify, checkpoint, retention.
/// </summary>
public interface IAuditLog
{
    /// <summary>Whether recording is on (<c>MeshOs:Audit:Enabled</c>); when off, appends do nothing and return null.</summary>
    bool Enabled { get; }

    /// <summary>Appends one entry; returns it once it is durable.</summary>
    Task<AuditEntry?> AppendAsync(AuditDraft draft, CancellationToken cancellationToken = default);

    /// <summary>Appends the entries in order, in one commit of the store; returns them once durable (empty when recording is off).</summary>
    Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken = default);

    Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);

    /// <summary>Walks the chain from <paramref name="from"/> (default: the oldest kept) to <paramref name="to"/> (default: the head).</summary>
    Task<AuditVerdict> VerifyAsync(long? from, long? to, CancellationToken cancellationToken = default);

    /// <summary>Signs and stores a checkpoint of the head; null when there is no key or nothing new to sign (unless at shutdown).</summary>
    Task<AuditCheckpoint?> CheckpointAsync(AuditCheckpointKind kind, CancellationToken cancellationToken = default);

    /// <summary>Drops the months past retention (with a boundary checkpoint first); returns the months dropped.</summary>
    Task<IReadOnlyList<DateOnly>> ApplyRetentionAsync(CancellationToken cancellationToken = default);
}

/// <summary>The audit log over its store, signing checkpoints with the key kept outside the database.</summary>
public sealed class AuditLog(IAuditStore store, AuditCheckpointSigner? signer, bool enabled, TimeSpan retention,
    [Microsoft.Extensions.DependencyInjection.FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : IAuditLog
{
    public bool Enabled => enabled;

    public async Task<AuditEntry?> AppendAsync(AuditDraft draft, CancellationToken cancellationToken = default) =>
        enabled ? (await AppendAsync([draft], cancellationToken))[0] : null;

    public Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken = default) =>
        enabled && drafts.Count > 0
            ? store.AppendAsync([.. drafts.Select(d => d.Storable())], cancellationToken) // every appender's draft made storable
            : Task.FromResult<IReadOnlyList<AuditEntry>>([]);

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => store.QueryAsync(query, cancellationToken);

    public async Task<AuditVerdict> VerifyAsync(long? from, long? to, CancellationToken cancellationToken = default)
    {
        var head = await store.GetHeadAsync(cancellationToken);
        var last = await store.LastCheckpointAsync(null, cancellationToken);
        var boundary = await store.LastCheckpointAsync(AuditCheckpointKind.Boundary, cancellationToken);
        var start = Math.Max(from ?? 1, (boundary?.Seq ?? 0) + 1);
        var end = to ?? Math.Max(head.Seq, last?.Seq ?? 0);
        if (boundary is not null && signer is not null && !signer.IsValid(boundary))
        {
            return new AuditVerdict(false, start, end, 0, 0, boundary.Seq, AuditProblem.BadCheckpoint,
                $"The boundary checkpoint at entry {boundary.Seq} (where retention cut the chain) has a wrong signature.");
        }

        var anchor = await AnchorAsync(start, boundary, cancellationToken);
        var checkpoints = await store.CheckpointsAsync(start, end, cancellationToken);
        var walker = new AuditChainWalker(start, end, anchor ?? string.Empty, checkpoints, signer);
        await foreach (var entry in store.ReadAsync(start, end, cancellationToken))
        {
            if (anchor is null)
            {
                // A range starting mid-chain after a missing entry: the first entry is taken as it links.
                anchor = entry.PrevHash;
                walker = new AuditChainWalker(start, end, anchor, checkpoints, signer);
            }

            if (!walker.Next(entry))
            {
                break;
            }
        }

        return walker.Finish();
    }

    public async Task<AuditCheckpoint?> CheckpointAsync(AuditCheckpointKind kind, CancellationToken cancellationToken = default)
    {
        if (signer is null)
        {
            return null;
        }

        var head = await store.GetHeadAsync(cancellationToken);
        var last = await store.LastCheckpointAsync(null, cancellationToken);
        if (head.Seq == 0 || (last is not null && last.Seq >= head.Seq && kind != AuditCheckpointKind.Shutdown))
        {
            return null;
        }

        var checkpoint = signer.Sign(head.Seq, head.Hash, time.GetUtcNow(), kind);
        await store.AddCheckpointAsync(checkpoint, cancellationToken);
        return checkpoint;
    }

    public Task<IReadOnlyList<DateOnly>> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        return store.PruneAsync(AuditRetentionPolicy.Cutoff(now, retention), (seq, hash) =>
            signer?.Sign(seq, hash, now, AuditCheckpointKind.Boundary)
            ?? new AuditCheckpoint(seq, hash, AuditCanonical.Truncate(now), AuditCheckpointKind.Boundary, string.Empty), cancellationToken);
    }

    /// <summary>The hash the entry before <paramref name="start"/> has: zero at the start, the boundary's after retention, else as stored.</summary>
    private async Task<string?> AnchorAsync(long start, AuditCheckpoint? boundary, CancellationToken cancellationToken)
    {
        if (start == 1)
        {
            return AuditHead.ZeroHash;
        }

        if (boundary is not null && boundary.Seq == start - 1)
        {
            return boundary.Hash;
        }

        await foreach (var before in store.ReadAsync(start - 1, start - 1, cancellationToken))
        {
            return before.Hash;
        }

        return null;
    }
}
