using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Cost;

/// <summary>
/// Where the cost supervisor keeps its hourly rollups and each shard's small state (PostgreSQL: sql/0012_cost.sql;
/// embedded mode: memory). A commit is atomic: the rollup amounts it adds, the agents' state it changes and the shard's
/// log position land together or not at all, so an event is counted exactly once across failures.
/// </summary>
public interface ICostStore
{
    /// <summary>The shard's last committed log position and its agents' state (0 and none for a new shard).</summary>
    Task<CostShardSnapshot> LoadShardAsync(string shard, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds the rollups' amounts to the rows with the same (hour, pool, tenant, agent, capability) (creating them), sets or
    /// removes the agents' state, adds the new job spans and removes the settled ones, and sets the shard's position, in
    /// one transaction.
    /// </summary>
    Task CommitAsync(CostCommit commit, CancellationToken cancellationToken = default);

    /// <summary>One job's cost over every month it ran in, or null when none was recorded.</summary>
    Task<JobCost?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>Sums of the rollups in [From, To) matching the filters, by the query's dimension (none: one key, empty) and bucket.</summary>
    Task<IReadOnlyList<CostSum>> SumAsync(CostSumQuery query, CancellationToken cancellationToken = default);

    /// <summary>Makes room for rollups of the months (PostgreSQL: a partition each); returns the months it made room for.</summary>
    Task<IReadOnlyList<DateOnly>> PrepareMonthsAsync(IReadOnlyList<DateOnly> months, CancellationToken cancellationToken = default);

    /// <summary>Drops every whole month of rollups that ended at or before <paramref name="cutoff"/>; returns the months dropped.</summary>
    Task<IReadOnlyList<DateOnly>> PruneAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

/// <summary>
/// A shard's committed state: its log position, each agent's account (JSON, the grain's own format, without its job
/// spans) and the job spans waiting to be settled.
/// </summary>
public sealed record CostShardSnapshot(long Position, IReadOnlyDictionary<string, string> Agents, IReadOnlyList<PendingSpan>? Spans = null)
{
    public IReadOnlyList<PendingSpan> PendingSpans => Spans ?? [];
}

/// <summary>A job span on an agent, waiting to be settled.</summary>
public sealed record PendingSpan(string Agent, BusySpan Span);

/// <summary>
/// One atomic commit of a shard: rollup and job amounts to add, agents' state to set (null: remove), job spans to add,
/// and per agent the time settled through (its spans ending then or before are removed), the new position.
/// </summary>
public sealed record CostCommit(string Shard, long Position, IReadOnlyDictionary<string, string?> Agents, IReadOnlyList<CostRollup> Rollups,
    IReadOnlyList<JobCostLine>? Jobs = null, IReadOnlyList<PendingSpan>? Added = null, IReadOnlyDictionary<string, DateTimeOffset>? Settled = null)
{
    public IReadOnlyList<JobCostLine> JobLines => Jobs ?? [];

    public IReadOnlyList<PendingSpan> AddedSpans => Added ?? [];

    public IReadOnlyDictionary<string, DateTimeOffset> SettledThrough => Settled ?? new Dictionary<string, DateTimeOffset>();
}

/// <summary>Which rollups to sum and how to group them.</summary>
/// <param name="GroupBy">The dimension; null sums everything matching under one empty key.</param>
public sealed record CostSumQuery(
    DateTimeOffset From,
    DateTimeOffset To,
    CostDimension? GroupBy,
    CostInterval Interval = CostInterval.None,
    string? Tenant = null,
    string? Pool = null,
    string? Agent = null,
    string? Capability = null)
{
    /// <summary>Whether a rollup row matches the filters and the range.</summary>
    public bool Matches(CostRollup row) =>
        row.Hour >= From && row.Hour < To && (Tenant is null || row.Tenant == Tenant) && (Pool is null || row.Pool == Pool)
        && (Agent is null || row.Agent == Agent) && (Capability is null || row.Capability == Capability);

    /// <summary>The group key of a row.</summary>
    public string KeyOf(CostRollup row) => GroupBy switch
    {
        CostDimension.Tenant => row.Tenant,
        CostDimension.Pool => row.Pool,
        CostDimension.Agent => row.Agent,
        CostDimension.Capability => row.Capability,
        _ => string.Empty,
    };

    /// <summary>The bucket of an hour.</summary>
    public DateTimeOffset? BucketOf(DateTimeOffset hour) => Interval switch
    {
        CostInterval.Hour => hour,
        CostInterval.Day => new DateTimeOffset(hour.UtcDateTime.Date, TimeSpan.Zero),
        CostInterval.Month => new DateTimeOffset(hour.Year, hour.Month, 1, 0, 0, 0, TimeSpan.Zero),
        _ => null,
    };
}

/// <summary>The rollups' monthly partitions (<c>meshos_cost_hourly_yyyyMM</c>).</summary>
public static class CostRetentionPolicy
{
    public static readonly TimePartitioning Months = new("meshos_cost_hourly_", PartitionPeriod.Month);
}
