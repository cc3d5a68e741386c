using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Abstractions.Jobs;

/// <summary>
/// One job. Key: job id. The grain is the single writer of its job's record; every acknowledged change is
/// durable in the job store before the call returns. Leases carry an epoch (fencing token): reports with
/// any other epoch are refused, so a job has exactly one terminal result even when it ran twice.
/// </summary>
[Alias("meshos.IJobGrain")]
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Creates the job durably and queues it. A second submit of the same job id (an idempotency key maps to one
    /// id) returns the existing job with Created = false, whatever its spec.
    /// </summary>
    [Alias("Submit")]
    Task<SubmitOutcome> SubmitAsync(string tenantId, JobSpec spec, int maxQueuedJobs, int maxConcurrentJobs);

    /// <summary>The job when it exists and belongs to <paramref name="tenantId"/> (null: any tenant); otherwise null.</summary>
    [Alias("Get")]
    Task<JobRecord?> GetAsync(string? tenantId);

    /// <summary>
    /// Waits until the job's version exceeds <paramref name="afterVersion"/> or <paramref name="wait"/> passes,
    /// then returns the job (null when it does not exist or belongs to another tenant).
    /// </summary>
    [Alias("WaitForChange"), AlwaysInterleave]
    Task<JobRecord?> WaitForChangeAsync(string? tenantId, long afterVersion, TimeSpan wait);

    /// <summary>Cancels a job that is not terminal; a leased job is cancelled on its agent too. NotFound for another tenant.</summary>
    [Alias("Cancel")]
    Task<JobRecord> CancelAsync(string? tenantId, string reason);

    /// <summary>
    /// Leases a Pending job to an agent with a new epoch. Returns null when the job is no longer Pending
    /// (cancelled meanwhile, or leased by another dispatcher). <paramref name="agentVersion"/> is the software version
    /// the agent registered with: kept with the lease and carried by the attempt's <c>JobAttemptEnded</c> event.
    /// <paramref name="routing"/> is why the dispatcher chose this agent, kept with the job.
    /// </summary>
    [Alias("Lease")]
    Task<LeaseGrant?> LeaseAsync(string agentId, string? agentVersion, TimeSpan leaseDuration, Routing.RoutingDecision? routing = null);

    /// <summary>Extends the lease; false when the epoch is stale (the agent must drop the job).</summary>
    [Alias("Renew")]
    Task<bool> RenewAsync(string agentId, long epoch);

    /// <summary>The agent started the job: Leased → Running; the timeout starts. StaleEpoch when fenced off.</summary>
    [Alias("Start")]
    Task StartAsync(string agentId, long epoch);

    /// <summary>The agent's result for its attempt. StaleEpoch when fenced off; a retryable failure may re-queue the job.</summary>
    [Alias("Complete")]
    Task<JobRecord> CompleteAsync(string agentId, long epoch, JobResult result);

    /// <summary>The agent gives the job back unstarted (it could not take it); no attempt is counted.</summary>
    [Alias("Release")]
    Task ReleaseAsync(string agentId, long epoch, string reason);

    /// <summary>
    /// Ends the current lease now (its agent was declared dead or quarantined): the attempt counts as lost and the
    /// job is retried or dead-lettered. No-op when <paramref name="epoch"/> is no longer current.
    /// </summary>
    [Alias("Revoke")]
    Task RevokeLeaseAsync(long epoch, string reason);

    /// <summary>
    /// Called by the queue for a job the store lists as leased under <paramref name="storedEpoch"/> (at a rebuild, or
    /// when the stored lease has lapsed): makes sure the lease's deadline is armed. A copy in memory older than that
    /// epoch (another activation leased the job while the cluster healed, then died) is dropped and the job re-read,
    /// so its lease is judged rather than waiting for a lease attempt that never comes. A Pending job is queued again.
    /// </summary>
    [Alias("RecoverLease")]
    Task RecoverLeaseAsync(long storedEpoch);
}

/// <summary>Read-only queries over the job store, callable from any silo. Stateless worker.</summary>
[Alias("meshos.IJobQueryGrain")]
public interface IJobQueryGrain : IGrainWithIntegerKey
{
    /// <summary>One page of a tenant's jobs, newest first.</summary>
    [Alias("List")]
    Task<JobPage> ListAsync(JobQuery query);

    /// <summary>How many jobs are stored in each status.</summary>
    [Alias("CountByStatus")]
    Task<ImmutableDictionary<JobStatus, long>> CountByStatusAsync();

    /// <summary>The jobs an agent holds according to the store (leased or running).</summary>
    [Alias("ListLeasedBy")]
    Task<ImmutableArray<LeaseRef>> ListLeasedByAsync(string agentId);
}
