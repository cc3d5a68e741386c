using System.Collections.Immutable;

namespace MeshOs.Abstractions.Dispatch;

/// <summary>
/// Names one queue shard: jobs of one pool needing one capability, spread over shards by job id.
/// The grain key is <c>pool|capability|shard</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.QueueKey")]
public readonly record struct QueueKey(string Pool, string Capability, int Shard)
{
    public override string ToString() => $"{Pool}|{Capability}|{Shard}";

    public static QueueKey Parse(string key)
    {
        var parts = key.Split('|');
        if (parts.Length != 3 || !int.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out var shard))
        {
            throw new FormatException($"'{key}' is not a queue key (pool|capability|shard).");
        }

        return new QueueKey(parts[0], parts[1], shard);
    }

    /// <summary>The shard a job belongs to: stable for the job's whole life.</summary>
    public static int ShardOf(Guid jobId, int shardCount) => ShardHash.Bucket(jobId, shardCount);
}

/// <summary>The queue's index entry for a Pending job.</summary>
/// <param name="DataClasses">The job's data classes (see <see cref="Jobs.JobSpec.DataClasses"/>): the dispatcher checks them before a lease.</param>
[GenerateSerializer, Immutable, Alias("meshos.QueuedJob")]
public sealed record QueuedJob(
    Guid JobId,
    string TenantId,
    int Priority,
    DateTimeOffset AvailableAt,
    DateTimeOffset EnqueuedAt,
    ImmutableArray<string> DataClasses = default);

/// <summary>A job handed to a dispatcher, which must now lease it to one of its agents (or give it back).</summary>
/// <param name="HandedBack">
/// A dispatcher gave the job back since it was queued (its lease could not be written: a store outage, a dispatcher
/// gone): its wait since <paramref name="EnqueuedAt"/> then says nothing about arrivals outrunning dispatch.
/// </param>
/// <param name="DataClasses">The job's data classes: the dispatcher gives it only to an agent the compliance policies allow.</param>
[GenerateSerializer, Immutable, Alias("meshos.TakenJob")]
public sealed record TakenJob(Guid JobId, string TenantId, int Priority, DateTimeOffset EnqueuedAt, bool HandedBack = false,
    ImmutableArray<string> DataClasses = default);

/// <summary>A queue shard's figures.</summary>
[GenerateSerializer, Immutable, Alias("meshos.QueueStats")]
public sealed record QueueStats(
    string Queue,
    int Ready,
    int Delayed,
    int Waiters,
    ImmutableDictionary<string, int> PendingByTenant,
    ImmutableDictionary<string, int> InFlightByTenant,
    DateTimeOffset? OldestReadySince);

/// <summary>The answer to an admission request before a submit.</summary>
[GenerateSerializer]
public enum Admission
{
    Admitted = 0,

    /// <summary>The tenant's share of its maxQueuedJobs quota is used up.</summary>
    QueueFull = 1,

    /// <summary>The queue shard holds as many pending jobs as it may, whoever they belong to.</summary>
    ShardFull = 2,

    /// <summary>The queue shard sheds load: its jobs wait longer than the target (MeshOs:Admission); retry later.</summary>
    Overloaded = 3,
}

/// <summary>A pool and capability that has a queue.</summary>
[GenerateSerializer, Immutable, Alias("meshos.QueueName")]
public readonly record struct QueueName(string Pool, string Capability);

/// <summary>Every known queue and how many shards each has.</summary>
[GenerateSerializer, Immutable, Alias("meshos.QueueTopology")]
public sealed record QueueTopology(ImmutableArray<QueueName> Queues, int Shards);

/// <summary>The next job a shard would hand out: its priority and when it was queued.</summary>
[GenerateSerializer, Immutable, Alias("meshos.QueueHead")]
public readonly record struct QueueHead(int Priority, DateTimeOffset EnqueuedAt);

/// <summary>Jobs taken from a shard, and what the shard would hand out next (null: nothing ready).</summary>
[GenerateSerializer, Immutable, Alias("meshos.TakeResult")]
public sealed record TakeResult(ImmutableArray<TakenJob> Jobs, QueueHead? Next)
{
    public static TakeResult Empty { get; } = new([], null);
}
