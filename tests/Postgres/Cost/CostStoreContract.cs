using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;
using MeshOs.Testing;
using MeshOs.Tests.Postgres.JobStore;

namespace MeshOs.Tests.Postgres.Cost;

/// <summary>
/// The contract of <see cref="ICostStore"/> (its XML docs), run against the in-memory and the PostgreSQL stores: rollups
/// add up by key, commits carry the shard's agents and position, sums group and filter, whole months are pruned.
/// </summary>
public abstract class CostStoreContract : StoreContract
{
    private static readonly DateTimeOffset Dec = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    protected ICostStore Store => Backend.Cost;

    private static CostRollup Row(DateTimeOffset hour, string tenant, decimal allocated, decimal idle = 0m, decimal usage = 0m, long ms = 0,
        string pool = "gpu", string agent = "a-1", string capability = "llm") =>
        new(hour, pool, tenant, agent, tenant == "" ? "" : capability, allocated, idle, usage, ms);

    private Task CommitAsync(long position, params CostRollup[] rows) =>
        Store.CommitAsync(new CostCommit("gpu#0", position, new Dictionary<string, string?>(), rows));

    [Fact]
    public async Task A_new_shard_is_at_position_zero_with_no_agents()
    {
        var shard = await Store.LoadShardAsync("nobody#0");

        Assert.Equal(0, shard.Position);
        Assert.Empty(shard.Agents);
    }

    [Fact]
    public async Task A_commit_sets_and_removes_agents_and_moves_the_position()
    {
        await Store.CommitAsync(new CostCommit("gpu#1", 17, new Dictionary<string, string?> { ["a-1"] = """{"online":true}""", ["a-2"] = """{"online":false}""" }, []));
        await Store.CommitAsync(new CostCommit("gpu#1", 42, new Dictionary<string, string?> { ["a-2"] = null, ["a-3"] = """{"x":[1,2]}""" }, []));

        var shard = await Store.LoadShardAsync("gpu#1");

        Assert.Equal(42, shard.Position);
        Assert.Equal(["a-1", "a-3"], shard.Agents.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, (await Store.LoadShardAsync("gpu#2")).Position);
    }

    [Fact]
    public async Task Job_spans_are_kept_per_shard_until_their_agent_is_settled_through_their_end()
    {
        BusySpan Span(int minutes, string tenant = "acme") =>
            new(Guid.NewGuid(), tenant, "llm", Dec, Dec.AddMinutes(minutes));
        var (a1, a2, a3, b1) = (Span(1), Span(5), Span(9, "globex"), Span(2));
        await Store.CommitAsync(new CostCommit("gpu#3", 5, new Dictionary<string, string?>(), [],
            Added: [new("a-1", a1), new("a-1", a2), new("a-1", a3), new("a-2", b1)]));
        await Store.CommitAsync(new CostCommit("gpu#4", 5, new Dictionary<string, string?>(), [], Added: [new("a-1", Span(1))]));

        // a-1 settled through minute 5 (its spans ending then or before go); a-2 untouched; another shard's a-1 too.
        await Store.CommitAsync(new CostCommit("gpu#3", 6, new Dictionary<string, string?>(), [],
            Settled: new Dictionary<string, DateTimeOffset> { ["a-1"] = Dec.AddMinutes(5) }));

        var shard = await Store.LoadShardAsync("gpu#3");
        Assert.Equal([new PendingSpan("a-1", a3), new PendingSpan("a-2", b1)], shard.PendingSpans.OrderBy(p => p.Agent, StringComparer.Ordinal));
        Assert.Single((await Store.LoadShardAsync("gpu#4")).PendingSpans);
    }

