using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Events;

namespace MeshOs.Tests.Cluster.Cost;

/// <summary>
/// A tenant's budget grain on a cluster: spend reported by the cost rollups, repeats ignored by sequence, alerts as
/// events once per threshold, and the hard limit binding at exactly the limit (what gateways refuse submits by).
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class BudgetClusterTests(MeshClusterFixture fixture)
{
    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private DateTimeOffset Now => fixture.Clock.Time.GetUtcNow();

    private SpendReport Spend(long sequence, decimal amount, string pool = "gpu") =>
        new("cost/test", sequence, Now, pool, "llm", amount, "USD");

    [Fact]
    public async Task A_hard_limit_binds_at_exactly_the_limit_repeats_do_not_count_and_each_threshold_alerts_once()
    {
        var tenantId = Unique("budget-tenant");
        var budgets = fixture.Grains.GetGrain<ITenantBudgetGrain>(tenantId);
        var put = await budgets.PutAsync(new BudgetSpec("monthly", 10m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: true, Pool: "gpu"));
        Assert.Equal((0m, BudgetState.Ok), (put.Spent, put.State));
        Assert.Equal([80, 100], put.Spec.AlertPercents.AsEnumerable());

        await budgets.RecordSpendAsync([Spend(1, 7.999999m), Spend(2, 2m)]);
        Assert.Empty((await budgets.GetEnforcementAsync()).Blocked);
        await budgets.RecordSpendAsync([Spend(2, 2m), Spend(1, 7.999999m)]); // a resend after a failure: not counted again
        Assert.Equal(9.999999m, (await budgets.ListAsync()).Single().Spent);

        await budgets.RecordSpendAsync([Spend(3, 0.000001m, pool: "cpu")]); // another pool: not this budget's
        Assert.Empty((await budgets.GetEnforcementAsync()).Blocked);
        await budgets.RecordSpendAsync([Spend(4, 0.000001m)]);
        var blocked = (await budgets.GetEnforcementAsync()).Blocking("gpu", "llm");
        Assert.Equal(("monthly", 10m, BudgetState.Exceeded), (blocked?.Spec.Name, blocked?.Spent, blocked?.State));
        Assert.Null((await budgets.GetEnforcementAsync()).Blocking("cpu", "llm"));

        var recorder = fixture.Grains.GetGrain<IRecordingConsumerGrain>("all");
        var alerts = await fixture.Clock.UntilAsync(
            async () => (await recorder.GetEventsAsync()).Where(e => e.TenantId == tenantId && e.Payload is BudgetThresholdCrossed).ToList(),
            list => list.Count >= 2, MeshClusterFixture.PumpInterval + fixture.Clock.Step, "the budget's alerts delivered to the recorder");
        Assert.Equal([80, 100], alerts.Select(e => ((BudgetThresholdCrossed)e.Payload).ThresholdPercent));
        Assert.Equal(MeshEventKind.BudgetThresholdCrossed, alerts[0].Kind);
        Assert.Equal(("monthly", 10m, "USD", true), (((BudgetThresholdCrossed)alerts[1].Payload).Budget, ((BudgetThresholdCrossed)alerts[1].Payload).Limit,
            ((BudgetThresholdCrossed)alerts[1].Payload).Currency, ((BudgetThresholdCrossed)alerts[1].Payload).HardLimit));

        // Raising the limit keeps the period's spend and lifts the refusal.
        var raised = await budgets.PutAsync(new BudgetSpec("monthly", 20m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: true, Pool: "gpu"));
        Assert.Equal((10m, BudgetState.Ok), (raised.Spent, raised.State));
        Assert.Empty((await budgets.GetEnforcementAsync()).Blocked);
    }

    [Fact]
    public async Task Bad_budgets_and_reports_change_nothing()
    {
        var budgets = fixture.Grains.GetGrain<ITenantBudgetGrain>(Unique("budget-tenant"));
        await budgets.PutAsync(new BudgetSpec("b", 5m, "USD", BudgetPeriod.Monthly, null, null, [], HardLimit: false));

        var currency = await Assert.ThrowsAsync<MeshException>(() => budgets.PutAsync(new BudgetSpec("b", 5m, "EUR", BudgetPeriod.Monthly, null, null, [], false)));
        Assert.Equal("currency", currency.Field);
        var report = await Assert.ThrowsAsync<MeshException>(() => budgets.RecordSpendAsync([Spend(1, 1m), Spend(2, 1m) with { Currency = "EUR" }]));
        Assert.Equal(MeshErrorCode.InvalidArgument, report.Code);
        Assert.Equal(0m, (await budgets.ListAsync()).Single().Spent);
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => budgets.DeleteAsync("missing"))).Code);

        await budgets.DeleteAsync("b");
        Assert.Empty(await budgets.ListAsync());
    }
}
