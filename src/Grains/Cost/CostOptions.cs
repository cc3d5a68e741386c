using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Cost;

/// <summary>The cost model (COST.md). Section <c>MeshOs:Cost</c>.</summary>
public sealed class CostOptions
{
    public const string Section = "MeshOs:Cost";

    /// <summary>Whether the cost supervisor reads the event log and keeps rollups. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The mesh's one currency (ISO 4217). Rate cards in another are refused. Default USD.</summary>
    [RegularExpression("^[A-Z]{3}$")]
    public string Currency { get; set; } = CostCurrency.Default;

    /// <summary>The KPI's target: cost per agent per month. Default 250 (the runbook's $250).</summary>
    [Range(typeof(decimal), "0", "1000000000")]
    public decimal TargetPerAgentMonth { get; set; } = 250m;

    /// <summary>How idle time is shown when a report does not say: Separate (its own line), Even or Proportional. Default Separate.</summary>
    public IdlePolicy IdlePolicy { get; set; } = IdlePolicy.Separate;

    /// <summary>How often each cost shard settles its agents' connected time into rollups (and flushes them). Default 1 minute.</summary>
    [PositiveTimeSpan]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long connected time waits for the ends of jobs that ran in it before it is settled as busy or idle. A job that
    /// ends later still moves the idle of its hours to its tenant (COST.md, "late jobs"). Default 10 minutes.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long settled idle per agent-hour is remembered for late job ends. Default 48 hours.</summary>
    [PositiveTimeSpan]
    public TimeSpan ReclaimWindow { get; set; } = TimeSpan.FromHours(48);

    /// <summary>Shards per pool (agents placed by a hash of their id); more shards, smaller state each. Default 4.</summary>
    [Range(1, 256)]
    public int ShardsPerPool { get; set; } = 4;

    /// <summary>
    /// How often a tenant's budgets read their spend from the rollups (one indexed sum per budget), alert on thresholds
    /// crossed and update the hard limits gateways enforce. Default 1 minute (the rollups' own flush interval).
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan BudgetRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often the cost supervisor reads the event log. Each read's events are applied by every pool shard they touch
    /// in one commit, so a longer interval means fewer, larger commits (cost data lags by up to this, well within
    /// <see cref="SettleDelay"/>). Default 1 s.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan EventInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most events the cost supervisor reads at once (1–10,000). Default 5,000.</summary>
    [Range(1, 10_000)]
    public int EventBatchSize { get; set; } = 5_000;

    /// <summary>How long hourly rollups are kept (PostgreSQL: whole monthly partitions). Default 13 months (396 days).</summary>
    [PositiveTimeSpan]
    public TimeSpan RollupRetention { get; set; } = TimeSpan.FromDays(396);

    /// <summary>The cost advisor: recommendations and autoscaling (<c>MeshOs:Cost:Recommendations</c>).</summary>
    public RecommendationOptions Recommendations { get; set; } = new();
}
