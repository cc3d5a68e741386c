using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Kernel.LoadShedding;

/// <summary>
/// Load shedding at the queues (section <c>MeshOs:Admission</c>): past saturation a queue shard refuses new submits
/// (429 / RESOURCE_EXHAUSTED with a retry time) instead of letting its backlog, and the store's commit batches behind
/// it, grow until goodput collapses. See <see cref="AdmissionControl"/>.
/// </summary>
public sealed class AdmissionOptions
{
    public const string Section = "MeshOs:Admission";

    /// <summary>Whether queues shed load at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The queueing delay a shard tolerates: when every job its dispatchers took during a whole
    /// <see cref="Interval"/> had waited longer than this, the shard is overloaded and refuses new submits until an
    /// interval's jobs waited less. Default 200 ms. It is the rule behind the gateways' own (which steer by
    /// <c>TargetQueueDelay</c>, counting only the waits while their agents had room): a shard cannot tell a job
    /// waiting for busy agents from one waiting for a slow mesh, so its threshold is the looser one.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan ShardQueueDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Whether queues (and the gateways, for them) shed by how long jobs wait. Where jobs run long and tenants queue
    /// deep backlogs on purpose, raise <see cref="ShardQueueDelay"/> or switch this off (the gateways' bound on
    /// submits in flight still protects the mesh). Default true.
    /// </summary>
    public bool ShedByQueueWait { get; set; } = true;

    /// <summary>How long the delay must stay above the target before shedding starts (and below it before it stops). Default 500 ms.</summary>
    [PositiveTimeSpan]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// What a refused submit is told to wait before trying again (Retry-After, rounded up to whole seconds on REST;
    /// <c>retry-after-ms</c> on gRPC). Default 1 s.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}
