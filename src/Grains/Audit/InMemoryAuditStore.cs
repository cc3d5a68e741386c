using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using MeshOs.Abstractions.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Grains.Audit;

/// <summary>The embedded mode's audit chain, in process memory: the same chain and API, gone when the process exits.</summary>
public sealed class InMemoryAuditStore([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : IAuditStore
{
    private readonly Lock _lock = new();
    private readonly List<AuditEntry> _entries = [];
    private readonly List<AuditCheckpoint> _checkpoints = [];
    private AuditHead _head = AuditHead.Empty;

    public Task<IReadOnlyList<AuditEntry>> AppendAsync(IReadOnlyList<AuditDraft> drafts, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var (entries, head) = AuditChain.Seal(_head, drafts, time.GetUtcNow());
            _entries.AddRange(entries);
            _head = head;
            return Task.FromResult(entries);
        }
    }

    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_head);
        }
    }

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var matching = Enumerable.Reverse(_entries)
                .Where(e => query.Before is not { } before || e.Seq < before)
                .Where(e => AuditQueries.Matches(query, e))
                .Take(query.Limit + 1)
                .ToList();
            var page = matching.Take(query.Limit).ToImmutableArray();
            return Task.FromResult(new AuditPage(page, matching.Count > query.Limit ? page[^1].Seq : null));
        }
    }

    public async IAsyncEnumerable<AuditEntry> ReadAsync(long from, long to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        AuditEntry[] range;
        lock (_lock)
        {
            range = [.. _entries.Where(e => e.Seq >= from && e.Seq <= to)];
        }

        foreach (var entry in range)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask;
    }

    public Task<AuditEntry?> FirstAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_entries.Count > 0 ? _entries[0] : null);
        }
    }

    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _checkpoints.Add(checkpoint);
            return Task.CompletedTask;
        }
    }

    public Task<IReadOnlyList<AuditCheckpoint>> CheckpointsAsync(long from, long to, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<AuditCheckpoint>>([.. _checkpoints.Where(c => c.Seq >= from && c.Seq <= to).OrderBy(c => c.Seq)]);
        }
    }

    public Task<AuditCheckpoint?> LastCheckpointAsync(AuditCheckpointKind? kind, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_checkpoints.Where(c => kind is null || c.Kind == kind).MaxBy(c => c.Seq));
        }
    }

    public Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, Func<long, string, AuditCheckpoint> boundary, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var dropped = _entries.TakeWhile(e => AuditRetentionPolicy.IsDroppable(AuditRetentionPolicy.MonthOf(e.At), cutoff)).ToList();
            if (dropped.Count == 0)
            {
                return Task.FromResult<IReadOnlyList<DateOnly>>([]);
            }

            _checkpoints.Add(boundary(dropped[^1].Seq, dropped[^1].Hash));
            _entries.RemoveRange(0, dropped.Count);
            return Task.FromResult<IReadOnlyList<DateOnly>>([.. dropped.Select(e => AuditRetentionPolicy.MonthOf(e.At)).Distinct()]);
        }
    }
}

/// <summary>Query rules both stores apply.</summary>
public static class AuditQueries
{
    public static bool Matches(AuditQuery query, AuditEntry entry) =>
        (query.ActorKeyId is null || entry.Draft.Actor.KeyId == query.ActorKeyId)
        && (query.Tenant is null || entry.Draft.Tenant == query.Tenant)
        && (query.Action is null || entry.Draft.Action == query.Action)
        && (query.Target is null || entry.Draft.Target == query.Target)
        && (query.From is null || entry.At >= query.From)
        && (query.To is null || entry.At < query.To);
}
