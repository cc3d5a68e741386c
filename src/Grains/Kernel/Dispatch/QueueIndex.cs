using System.Collections.Immutable;
using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Grains.Kernel.Dispatch;

/// <summary>
/// A queue shard's in-memory index of Pending jobs, free of Orleans: ten priority levels (9 first); within a level,
/// one FIFO lane per tenant served round-robin, so one tenant's backlog cannot starve another's; jobs not yet
/// available (retry backoff) wait in a time-ordered heap. Jobs handed out are tracked until their lease ends, to
/// enforce each tenant's concurrency cap.
/// </summary>
public sealed class QueueIndex
{
    public const int PriorityLevels = 10;

    private readonly Level[] _levels = Enumerable.Range(0, PriorityLevels).Select(_ => new Level()).ToArray();
    private readonly PriorityQueue<Entry, DateTimeOffset> _delayed = new();
    private readonly Dictionary<Guid, Entry> _entries = [];
    private readonly Dictionary<string, int> _pendingByTenant = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, (string Tenant, DateTimeOffset TakenAt)> _inFlight = [];
    private readonly Dictionary<string, int> _inFlightByTenant = new(StringComparer.Ordinal);
    private int _ready;

    /// <summary>Jobs that can be taken now.</summary>
    public int ReadyCount => _ready;

    /// <summary>Jobs waiting for their retry time.</summary>
    public int DelayedCount => _entries.Count - _ready;

    public int Count => _entries.Count;

    public IReadOnlyDictionary<string, int> PendingByTenant => _pendingByTenant;

    public IReadOnlyDictionary<string, int> InFlightByTenant => _inFlightByTenant;

    public bool Contains(Guid jobId) => _entries.ContainsKey(jobId);

    /// <summary>True when the job was handed out less than <paramref name="minAge"/> ago (its lease may be on its way).</summary>
    public bool IsRecentlyTaken(Guid jobId, DateTimeOffset now, TimeSpan minAge) =>
        _inFlight.TryGetValue(jobId, out var taken) && now - taken.TakenAt < minAge;

    public int PendingOf(string tenantId) => _pendingByTenant.GetValueOrDefault(tenantId);

    public int InFlightOf(string tenantId) => _inFlightByTenant.GetValueOrDefault(tenantId);

    /// <summary>The oldest enqueue time among ready jobs, or null.</summary>
    public DateTimeOffset? OldestReadySince() =>
        _entries.Values.Where(e => e.Ready).Select(e => (DateTimeOffset?)e.EnqueuedAt).Min();

    /// <summary>Indexes a job; false when it is already indexed. A job re-queued after a lease leaves the in-flight set.</summary>
    public bool Add(QueuedJob job, DateTimeOffset now)
    {
        EndInFlight(job.JobId);
        if (_entries.ContainsKey(job.JobId))
        {
            return false;
        }

        var entry = new Entry(job.JobId, job.TenantId, Math.Clamp(job.Priority, 0, PriorityLevels - 1), job.AvailableAt, job.EnqueuedAt) { DataClasses = job.DataClasses };
        _entries[job.JobId] = entry;
        _pendingByTenant[job.TenantId] = PendingOf(job.TenantId) + 1;
        if (job.AvailableAt <= now)
        {
            MakeReady(entry, front: false);
        }
        else
        {
            _delayed.Enqueue(entry, job.AvailableAt);
        }

        return true;
    }

    /// <summary>Moves jobs whose time has come from the delayed heap to their lanes; returns how many.</summary>
    public int PromoteDue(DateTimeOffset now)
    {
        var promoted = 0;
        while (_delayed.TryPeek(out var entry, out var at) && at <= now)
        {
            _delayed.Dequeue();
            if (!entry.Removed && !entry.Ready)
            {
                MakeReady(entry, front: false);
                promoted++;
            }
        }

        return promoted;
    }

