using System.Collections.Immutable;

namespace MeshOs.Abstractions.Dispatch;

/// <summary>
/// One queue shard: an in-memory priority index of Pending jobs, fair between tenants within a priority,
/// rebuilt from the job store on activation and reconciled with it periodically. Dispatchers (one per gateway
/// process) take jobs from it for the agents they serve. Key: <see cref="QueueKey"/>.
/// </summary>
[Alias("meshos.IQueueGrain")]
public interface IQueueGrain : IGrainWithStringKey
{
    /// <summary>
    /// Reserves room for one more Pending job of a tenant before it is written; QueueFull over the cap. Each shard
    /// holds its share of the tenant's quotas (quota ÷ shards, rounded up); the call also refreshes the tenant's
    /// concurrency cap.
    /// </summary>
    [Alias("Admit")]
    Task<Admission> AdmitAsync(string tenantId, int maxQueuedJobs, int maxConcurrentJobs);

    /// <summary>Gives back a reservation whose job was not written.</summary>
    [Alias("CancelAdmission"), OneWay]
    Task CancelAdmissionAsync(string tenantId);

    /// <summary>Indexes a job that is durably Pending. Idempotent per job id.</summary>
    [Alias("Enqueue")]
    Task EnqueueAsync(QueuedJob job, bool admitted);

    /// <summary>Drops a job from the index (it was cancelled). Idempotent.</summary>
    [Alias("Remove"), OneWay]
    Task RemoveAsync(Guid jobId);

    /// <summary>The job the shard would hand out next, or null when none is ready: dispatchers compare shards with it.</summary>
    [Alias("Peek")]
    Task<QueueHead?> PeekAsync();

    /// <summary>
    /// Takes up to <paramref name="max"/> ready jobs of priority <paramref name="minPriority"/> or higher, highest
    /// priority first, round-robin between tenants, skipping tenants at their concurrency cap. Waits up to
    /// <paramref name="wait"/> when none is ready. The result says what the shard would hand out next.
    /// </summary>
    [Alias("Take"), AlwaysInterleave]
    Task<TakeResult> TakeAsync(string dispatcherId, int max, int minPriority, TimeSpan wait);

    /// <summary>Puts taken jobs that could not be leased back at the head of their lanes.</summary>
    [Alias("Return")]
    Task ReturnAsync(ImmutableArray<TakenJob> jobs);

    /// <summary>
    /// Puts taken jobs back, ready again only after <paramref name="holdFor"/> (at most
    /// <c>MeshOs:Dispatch:MaxHoldBack</c>): jobs no agent of the dispatcher may take now (the compliance policies
    /// refuse every one with room). They wait for a compliant agent without being handed out again and again
    /// meanwhile, and the jobs behind them go on.
    /// </summary>
    [Alias("HoldBack")]
    Task HoldBackAsync(ImmutableArray<TakenJob> jobs, TimeSpan holdFor);

    /// <summary>
    /// A job taken from this shard is no longer held by an agent (finished, re-queued, or never leased): frees its
    /// tenant's concurrency slot. Idempotent per job id.
    /// </summary>
    [Alias("LeaseEnded"), OneWay]
    Task LeaseEndedAsync(Guid jobId, string tenantId);

    /// <summary>Figures for status pages and the healing supervisor.</summary>
    [Alias("GetStats")]
    Task<QueueStats> GetStatsAsync();
}

/// <summary>The set of queues that exist, so pollers and supervisors can find them. Key: 0.</summary>
[Alias("meshos.IQueueDirectoryGrain")]
public interface IQueueDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records that a pool/capability queue exists; returns the shard count every party must use.</summary>
    [Alias("Register")]
    Task<int> RegisterAsync(string pool, string capability);

    /// <summary>All known queues and the shard count.</summary>
    [Alias("List")]
    Task<QueueTopology> ListAsync();
}