    [Fact]
    public async Task Rollups_of_one_key_add_up_exactly_across_commits_and_within_one()
    {
        await CommitAsync(1, Row(Dec, "acme", 1.000001m, ms: 10), Row(Dec, "acme", 0.000001m, ms: 5), Row(Dec, "", 0m, idle: 2.5m, ms: 100));
        await CommitAsync(2, Row(Dec, "acme", 0.5m, usage: 0.123456m, ms: 1), Row(Dec, "", 0m, idle: -0.5m, ms: -50));

        var sums = await Store.SumAsync(new CostSumQuery(Dec, Dec.AddHours(1), CostDimension.Tenant));

        Assert.Equal(
            [new CostSum("", null, 0m, 2.0m, 0m, 50), new CostSum("acme", null, 1.500002m, 0m, 0.123456m, 16)],
            sums.OrderBy(s => s.Key, StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task Sums_group_by_dimension_and_bucket_and_filter()
    {
        var day2 = Dec.AddDays(1);
        var nextMonth = new DateTimeOffset(2027, 1, 3, 5, 0, 0, TimeSpan.Zero);
        await CommitAsync(1,
            Row(Dec, "acme", 1m, ms: 1), Row(Dec.AddHours(1), "acme", 2m, ms: 1, capability: "ocr"), Row(day2, "beta", 4m, ms: 1, agent: "a-2"),
            Row(nextMonth, "acme", 8m, ms: 1, pool: "cpu"), Row(Dec, "", 0m, idle: 16m, ms: 1));
        var all = new CostSumQuery(Dec, nextMonth.AddHours(1), null);

        var total = Assert.Single(await Store.SumAsync(all));
        Assert.Equal(("", 15m, 16m), (total.Key, total.Allocated, total.Idle));
        Assert.Equal([("", 0m), ("acme", 11m), ("beta", 4m)],
            (await Store.SumAsync(all with { GroupBy = CostDimension.Tenant })).Select(s => (s.Key, s.Allocated)).OrderBy(s => s.Key, StringComparer.Ordinal));
        Assert.Equal([("cpu", 8m), ("gpu", 7m)], (await Store.SumAsync(all with { GroupBy = CostDimension.Pool })).Select(s => (s.Key, s.Allocated)).OrderBy(s => s.Key, StringComparer.Ordinal));
        Assert.Equal([("a-1", 11m), ("a-2", 4m)], (await Store.SumAsync(all with { GroupBy = CostDimension.Agent })).Select(s => (s.Key, s.Allocated)).OrderBy(s => s.Key, StringComparer.Ordinal));
        Assert.Equal([(Dec.AddHours(-10), 3m), (day2.AddHours(-10), 4m), (new DateTimeOffset(2027, 1, 3, 0, 0, 0, TimeSpan.Zero), 8m)],
            (await Store.SumAsync(all with { Interval = CostInterval.Day })).Select(s => (s.Bucket!.Value, s.Allocated)).OrderBy(s => s.Item1));
        Assert.Equal([(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), 7m), (new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), 8m)],
            (await Store.SumAsync(all with { Interval = CostInterval.Month })).Select(s => (s.Bucket!.Value, s.Allocated)).OrderBy(s => s.Item1));
        Assert.Equal(2m, Assert.Single(await Store.SumAsync(all with { Capability = "ocr" })).Allocated);
        Assert.Equal(3m, Assert.Single(await Store.SumAsync(all with { Tenant = "acme", Pool = "gpu" })).Allocated);
        Assert.Equal(1m, Assert.Single(await Store.SumAsync(new CostSumQuery(Dec, Dec.AddHours(1), null, Tenant: "acme"))).Allocated); // To is exclusive
        Assert.Empty(await Store.SumAsync(all with { Agent = "nobody" }));
    }

    [Fact]
    public async Task A_jobs_cost_adds_up_across_commits_and_months()
    {
        var job = Guid.NewGuid();
        var january = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await Store.CommitAsync(new CostCommit("gpu#0", 1, new Dictionary<string, string?>(), [],
            [new JobCostLine(job, Dec, "acme", "gpu", "llm", 1.000001m, 0m, 10), new JobCostLine(job, Dec.AddHours(1), "acme", "gpu", "llm", 2m, 0.25m, 20)]));
        await Store.CommitAsync(new CostCommit("gpu#0", 2, new Dictionary<string, string?>(), [],
            [new JobCostLine(job, january, "acme", "gpu", "llm", 0.5m, 0m, 5), new JobCostLine(Guid.NewGuid(), Dec, "beta", "gpu", "llm", 9m, 0m, 1)]));

        var cost = await Store.GetJobAsync(job);

        Assert.Equal(new JobCost(job, string.Empty, "acme", "gpu", "llm", 3.500001m, 0.25m, 35), cost);
        Assert.Null(await Store.GetJobAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Pruning_drops_whole_months_that_ended_before_the_cutoff()
    {
        var november = new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero);
        await Store.PrepareMonthsAsync([new DateOnly(2026, 11, 1), new DateOnly(2026, 12, 1)]);
        var job = Guid.NewGuid();
        await CommitAsync(1, Row(november, "acme", 1m), Row(Dec, "acme", 2m));
        await Store.CommitAsync(new CostCommit("gpu#0", 2, new Dictionary<string, string?>(), [],
            [new JobCostLine(job, november, "acme", "gpu", "llm", 1m, 0m, 1), new JobCostLine(job, Dec, "acme", "gpu", "llm", 2m, 0m, 1)]));

        var dropped = await Store.PruneAsync(new DateTimeOffset(2026, 12, 15, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal([new DateOnly(2026, 11, 1)], dropped);
        Assert.Equal(2m, (await Store.GetJobAsync(job))!.Allocated);
        Assert.Equal(2m, Assert.Single(await Store.SumAsync(new CostSumQuery(november, Dec.AddHours(1), null))).Allocated);
    }
}

/// <summary>The cost store contract on the embedded mode's in-memory store.</summary>
public sealed class InMemoryCostStoreTests : CostStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult(StoreBackend.InMemory());
}

/// <summary>The cost store contract on PostgreSQL (a fresh database per test, migrated the way a silo does it).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCostStoreTests(PostgresFixture postgres) : CostStoreContract
{
    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.StartAsync(await postgres.CreateDatabaseAsync());
}