    /// <summary>When the next delayed job becomes available, or null.</summary>
    public DateTimeOffset? NextDueAt()
    {
        while (_delayed.TryPeek(out var entry, out var at))
        {
            if (!entry.Removed && !entry.Ready)
            {
                return at;
            }

            _delayed.Dequeue();
        }

        return null;
    }

    /// <summary>
    /// The job <see cref="Take"/> would hand out next (its priority and when it was queued), or null when no ready
    /// job belongs to a tenant under its cap. Lets a dispatcher choose between shards by priority, then age.
    /// </summary>
    public QueueHead? Head(Func<string, int> concurrencyCap)
    {
        for (var p = PriorityLevels - 1; p >= 0; p--)
        {
            foreach (var tenant in _levels[p].Rotation)
            {
                if (InFlightOf(tenant) < concurrencyCap(tenant))
                {
                    return new QueueHead(p, _levels[p].Lanes[tenant].First!.Value.EnqueuedAt);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> ready jobs of priority <paramref name="minPriority"/> or higher: highest
    /// priority first, round-robin between tenants, skipping tenants whose in-flight count reached
    /// <paramref name="concurrencyCap"/>. Taken jobs count as in flight.
    /// </summary>
    public List<TakenJob> Take(int max, Func<string, int> concurrencyCap, DateTimeOffset now, int minPriority = 0)
    {
        var taken = new List<TakenJob>(Math.Min(Math.Max(max, 0), _ready));
        for (var p = PriorityLevels - 1; p >= Math.Max(0, minPriority) && taken.Count < max; p--)
        {
            var level = _levels[p];
            var skipped = 0;
            while (taken.Count < max && level.Rotation.Count > skipped)
            {
                var tenant = level.Rotation.Dequeue();
                var lane = level.Lanes[tenant];
                if (InFlightOf(tenant) >= concurrencyCap(tenant))
                {
                    level.Rotation.Enqueue(tenant);
                    skipped++;
                    continue;
                }

                var entry = lane.First!.Value;
                lane.RemoveFirst();
                if (lane.Count > 0)
                {
                    level.Rotation.Enqueue(tenant);
                }
                else
                {
                    level.Lanes.Remove(tenant);
                }

                skipped = 0;
                Forget(entry);
                _inFlight[entry.JobId] = (entry.TenantId, now);
                _inFlightByTenant[entry.TenantId] = InFlightOf(entry.TenantId) + 1;
                taken.Add(new TakenJob(entry.JobId, entry.TenantId, entry.Priority, entry.EnqueuedAt, entry.HandedBack, entry.DataClasses));
            }
        }

        return taken;
    }

    /// <summary>
    /// Puts taken jobs back (their dispatcher could not lease them): at the head of their lanes, or, held back for
    /// <paramref name="holdFor"/>, among the delayed jobs until then (then at the back of their lanes). Their tenants'
    /// in-flight counts drop at once either way.
    /// </summary>
    public void Return(IEnumerable<TakenJob> jobs, DateTimeOffset now, TimeSpan holdFor = default)
    {
        foreach (var job in jobs.Reverse())
        {
            EndInFlight(job.JobId);
            if (_entries.ContainsKey(job.JobId))
            {
                continue;
            }

            var availableAt = holdFor > TimeSpan.Zero ? now + holdFor : now;
            var entry = new Entry(job.JobId, job.TenantId, Math.Clamp(job.Priority, 0, PriorityLevels - 1), availableAt, job.EnqueuedAt)
            {
                HandedBack = true,
                DataClasses = job.DataClasses,
            };
            _entries[job.JobId] = entry;
            _pendingByTenant[job.TenantId] = PendingOf(job.TenantId) + 1;
            if (availableAt > now)
            {
                _delayed.Enqueue(entry, availableAt);
            }
            else
            {
                MakeReady(entry, front: true);
            }
        }
    }

    /// <summary>Drops a job from the index (cancelled). False when it was not indexed.</summary>
    public bool Remove(Guid jobId)
    {
        if (!_entries.TryGetValue(jobId, out var entry))
        {
            return false;
        }

        if (entry.Ready)
        {
            var level = _levels[entry.Priority];
            var lane = level.Lanes[entry.TenantId];
            lane.Remove(entry.Node!);
            if (lane.Count == 0)
            {
                level.Lanes.Remove(entry.TenantId);
                var rest = level.Rotation.Where(t => t != entry.TenantId).ToList();
                level.Rotation.Clear();
                rest.ForEach(level.Rotation.Enqueue);
            }
        }

        Forget(entry);
        return true;
    }

    /// <summary>Counts a job as held by an agent (used when rebuilding from the store).</summary>
    public void MarkInFlight(Guid jobId, string tenantId, DateTimeOffset since)
    {
        if (_inFlight.TryAdd(jobId, (tenantId, since)))
        {
            _inFlightByTenant[tenantId] = InFlightOf(tenantId) + 1;
        }
    }

    /// <summary>
    /// Ends the marks of jobs taken before <paramref name="takenBefore"/> that the store no longer lists as leased
    /// (<paramref name="leased"/>): their lease ended and the word of it (a one-way message) was lost, e.g. dropped
    /// when it waited past its expiry in an overloaded silo. Left alone, each would hold one of its tenant's
    /// concurrency slots on this shard for the shard's life, and enough of them stop its dispatch for that tenant.
    /// Returns how many marks ended.
    /// </summary>
    public int EndInFlightNotIn(IReadOnlySet<Guid> leased, DateTimeOffset takenBefore)
    {
        var stale = _inFlight.Where(e => e.Value.TakenAt < takenBefore && !leased.Contains(e.Key)).Select(e => e.Key).ToList();
        stale.ForEach(jobId => EndInFlight(jobId));
        return stale.Count;
    }

    /// <summary>A job no longer held by an agent. Idempotent.</summary>
    public bool EndInFlight(Guid jobId)
    {
        if (!_inFlight.Remove(jobId, out var held))
        {
            return false;
        }

        var left = InFlightOf(held.Tenant) - 1;
        if (left <= 0)
        {
            _inFlightByTenant.Remove(held.Tenant);
        }
        else
        {
            _inFlightByTenant[held.Tenant] = left;
        }

        return true;
    }

    private void MakeReady(Entry entry, bool front)
    {
        var level = _levels[entry.Priority];
        if (!level.Lanes.TryGetValue(entry.TenantId, out var lane))
        {
            lane = new LinkedList<Entry>();
            level.Lanes[entry.TenantId] = lane;
            level.Rotation.Enqueue(entry.TenantId);
        }

        entry.Node = front ? lane.AddFirst(entry) : lane.AddLast(entry);
        entry.Ready = true;
        _ready++;
    }

    private void Forget(Entry entry)
    {
        _entries.Remove(entry.JobId);
        entry.Removed = true;
        if (entry.Ready)
        {
            entry.Ready = false;
            _ready--;
        }

        var left = PendingOf(entry.TenantId) - 1;
        if (left <= 0)
        {
            _pendingByTenant.Remove(entry.TenantId);
        }
        else
        {
            _pendingByTenant[entry.TenantId] = left;
        }
    }

    private sealed class Level
    {
        public Dictionary<string, LinkedList<Entry>> Lanes { get; } = new(StringComparer.Ordinal);

        public Queue<string> Rotation { get; } = new();
    }

    private sealed class Entry(Guid jobId, string tenantId, int priority, DateTimeOffset availableAt, DateTimeOffset enqueuedAt)
    {
        public Guid JobId { get; } = jobId;

        public string TenantId { get; } = tenantId;

        public int Priority { get; } = priority;

        public DateTimeOffset AvailableAt { get; } = availableAt;

        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;

        /// <summary>A dispatcher gave it back since it was queued.</summary>
        public bool HandedBack { get; init; }

        /// <summary>The job's data classes, handed to the dispatcher with it.</summary>
        public ImmutableArray<string> DataClasses { get; init; }

        public LinkedListNode<Entry>? Node { get; set; }

        public bool Ready { get; set; }

        public bool Removed { get; set; }
    }
}
