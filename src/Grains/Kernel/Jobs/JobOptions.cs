using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>Job defaults, limits and retention. Section <c>MeshOs:Jobs</c>.</summary>
public sealed class JobOptions
{
    public const string Section = "MeshOs:Jobs";

    /// <summary>How long a lease lasts unless renewed by the agent's heartbeats. Default 30 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A leased job found on a new activation (its silo died) gets this long for its agent to renew before the lease
    /// is declared lost. Default 15 s.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan RecoveryGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest result an agent may report, in UTF-8 bytes. Default 1 MiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxResultBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Finished jobs are kept at least this long after they finish. Default 30 days. Retention drops whole UTC days of
    /// jobs by creation (PostgreSQL: the day's partition of <c>meshos_jobs</c>, never row deletes) once the day ended
    /// this long ago and each of its jobs finished this long ago; a day holding an unfinished job is kept until it
    /// finishes (<see cref="JobRetentionPolicy"/>).
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Days ahead (UTC) the retention pass makes room for (PostgreSQL: partitions of <c>meshos_jobs</c>) besides today.
    /// A job created on a day without one is kept in the default partition and moved to its day by the next pass.
    /// Default 7.
    /// </summary>
    [Range(1, 90)]
    public int DaysAhead { get; set; } = 7;

    /// <summary>
    /// A started job's Running status is written to the store only if it is still running after this long (the
    /// completion write usually makes it unnecessary). Zero: written at once. Default 1 s.
    /// </summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan RunningPersistDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a finished job's grain stays in memory for readers before it deactivates; zero: at once (readers then
    /// re-activate it from the store). Default zero.
    /// </summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan LingerAfterFinish { get; set; } = TimeSpan.Zero;
}

/// <summary>Queues and dispatch. Section <c>MeshOs:Dispatch</c>.</summary>
public sealed class DispatchOptions
{
    public const string Section = "MeshOs:Dispatch";

    /// <summary>Shards per pool/capability queue: no single queue grain sits on every job's path. Fixed for a cluster's life. Default 4.</summary>
    [Range(1, 256)]
    public int ShardsPerQueue { get; set; } = 4;

    /// <summary>How often a queue shard compares its index with the job store (repairs lost enqueues). Default 30 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pending jobs younger than this are left out of reconciliation (they may be on their way). Default 10 s.</summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan ReconcileMinAge { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a queue shard looks in the store for leases whose grain was lost with a silo. Default 10 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan LeaseSweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest a dispatcher's take waits for work (below Orleans' 30 s response timeout). Default 15 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan MaxTakeWait { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Pending jobs one queue shard holds, all tenants together; submits beyond it are refused (429) so that no
    /// mix of tenants can exhaust a silo's memory. Default 250,000 (about 50 MB of index per shard).
    /// </summary>
    [Range(1, 100_000_000)]
    public int MaxPendingPerShard { get; set; } = 250_000;

    /// <summary>
    /// The longest a dispatcher may hold a job back (no agent it serves may take it under the compliance policies)
    /// before the shard hands it out again. Default 30 s.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan MaxHoldBack { get; set; } = TimeSpan.FromSeconds(30);
}
