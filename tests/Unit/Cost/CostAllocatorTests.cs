using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>The allocation of agent time (COST.md's worked example among them): exact amounts, and every agent-hour reconciles.</summary>
public sealed class CostAllocatorTests
{
    internal static readonly DateTimeOffset Day = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    internal static readonly CostedAgent Agent = new("a-1", "gpu", "sim", "eu-west", 9.99m);

    internal static DateTimeOffset At(int hour, int minute = 0, int second = 0) => Day.AddHours(hour).AddMinutes(minute).AddSeconds(second);

    internal static RateCard Card(string id, DateTimeOffset from, params AgentRate[] rates) =>
        new(id, from, "USD", [.. rates], [], null, 1, from);

    internal static RateBook Book(decimal hourly) => new([Card("base", Day, new AgentRate("gpu", null, null, hourly))]);

    internal static BusySpan Job(string tenant, DateTimeOffset from, DateTimeOffset to, string capability = "llm") =>
        new(Guid.NewGuid(), tenant, capability, from, to);

    private static CostRollup Row(ImmutableArray<CostRollup> rows, DateTimeOffset hour, string tenant) =>
        Assert.Single(rows, r => r.Hour == hour && r.Tenant == tenant);

    [Fact]
    public void A_partial_hour_of_idle_costs_its_share_of_the_rate()
    {
        var rows = CostAllocator.Allocate(Agent, At(10, 20), At(10, 50), [], Book(3.60m));

        var idle = Assert.Single(rows);
        Assert.Equal((At(10), "gpu", "", "a-1", "", 0m, 1.80m, 0m, 1_800_000L),
            (idle.Hour, idle.Pool, idle.Tenant, idle.Agent, idle.Capability, idle.Allocated, idle.Idle, idle.Usage, idle.AgentMs));
    }

    [Fact]
    public void Concurrent_jobs_split_the_time_they_share_and_the_rest_of_the_hour_is_idle()
    {
        // The worked example of COST.md, hour 10: acme 10:00–10:30, beta 10:15–10:45, on one agent at $3.60/h.
        var rows = CostAllocator.Allocate(Agent, At(10), At(11), [Job("acme", At(10), At(10, 30)), Job("beta", At(10, 15), At(10, 45))], Book(3.60m));

        Assert.Equal(1.35m, Row(rows, At(10), "acme").Allocated);
        Assert.Equal(1.35m, Row(rows, At(10), "beta").Allocated);
        Assert.Equal(0.90m, Row(rows, At(10), "").Idle);
        Assert.Equal(1_350_000L, Row(rows, At(10), "acme").AgentMs);
        Assert.Equal(900_000L, Row(rows, At(10), "").AgentMs);
        Assert.Equal(3.60m, rows.Sum(r => r.Allocated + r.Idle));
    }

    [Fact]
    public void Each_job_gets_its_own_share_and_the_tenant_rows_are_the_sums_of_their_jobs()
    {
        var j1 = Job("acme", At(10), At(10, 30));
        var j2 = Job("acme", At(10, 20), At(10, 40));
        var j3 = Job("beta", At(10, 20), At(10, 40));
        var (rows, jobs) = CostAllocator.AllocateWithJobs(Agent, At(10), At(11), [j1, j2, j3], Book(3.60m));

        var byJob = jobs.ToDictionary(j => j.JobId, j => j.Allocated);
        Assert.Equal(1.20m + 0.20m, byJob[j1.JobId]); // alone 10:00–10:20, a third of 10:20–10:30
        Assert.Equal(0.20m + 0.30m, byJob[j2.JobId]); // a third of 10:20–10:30, half of 10:30–10:40
        Assert.Equal(0.50m, byJob[j3.JobId]);
        Assert.Equal(byJob[j1.JobId] + byJob[j2.JobId], Row(rows, At(10), "acme").Allocated);
        Assert.Equal(3.60m, jobs.Sum(j => j.Allocated) + Row(rows, At(10), "").Idle);
    }

    [Fact]
    public void A_rate_change_mid_hour_applies_from_its_effective_time()
    {
        var book = new RateBook([
            Card("base", Day, new AgentRate("gpu", null, null, 3.60m)),
            Card("dearer", At(11, 30), new AgentRate("gpu", null, null, 7.20m)),
        ]);

        var rows = CostAllocator.Allocate(Agent, At(11), At(12), [Job("acme", At(11, 30), At(12))], book);

        Assert.Equal(1.80m, Row(rows, At(11), "").Idle);        // 11:00–11:30 at 3.60
        Assert.Equal(3.60m, Row(rows, At(11), "acme").Allocated); // 11:30–12:00 at 7.20
    }

    [Fact]
    public void An_agent_that_dies_mid_job_costs_only_its_connected_time()
    {
        // Connected 10:00–10:40; the job's attempt (10:30–11:00) ended with the lost lease after the agent died.
        var rows = CostAllocator.Allocate(Agent, At(10), At(10, 40), [Job("acme", At(10, 30), At(11))], Book(3.60m));

        Assert.Equal(0.60m, Row(rows, At(10), "acme").Allocated);
        Assert.Equal(1.80m, Row(rows, At(10), "").Idle);
        Assert.Equal(2.40m, rows.Sum(r => r.Allocated + r.Idle));
    }

    [Fact]
    public void Time_across_hours_lands_in_each_hour_and_capabilities_are_kept_apart()
    {
        var rows = CostAllocator.Allocate(Agent, At(9, 45), At(11, 15),
            [Job("acme", At(9, 50), At(10, 10), "llm"), Job("acme", At(10, 50), At(11, 10), "ocr")], Book(6m));

        Assert.Equal([At(9), At(10), At(11)], rows.Select(r => r.Hour).Distinct().Order());
        Assert.Equal(1.00m, Row(rows, At(9), "acme").Allocated);  // 9:50–10:00
        Assert.Equal(2, rows.Count(r => r.Hour == At(10) && r.Tenant == "acme")); // llm and ocr
        Assert.Equal(9.00m, rows.Sum(r => r.Allocated + r.Idle)); // 1.5 h × 6
    }

    [Fact]
    public void Rounding_remainders_go_deterministically_and_the_hour_reconciles_exactly()
    {
        var rows = CostAllocator.Allocate(Agent, At(10), At(11),
            [Job("c", At(10), At(11)), Job("a", At(10), At(11)), Job("b", At(10), At(11))], Book(1m));

        Assert.Equal(0.333334m, Row(rows, At(10), "a").Allocated); // the first key by ordinal order takes the leftover unit
        Assert.Equal(0.333333m, Row(rows, At(10), "b").Allocated);
        Assert.Equal(0.333333m, Row(rows, At(10), "c").Allocated);
        Assert.Equal(1m, rows.Sum(r => r.Allocated + r.Idle));
        Assert.Equal(3_600_000L, rows.Sum(r => r.AgentMs));
    }

    [Fact]
    public void Any_mix_of_spans_and_rates_reconciles_every_agent_hour_exactly()
    {
        var random = new Random(14);
        for (var round = 0; round < 300; round++)
        {
            var book = new RateBook([
                Card("r0", Day, new AgentRate("gpu", null, null, random.Next(1, 100_000) / 997m)),
                Card("r1", At(random.Next(0, 6), random.Next(0, 60), random.Next(0, 60)), new AgentRate("gpu", null, null, random.Next(0, 100_000) / 13m)),
            ]);
            var from = At(random.Next(0, 3), random.Next(0, 60), random.Next(0, 60)).AddTicks(random.Next(0, 10_000));
            var to = from.AddSeconds(random.Next(1, 5 * 3600)).AddTicks(random.Next(0, 10_000));
            var spans = Enumerable.Range(0, random.Next(0, 6)).Select(_ =>
            {
                var start = from.AddSeconds(random.Next(-600, 4 * 3600));
                return Job(((char)('a' + random.Next(0, 3))).ToString(), start, start.AddSeconds(random.Next(1, 7200)));
            }).ToList();

            var rows = CostAllocator.Allocate(Agent, from, to, spans, book);

            foreach (var hour in rows.GroupBy(r => r.Hour))
            {
                var exact = 0m;
                var segmentStart = hour.Key < from ? from : hour.Key;
                var segmentEnd = hour.Key.AddHours(1) > to ? to : hour.Key.AddHours(1);
                exact = Exact(book, segmentStart, segmentEnd);
                Assert.Equal(Math.Round(exact, CostCurrency.Scale, MidpointRounding.ToEven), hour.Sum(r => r.Allocated + r.Idle));
                Assert.All(hour, r => Assert.Equal(r.Allocated + r.Idle, Math.Round(r.Allocated + r.Idle, CostCurrency.Scale)));
                Assert.Equal((long)Math.Round((decimal)(segmentEnd - segmentStart).Ticks / TimeSpan.TicksPerMillisecond, MidpointRounding.ToEven), hour.Sum(r => r.AgentMs));
            }
        }
    }

    [Fact]
    public void A_job_that_ends_after_its_time_was_settled_idle_takes_that_idle_back_and_no_more()
    {
        var book = Book(3.60m);
        var settled = CostAllocator.Allocate(Agent, At(10), At(10, 30), [], book);
        var idle = ImmutableArray.Create(new SettledIdle(At(10), settled[0].Idle, settled[0].AgentMs));

        var (rows, left) = CostAllocator.Reclaim(Agent, Job("acme", At(10, 20), At(10, 40)), At(10, 20), At(10, 30), idle, book);

        Assert.Equal(0.60m, Row(rows, At(10), "acme").Allocated);
        Assert.Equal(-0.60m, Row(rows, At(10), "").Idle);
        Assert.Equal(1.20m, Assert.Single(left).Amount);
        Assert.Equal(0m, rows.Sum(r => r.Allocated + r.Idle)); // moved, not added

        var (again, empty) = CostAllocator.Reclaim(Agent, Job("beta", At(10), At(10, 30)), At(10), At(10, 30), left, book);
        Assert.Equal(1.20m, Row(again, At(10), "beta").Allocated); // capped by the idle left, never below zero
        Assert.Equal(0m, Assert.Single(empty).Amount);
    }

    private static decimal Exact(RateBook book, DateTimeOffset from, DateTimeOffset to)
    {
        var points = new SortedSet<DateTimeOffset>(book.ChangesBetween(from, to)) { from, to };
        var sum = 0m;
        DateTimeOffset? previous = null;
        foreach (var point in points)
        {
            if (previous is { } a)
            {
                sum += book.HourlyRate(Agent, a) * (point - a).Ticks / TimeSpan.TicksPerHour;
            }

            previous = point;
        }

        return sum;
    }
}
