using System.Collections.Immutable;
using MeshOs.Abstractions.Events;

namespace MeshOs.Abstractions.Cost;

/// <summary>
/// The mesh's rate cards: the timeline of prices (each card in force from its effective time until the next one's).
/// Key: 0 (one per cluster; read through a cache by the cost shards, written by operators only).
/// </summary>
[Alias("meshos.IRateCardGrain")]
public interface IRateCardGrain : IGrainWithIntegerKey
{
    /// <summary>Every card, by effective time, with the mesh's currency and a version that grows on every change.</summary>
    [Alias("GetCards"), AlwaysInterleave]
    Task<RateCardSet> GetCardsAsync();

    /// <summary>
    /// Adds or replaces a card (by id). Invalid naming the field for a bad card (or another currency); Conflict for a card
    /// already in force (history is not rewritten: add a new card effective now) or another card with the same effective time.
    /// </summary>
    [Alias("PutCard")]
    Task<RateCard> PutCardAsync(RateCardInput card);

    /// <summary>Removes a card not yet in force. NotFound for an unknown id; Conflict for a card in force or past.</summary>
    [Alias("DeleteCard")]
    Task DeleteCardAsync(string cardId);
}

/// <summary>A card as an operator sets it; the grain stamps version and time.</summary>
/// <param name="EffectiveFrom">When it takes effect; null: now. Not in the past.</param>
/// <param name="Currency">Null: the mesh's.</param>
[GenerateSerializer, Immutable, Alias("meshos.RateCardInput")]
public sealed record RateCardInput(
    string Id,
    DateTimeOffset? EffectiveFrom,
    string? Currency,
    ImmutableArray<AgentRate> AgentRates,
    ImmutableArray<UnitPrice> UnitPrices,
    string? Note);

/// <summary>The rate cards, oldest effective first.</summary>
[GenerateSerializer, Immutable, Alias("meshos.RateCardSet")]
public sealed record RateCardSet(string Currency, long Version, ImmutableArray<RateCard> Cards);

/// <summary>
/// The cost supervisor's entry from the event log (consumer <c>cost</c>, key <c>default</c>): stateless, it splits each
/// batch by pool shard and hands every shard its part (<see cref="ICostShardGrain"/>), answering once all of them have.
/// </summary>
[Alias("meshos.ICostRouterGrain")]
public interface ICostRouterGrain : IMeshEventConsumer;

/// <summary>
/// The cost of one shard of one pool (key <c>{pool}#{shard}</c>, agents placed by <c>ShardHash</c> of their id): its
/// agents' connected time, busy time per job, and usage, turned into hourly rollups that it writes with its position in
/// the log in one commit (a redelivered event is skipped; nothing is counted twice).
/// </summary>
[Alias("meshos.ICostShardGrain")]
public interface ICostShardGrain : IGrainWithStringKey
{
    /// <summary>Applies this shard's events (in log order) and commits them before it answers.</summary>
    [Alias("Apply")]
    Task ApplyAsync(ImmutableArray<MeshEvent> events);

    /// <summary>
    /// Counts connected time up to <paramref name="upTo"/> (null: now − <c>MeshOs:Cost:SettleDelay</c>) as busy or idle and
    /// commits it. Time is settled once: a later job end that covers settled idle time moves it to the job's tenant.
    /// </summary>
    [Alias("Settle")]
    Task SettleAsync(DateTimeOffset? upTo = null);
}

/// <summary>
/// Reads the cost rollups: reports by dimension and period, the cost-per-agent KPI, and one tenant's spend (the seam
/// budgets read). Stateless worker, key 0.
/// </summary>
[Alias("meshos.ICostReportGrain")]
public interface ICostReportGrain : IGrainWithIntegerKey
{
    /// <summary>The report of <paramref name="query"/>; Invalid for a bad range.</summary>
    [Alias("Report")]
    Task<CostReport> GetReportAsync(CostQuery query);

    /// <summary>Cost per agent per month in the range, against the target, with a point per month.</summary>
    [Alias("Kpi")]
    Task<CostKpi> GetKpiAsync(CostKpiQuery query);

    /// <summary>One job's cost (its share of agent time and its usage), or null when none was recorded (yet).</summary>
    [Alias("JobCost")]
    Task<JobCost?> GetJobCostAsync(Guid jobId);

    /// <summary>
    /// What a tenant was charged (allocated + usage, idle not shared) in [from, to), optionally only in one pool or for
    /// one capability (null: all): one small indexed sum. Budgets read it.
    /// </summary>
    [Alias("TenantSpend")]
    Task<decimal> GetTenantSpendAsync(string tenantId, DateTimeOffset from, DateTimeOffset to, string? pool = null, string? capability = null);
}
