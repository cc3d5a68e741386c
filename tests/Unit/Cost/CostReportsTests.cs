using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;
using static MeshOs.Tests.Unit.Cost.CostAllocatorTests;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>Reports from rollup sums: idle apart or shared, totals that reconcile exactly, the KPI.</summary>
public sealed class CostReportsTests
{
    private static readonly CostSum[] Sums =
    [
        new("", null, 0m, 1.000001m, 0m, 1_000),
        new("acme", null, 3m, 0m, 0.5m, 3_000),
        new("beta", null, 1m, 0m, 0m, 1_000),
        new("gamma", null, 2m, 0m, 0m, 2_000),
    ];

    private static CostQuery Query(IdlePolicy idle) => new(At(0), At(24), CostDimension.Tenant, Idle: idle);

    [Fact]
    public void Separate_idle_is_its_own_line()
    {
        var report = CostReports.Build(Query(IdlePolicy.Separate), "USD", Sums);

        Assert.Equal(1.000001m, Assert.Single(report.Lines, l => l.Key == "").Idle);
        Assert.All(report.Lines, l => Assert.Equal(0m, l.IdleShare));
        Assert.Equal((6m, 1.000001m, 1.000001m, 7.000001m, 7.500001m), (report.Allocated, report.IdleTotal, report.UnsharedIdle, report.AgentCost, report.Total));
    }

    [Fact]
    public void Even_sharing_splits_idle_among_the_tenants_exactly()
    {
        var report = CostReports.Build(Query(IdlePolicy.Even), "USD", Sums);

        Assert.DoesNotContain(report.Lines, l => l.Key == "");
        Assert.Equal([0.333334m, 0.333334m, 0.333333m], report.Lines.Select(l => l.IdleShare));
        Assert.Equal(1.000001m, report.IdleTotal);
        Assert.Equal(0m, report.UnsharedIdle);
        Assert.Equal(report.Total, report.Lines.Sum(l => l.Total));
    }

    [Fact]
    public void Proportional_sharing_follows_allocated_cost()
    {
        var report = CostReports.Build(Query(IdlePolicy.Proportional), "USD", Sums);

        Assert.Equal([0.500000m, 0.166667m, 0.333334m], report.Lines.Select(l => l.IdleShare)); // leftover units to the largest cut-off fractions
        Assert.Equal(1.000001m, report.Lines.Sum(l => l.IdleShare));
        Assert.Equal(7.000001m, report.AgentCost);
    }

    [Fact]
    public void A_tenants_view_holds_its_own_line_only()
    {
        var report = CostReports.Only(CostReports.Build(Query(IdlePolicy.Even), "USD", Sums), "acme");

        var line = Assert.Single(report.Lines);
        Assert.Equal(("acme", 3m, 0.333334m, 0.5m), (line.Key, line.Allocated, line.IdleShare, line.Usage));
        Assert.Equal(3.833334m, report.Total);
    }

    [Fact]
    public void Cost_per_agent_month_scales_cost_over_agent_hours_to_730_hours()
    {
        // Two agents for 24 h at $0.30/h: $14.40 over 48 agent-hours → $219 per agent-month.
        var kpi = CostReports.Kpi(new CostKpiQuery(At(0), At(24)), "USD", 250m, [new CostSum("", At(0), 10m, 4.40m, 0m, 48 * 3_600_000L)]);

        Assert.Equal((14.40m, 48m, 219.00m, true), (kpi.Cost, kpi.AgentHours, kpi.CostPerAgentMonth!.Value, kpi.MeetsTarget!.Value));
        Assert.Null(CostReports.Kpi(new CostKpiQuery(At(0), At(24)), "USD", 250m, []).CostPerAgentMonth);
    }

    [Fact]
    public void Ranges_are_whole_hours_forward_and_bounded()
    {
        Assert.Equal((At(10), At(12)), CostReports.Range(At(10, 30), At(11, 1)));
        MeshAssert.Invalid("to", () => CostReports.Range(At(10), At(10)));
        MeshAssert.Invalid("to", () => CostReports.Range(At(0), At(0).AddDays(401)));
        Assert.Throws<MeshException>(() => CostReports.Range(At(11), At(10)));
    }
}

/// <summary>COST.md's worked example, end to end through the pure classes: its every number.</summary>
public sealed class CostWorkedExampleTests
{
    [Fact]
    public void The_worked_example_of_COST_md_reconciles()
    {
        var book = new RateBook([
            new RateCard("base", Day, "USD", [new AgentRate("gpu", null, null, 3.60m)], [new UnitPrice("tokens_in", null, 0.000001m)], null, 1, Day),
            new RateCard("dearer", At(11, 30), "USD", [new AgentRate("gpu", null, null, 7.20m)], [new UnitPrice("tokens_in", null, 0.000001m)], null, 1, Day),
        ]);
        var rows = CostAllocator.Allocate(Agent, At(10), At(11, 50),
            [Job("acme", At(10), At(10, 30)), Job("beta", At(10, 15), At(10, 45)), Job("acme", At(11, 30), At(12))], book);
        var usage = UsagePricing.Cost(new global::MeshOs.Abstractions.Jobs.JobUsage(1000, 0, 0.25m), book, At(10, 30));

        Assert.Equal([("", 0m, 0.90m), ("acme", 1.35m, 0m), ("beta", 1.35m, 0m)],
            rows.Where(r => r.Hour == At(10)).Select(r => (r.Tenant, r.Allocated, r.Idle)));
        Assert.Equal([("", 0m, 1.80m), ("acme", 2.40m, 0m)], rows.Where(r => r.Hour == At(11)).Select(r => (r.Tenant, r.Allocated, r.Idle)));
        Assert.Equal(0.251m, usage);

        CostSum Sum(string tenant) => new(tenant, null, rows.Where(r => r.Tenant == tenant).Sum(r => r.Allocated),
            rows.Where(r => r.Tenant == tenant).Sum(r => r.Idle), tenant == "acme" ? usage : 0m, rows.Where(r => r.Tenant == tenant).Sum(r => r.AgentMs));
        CostSum[] sums = [Sum(""), Sum("acme"), Sum("beta")];
        var separate = CostReports.Build(new CostQuery(At(0), At(24), CostDimension.Tenant, Idle: IdlePolicy.Separate), "USD", sums);
        var shared = CostReports.Build(new CostQuery(At(0), At(24), CostDimension.Tenant, Idle: IdlePolicy.Proportional), "USD", sums);

        Assert.Equal((5.10m, 2.70m, 7.80m, 0.251m, 8.051m), (separate.Allocated, separate.IdleTotal, separate.AgentCost, separate.Usage, separate.Total));
        Assert.Equal([("acme", 3.75m, 1.985294m), ("beta", 1.35m, 0.714706m)], shared.Lines.Select(l => (l.Key, l.Allocated, l.IdleShare)));
        var kpi = CostReports.Kpi(new CostKpiQuery(At(0), At(24)), "USD", 250m, [new CostSum("", At(0), 5.10m, 2.70m, 0.251m, rows.Sum(r => r.AgentMs))]);
        Assert.Equal((1.833333m, 3205.76m, false), (kpi.AgentHours, kpi.CostPerAgentMonth!.Value, kpi.MeetsTarget!.Value));
    }
}
