using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>
/// The durable home of jobs. Every backend passes the same contract test suite. Writes return only once they are
/// durable; concurrent writes from many grains may share a transaction (group commit). Events passed with a write
/// are appended to the event log atomically with it.
/// </summary>
public interface IJobStore
{
    /// <summary>
    /// Inserts a new job. Returns null when it was inserted; otherwise the job already stored under the same id, or
    /// under the same tenant and idempotency key (nothing is written then).
    /// </summary>
    Task<JobRecord?> InsertAsync(JobRecord job, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a newer version of a job: written only when <see cref="JobRecord.Version"/> is greater than the stored
    /// one, so a late or repeated write never moves a job back. Returns false when it was not newer.
    /// </summary>
    Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether <see cref="InsertAsync(JobRecord, IReadOnlyList{AuditDraft}, CancellationToken)"/> and
    /// <see cref="UpdateAsync(JobRecord, ImmutableArray{MeshEvent}, IReadOnlyList{AuditDraft}, CancellationToken)"/>
    /// write audit entries with the change, in its transaction (the PostgreSQL store with auditing on). False: the
    /// entries are the caller's to append.
    /// </summary>
    bool RecordsAudit => false;

    /// <summary>
    /// <see cref="InsertAsync(JobRecord, CancellationToken)"/>, writing <paramref name="audit"/> in the same transaction
    /// when the job is inserted (and only then) and <see cref="RecordsAudit"/>.
    /// </summary>
    Task<JobRecord?> InsertAsync(JobRecord job, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken = default) =>
        InsertAsync(job, cancellationToken);

    /// <summary>
    /// <see cref="UpdateAsync(JobRecord, ImmutableArray{MeshEvent}, CancellationToken)"/>, writing <paramref name="audit"/>
    /// in the same transaction when the update is written (and only then) and <see cref="RecordsAudit"/>.
    /// </summary>
    Task<bool> UpdateAsync(JobRecord job, ImmutableArray<MeshEvent> events, IReadOnlyList<AuditDraft> audit, CancellationToken cancellationToken = default) =>
        UpdateAsync(job, events, cancellationToken);

    Task<JobRecord?> GetAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>A tenant's jobs, newest first (created_at, then id), filtered, one page at a time.</summary>
    Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>Pending jobs of one queue shard in job-id order after <paramref name="afterJobId"/>.</summary>
    Task<ImmutableArray<PendingJobRef>> ListPendingAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Leased or running jobs of one queue shard in job-id order after <paramref name="afterJobId"/>.</summary>
    Task<ImmutableArray<LeasedJobRef>> ListLeasedAsync(QueueKey queue, Guid? afterJobId, int limit, CancellationToken cancellationToken = default);

    /// <summary>Leased or running jobs whose agent is <paramref name="agentId"/>.</summary>
    Task<ImmutableArray<LeaseRef>> ListLeasedByAgentAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>How many stored jobs are in each status, without scanning the jobs.</summary>
    Task<ImmutableDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes room for jobs created on each of <paramref name="days"/> (UTC), and for jobs stored meanwhile on a day that
    /// had none. Returns the days it made room for. Idempotent; a no-op for a backend without partitions.
    /// </summary>
    Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes every whole UTC day of jobs (by creation) that ended at or before <paramref name="cutoff"/> and whose jobs
    /// all finished before it; a day holding an unfinished job is kept whole and reported as held. Jobs are never
    /// deleted one by one, and counts (<see cref="CountByStatusAsync"/>) drop by exactly the jobs removed. See
    /// <see cref="JobRetentionPolicy"/>.
    /// </summary>
    Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

/// <summary>What a queue needs to index a Pending job.</summary>
/// <param name="DataClasses">The job's data classes (default: none).</param>
public readonly record struct PendingJobRef(Guid JobId, string TenantId, int Priority, DateTimeOffset AvailableAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    ImmutableArray<string> DataClasses = default);

/// <summary>What a queue needs to account for, and sweep, a leased job.</summary>
public readonly record struct LeasedJobRef(Guid JobId, string TenantId, string? AgentId, long Epoch, DateTimeOffset? LeaseExpiresAt);
