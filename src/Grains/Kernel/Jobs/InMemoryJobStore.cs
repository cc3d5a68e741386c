using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Events;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>
/// The embedded mode's job store: the same contract as PostgreSQL, held in process memory (lost on exit).
/// One lock guards every index; calls are short.
/// </summary>
public sealed class InMemoryJobStore(IEventLog eventLog) : IJobStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, JobRecord> _jobs = [];
    private readonly Dictionary<(string Tenant, string Key), Guid> _idempotency = [];
    private readonly Dictionary<string, SortedSet<(DateTimeOffset CreatedAt, Guid JobId)>> _byTenant = new(StringComparer.Ordinal);
    private readonly Dictionary<QueueKey, SortedSet<Guid>> _liveByQueue = [];
    private readonly Dictionary<JobStatus, long> _counts = [];

    public Task<JobRecord?> InsertAsync(JobRecord job, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_jobs.TryGetValue(job.JobId, out var existing))
            {
                return Task.FromResult<JobRecord?>(existing);
            }

            if (job.Spec.IdempotencyKey is { } key)
            {
                if (_idempotency.TryGetValue((job.TenantId, key), out var existingId))
                {
                    return Task.FromResult<JobRecord?>(_jobs[existingId]);
                }

                _idempotency[(job.TenantId, key)] = job.JobId;
            }

            _jobs[job.JobId] = job;
            TenantIndex(job.TenantId).Add((job.CreatedAt, job.JobId));
            Count(job.Status, +1);
            if (!job.Status.IsTerminal())
            {
                QueueIndex(QueueOf(job)).Add(job.JobId);
            }

            return Task.FromResult<JobRecord?>(null);
        }
    }

    public async Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.JobId, out var stored) || stored.Version >= job.Version)
            {
                return false;
            }

            _jobs[job.JobId] = job;
            Count(stored.Status, -1);
            Count(job.Status, +1);
            if (job.Status.IsTerminal())
            {
                QueueIndex(QueueOf(job)).Remove(job.JobId);
            }
        }

        if (!events.IsDefaultOrEmpty)
        {
            await eventLog.AppendAsync(events, cancellationToken);
        }

        return true;
    }

    public Task<JobRecord?> GetAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_jobs.GetValueOrDefault(jobId));
        }
    }

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        var cursor = query.Cursor is null ? (JobCursor?)null : JobCursor.Decode(query.Cursor);
        lock (_gate)
        {
            var page = ImmutableArray.CreateBuilder<JobRecord>(query.Limit);
            var more = false;
            if (_byTenant.TryGetValue(query.TenantId, out var index))
            {
                // Start at the cursor instead of walking every newer job to it: paging through a long list stays linear.
                if (cursor is { } start)
                {
                    var upper = (start.CreatedAt, start.JobId);
                    index = index.Count == 0 || index.Comparer.Compare(index.Min, upper) > 0 ? [] : index.GetViewBetween(index.Min, upper);
                }

                foreach (var (createdAt, jobId) in index.Reverse())
                {
                    if (cursor is { } c && !c.Precedes(createdAt, jobId))
                    {
                        continue; // the cursor's own job, the last of the previous page
                    }

                    var job = _jobs[jobId];
                    if (Matches(job, query))
                    {
                        if (page.Count == query.Limit)
                        {
                            more = true;
                            break;
                        }

                        page.Add(job);
                    }
                }
            }

            var next = more ? new JobCursor(page[^1].CreatedAt, page[^1].JobId).Encode() : null;
            return Task.FromResult(new JobPage(page.ToImmutable(), next));
        }
    }

    public Task<ImmutableArray<PendingJobRef>> ListPendingAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult(ListLive(queue, afterJobId, limit, j => j.Status == JobStatus.Pending,
            j => new PendingJobRef(j.JobId, j.TenantId, j.Spec.Priority, j.AvailableAt, j.CreatedAt, j.UpdatedAt, j.Spec.DataClasses)));

    public Task<ImmutableArray<LeasedJobRef>> ListLeasedAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult(ListLive(queue, afterJobId, limit, j => j.Status.IsLeased(),
            j => new LeasedJobRef(j.JobId, j.TenantId, j.AgentId, j.Epoch, j.LeaseExpiresAt)));

    public Task<ImmutableArray<LeaseRef>> ListLeasedByAgentAsync(string agentId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_liveByQueue.Values
                .SelectMany(ids => ids)
                .Select(id => _jobs[id])
                .Where(j => j.Status.IsLeased() && j.AgentId == agentId)
                .Select(j => new LeaseRef(j.JobId, j.Epoch))
                .ToImmutableArray());
        }
    }

    public Task<ImmutableDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_counts.Where(kv => kv.Value > 0).ToImmutableDictionary());
        }
    }

    public Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<DateOnly>>([]);

    public Task<JobPruneResult> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var verdicts = _jobs.Values
                .GroupBy(j => JobRetentionPolicy.Days.PeriodOf(j.CreatedAt))
                .Select(day => (Day: day.Key, Jobs: day.ToList(), Verdict: JobRetentionPolicy.Judge(
                    day.Key, day.Any(j => !j.Status.IsTerminal()), day.Where(j => j.Status.IsTerminal()).Max(j => j.CompletedAt), cutoff)))
                .OrderBy(d => d.Day)
                .ToList();
            foreach (var job in verdicts.Where(d => d.Verdict == JobDayVerdict.Drop).SelectMany(d => d.Jobs))
            {
                _jobs.Remove(job.JobId);
                _byTenant[job.TenantId].Remove((job.CreatedAt, job.JobId));
                if (job.Spec.IdempotencyKey is { } key)
                {
                    _idempotency.Remove((job.TenantId, key));
                }

                Count(job.Status, -1);
            }

            return Task.FromResult(new JobPruneResult(
                [.. verdicts.Where(d => d.Verdict == JobDayVerdict.Drop).Select(d => d.Day)],
                [.. verdicts.Where(d => d.Verdict == JobDayVerdict.Held).Select(d => d.Day)]));
        }
    }

    private static bool Matches(JobRecord job, JobQuery query) =>
        (query.Status is null || job.Status == query.Status)
        && (query.Type is null || string.Equals(job.Spec.Type, query.Type, StringComparison.Ordinal))
        && (query.CreatedFrom is null || job.CreatedAt >= query.CreatedFrom)
        && (query.CreatedTo is null || job.CreatedAt < query.CreatedTo);

    private static QueueKey QueueOf(JobRecord job) => new(job.Spec.Pool, job.Spec.Capability, job.Shard);

    private ImmutableArray<T> ListLive<T>(QueueKey queue, Guid? afterJobId, int limit, Func<JobRecord, bool> filter, Func<JobRecord, T> project)
    {
        lock (_gate)
        {
            if (!_liveByQueue.TryGetValue(queue, out var ids))
            {
                return [];
            }

            IEnumerable<Guid> view = ids;
            if (afterJobId is { } after)
            {
                view = ids.Count == 0 || after.CompareTo(ids.Max) >= 0 ? [] : ids.GetViewBetween(after, ids.Max).Where(id => id != after);
            }

            return view
                .Select(id => _jobs[id])
                .Where(filter)
                .Take(limit)
                .Select(project)
                .ToImmutableArray();
        }
    }

    private SortedSet<(DateTimeOffset, Guid)> TenantIndex(string tenantId)
    {
        if (!_byTenant.TryGetValue(tenantId, out var index))
        {
            index = [];
            _byTenant[tenantId] = index;
        }

        return index;
    }

    private SortedSet<Guid> QueueIndex(QueueKey queue)
    {
        if (!_liveByQueue.TryGetValue(queue, out var ids))
        {
            ids = [];
            _liveByQueue[queue] = ids;
        }

        return ids;
    }

    private void Count(JobStatus status, long delta) => _counts[status] = _counts.GetValueOrDefault(status) + delta;
}
