using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Cluster.Cost;

/// <summary>
/// A tenant's budgets on a cluster, fed by the real cost pipeline: jobs report usage, the event log reaches the pool's
/// cost shard, the budget reads the tenant's spend from the rollups, alerts once per threshold as events, and its hard
/// limit binds at exactly the limit (what gateways refuse submits by).
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class BudgetClusterTests(MeshClusterFixture fixture)
{
    [Fact]
    public async Task A_hard_limit_binds_at_exactly_the_limit_from_the_rollups_and_each_threshold_alerts_once()
    {
        var pool = "platform/budget-" + Guid.NewGuid().ToString("N")[..8];
        var agentId = "agent-" + pool[(pool.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var tenant = await fixture.CreateTenantAsync(null, pool);
        await fixture.Grains.GetGrain<IAgentGrain>(agentId).RegisterAsync(
            new AgentRegistration(agentId, AgentPools.PlatformOwner, pool, ["budget-cap"], 1, "1.0.0", "eu-west", 0m), null);
        var budgets = fixture.Grains.GetGrain<ITenantBudgetGrain>(tenant.TenantId);
        var put = await budgets.PutAsync(new BudgetSpec("monthly", 0.5m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: true, Pool: pool));
        Assert.Equal((0m, BudgetState.Ok), (put.Spent, put.State));
        Assert.Equal([80, 100], put.Spec.AlertPercents.AsEnumerable());

        await RunAsync(tenant.TenantId, pool, agentId, 0.25m);
        var half = (await budgets.RefreshAsync()).Single();
        Assert.Equal((0.25m, 50m, BudgetState.Ok), (half.Spent, half.Percent, half.State));
        Assert.Empty((await budgets.GetEnforcementAsync()).Blocked);

        await RunAsync(tenant.TenantId, pool, agentId, 0.25m);
        var full = (await budgets.RefreshAsync()).Single();
        Assert.Equal((0.5m, 100m, BudgetState.Exceeded), (full.Spent, full.Percent, full.State));
        var blocked = (await budgets.GetEnforcementAsync()).Blocking(pool, "budget-cap");
        Assert.Equal("monthly", blocked?.Spec.Name);
        Assert.Null((await budgets.GetEnforcementAsync()).Blocking("elsewhere", "budget-cap"));
        await budgets.RefreshAsync(); // a second read of the same spend alerts nothing again

        await fixture.Grains.GetGrain<IEventPumpGrain>("test-recorder").PumpNowAsync();
        var alerts = (await fixture.Grains.GetGrain<IRecordingConsumerGrain>("all").GetEventsAsync())
            .Where(e => e.TenantId == tenant.TenantId && e.Payload is BudgetThresholdCrossed).ToList();
        Assert.Equal([80, 100], alerts.Select(e => ((BudgetThresholdCrossed)e.Payload).ThresholdPercent));
        Assert.Equal(MeshEventKind.BudgetThresholdCrossed, alerts[1].Kind);
        var last = (BudgetThresholdCrossed)alerts[1].Payload;
        Assert.Equal(("monthly", 0.5m, 0.5m, "USD", true), (last.Budget, last.Spent, last.Limit, last.Currency, last.HardLimit));

        // Raising the limit keeps the period's spend and lifts the refusal.
        var raised = await budgets.PutAsync(new BudgetSpec("monthly", 1m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: true, Pool: pool));
        Assert.Equal((0.5m, BudgetState.Ok), (raised.Spent, raised.State));
        Assert.Empty((await budgets.GetEnforcementAsync()).Blocked);
    }

    [Fact]
    public async Task Bad_budgets_change_nothing()
    {
        var tenant = await fixture.CreateTenantAsync(null, "platform");
        var budgets = fixture.Grains.GetGrain<ITenantBudgetGrain>(tenant.TenantId);
        await budgets.PutAsync(new BudgetSpec("b", 5m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: false));

        var currency = await Assert.ThrowsAsync<MeshException>(() => budgets.PutAsync(new BudgetSpec("b", 5m, "EUR", BudgetPeriod.Monthly, null, null, [], false)));
        Assert.Equal("currency", currency.Field);
        Assert.Equal(5m, (await budgets.ListAsync()).Single().Spec.Limit);
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => budgets.DeleteAsync("missing"))).Code);

        await budgets.DeleteAsync("b");
        Assert.Empty(await budgets.ListAsync());
    }

    /// <summary>Runs one job of the tenant on the agent, reporting <paramref name="cost"/> as its usage, and lets the cost shard apply it.</summary>
    private async Task RunAsync(string tenant, string pool, string agentId, decimal cost)
    {
        var job = fixture.Grains.GetGrain<IJobGrain>(Guid.CreateVersion7());
        await job.SubmitAsync(tenant, new JobSpec("test", "budget-cap", pool, "{}", 5, TimeSpan.FromMinutes(1),
            new RetryPolicy(1, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 2), null), 100, 100);
        for (var shard = 0; shard < 2; shard++)
        {
            await fixture.Grains.GetGrain<IQueueGrain>(new QueueKey(pool, "budget-cap", shard).ToString()).TakeAsync("test", 10, 0, TimeSpan.Zero);
        }

        var grant = await job.LeaseAsync(agentId, "1.0.0", TimeSpan.Zero);
        await job.StartAsync(agentId, grant!.Epoch);
        await job.CompleteAsync(agentId, grant.Epoch, new JobResult(true, "{}", null, false, new JobUsage(0, 0, cost)));
        await fixture.Grains.GetGrain<IEventPumpGrain>("cost").PumpNowAsync();
    }
}
