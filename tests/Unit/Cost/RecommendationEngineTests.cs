using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Healing;
using MeshOs.Grains.Cost;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>
/// The recommendation engine, one kind at a time, with exact figures. The window: 00:00–12:20 of 7 December (now 12:30,
/// settled 10 minutes behind): 44,400,000 ms. Pool <c>gpu</c>: 4 agents at $3.60/h, each hour 6 busy minutes of 4 agent-hours.
/// </summary>
public sealed class RecommendationEngineTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset From = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Settled = Now.AddMinutes(-10);
    private static readonly DateTimeOffset RetireFrom = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static readonly RecommendationOptions Options = new();

    /// <summary>12 hours of <paramref name="agents"/> agents at <paramref name="rate"/>/h, <paramref name="busyMsPerHour"/> of each hour busy.</summary>
    private static PoolFacts Pool(string name, int agents = 4, decimal rate = 3.60m, long busyMsPerHour = 360_000, string capability = "llm",
        string region = "eu", string[]? certifications = null, Func<int, long>? busyAt = null)
    {
        var hours = Enumerable.Range(0, 12).Select(h =>
        {
            var busy = busyAt?.Invoke(h) ?? busyMsPerHour;
            return new HourUsage(From.AddHours(h), busy, (agents * 3_600_000L) - busy);
        }).ToImmutableArray();
        return new PoolFacts(name, agents, [capability], [region], [.. certifications ?? ["pii"]], hours, agents * 12 * rate,
            ImmutableDictionary<string, long>.Empty.Add(capability, hours.Sum(h => h.BusyMs)));
    }

    private static AdvisorInputs Inputs(IReadOnlyList<PoolFacts> pools, IReadOnlyList<AgentFacts>? agents = null, IReadOnlyList<ScaleRecommendation>? pressure = null) =>
        new(Now, From, Settled, RetireFrom, "USD", pools, agents ?? [], pressure ?? []);

    [Fact]
    public void A_pool_under_the_threshold_every_hour_is_scaled_down_to_its_busy_agents_over_the_target_utilization()
    {
        var drafts = RecommendationEngine.Evaluate(Inputs([Pool("gpu")]), Options);

        var down = Assert.Single(drafts);
        Assert.Equal((RecommendationKind.ScaleDown, "gpu", 4, -3), (down.Kind, down.Pool, down.AgentsNow, down.Change));
        // 4,320,000 busy ms over 44,400,000 ms: 0.097 agents busy on average → ⌈0.097 / 0.6⌉ = 1 agent; 3 × $3.60 × 730.
        Assert.Equal(7884.00m, down.MonthlySaving);
        Assert.Equal((4_320_000L, 168_480_000L, 0.025m, 172.80m, 3.60m), (down.Evidence.BusyMs, down.Evidence.IdleMs, down.Evidence.Utilization,
            down.Evidence.Cost, down.Evidence.HourlyRate));
        Assert.Equal((From, Settled), (down.Evidence.From, down.Evidence.To));
    }

    [Fact]
    public void One_hour_at_the_threshold_keeps_the_pool()
    {
        // Hour 5: 1.2 of 4 agent-hours busy = 0.3, not under 0.3.
        var pool = Pool("gpu", busyAt: h => h == 5 ? 4_320_000 : 360_000);

        Assert.Empty(RecommendationEngine.Evaluate(Inputs([pool]), Options));
        Assert.Single(RecommendationEngine.Evaluate(Inputs([pool]), new RecommendationOptions { UtilizationThreshold = 0.31m, TargetUtilization = 0.6m }));
    }

    [Fact]
    public void A_busier_pool_keeps_enough_agents_for_the_target_and_never_fewer_than_the_minimum()
    {
        // 2 of 10 agent-hours busy every hour (0.2): 2 busy on average (over 12 h of 12 h 20 min: 1.946) → ⌈1.946 / 0.6⌉ = 4.
        var pool = Pool("gpu", agents: 10, busyMsPerHour: 7_200_000);
        Assert.Equal(4 - 10, Assert.Single(RecommendationEngine.Evaluate(Inputs([pool]), Options)).Change);

        Assert.Equal(5 - 10, Assert.Single(RecommendationEngine.Evaluate(Inputs([pool]), new RecommendationOptions { MinPoolAgents = 5 })).Change);
        Assert.Empty(RecommendationEngine.Evaluate(Inputs([Pool("gpu", agents: 1)]), Options));
    }

    [Fact]
    public void Recent_queue_pressure_proposes_a_scale_up_and_holds_any_scale_down()
    {
        var signal = new ScaleRecommendation(Now.AddMinutes(-2), "gpu", "llm", 120, 2, 5, "120 pending");

        var drafts = RecommendationEngine.Evaluate(Inputs([Pool("gpu")], pressure: [signal]), Options);

        var up = Assert.Single(drafts);
        // The supervisor saw 2 available and suggested 5 more: 7; the pool has 4 now, so 3 more. Their cost is the negative saving.
        Assert.Equal((RecommendationKind.ScaleUp, "llm", 3, -7884.00m, 120), (up.Kind, up.Capability, up.Change, up.MonthlySaving, up.Evidence.Pending));
    }

    [Fact]
    public void Pressure_older_than_the_signal_age_or_already_covered_proposes_nothing()
    {
        var old = new ScaleRecommendation(Now - Options.ScaleUpSignalAge - TimeSpan.FromSeconds(1), "gpu", "llm", 120, 2, 5, "old");
        var covered = new ScaleRecommendation(Now, "gpu", "llm", 120, 2, 2, "covered");

        Assert.Equal([RecommendationKind.ScaleDown], RecommendationEngine.Evaluate(Inputs([Pool("gpu")], pressure: [old]), Options).Select(d => d.Kind));
        Assert.Empty(RecommendationEngine.Evaluate(Inputs([Pool("gpu")], pressure: [covered]), Options));
    }

    [Fact]
    public void Work_moves_to_the_cheapest_pool_with_the_same_capability_and_compliance_attributes()
    {
        var busy = Pool("gpu", busyMsPerHour: 3_600_000 * 2); // 0.5 utilization: no scale-down
        PoolFacts[] pools =
        [
            busy,
            Pool("spot", rate: 1.80m),
            Pool("cheaper-elsewhere", rate: 0.90m, region: "us"),
            Pool("cheaper-uncertified", rate: 0.90m, certifications: []),
            Pool("barely-cheaper", rate: 3.50m),
        ];

        var move = RecommendationEngine.Evaluate(Inputs(pools), Options).Single(d => d.Kind == RecommendationKind.MoveToCheaperPool && d.Pool == "gpu");

        Assert.Equal(("llm", "spot", 0), (move.Capability, move.TargetPool, move.Change));
        // 86,400,000 busy ms of 44,400,000 ms: 1.946 agents busy → 1,420.54 agent-hours a month × ($3.60 − $1.80) = $2,556.97.
        Assert.Equal(2556.97m, move.MonthlySaving);
    }

    [Fact]
    public void An_agent_connected_the_whole_retirement_window_without_a_job_is_proposed_for_retirement()
    {
        AgentFacts[] agents =
        [
            new("idle-1", "gpu", RetireFrom, 0, 259_200_000, 21.60m),
            new("late-1", "gpu", RetireFrom.AddHours(1), 0, 255_600_000, 21.30m),
            new("worked", "gpu", RetireFrom, 1_000, 259_199_000, 21.60m),
        ];

        var retire = RecommendationEngine.Evaluate(Inputs([Pool("gpu", busyMsPerHour: 3_600_000)], agents), Options)
            .Where(d => d.Kind == RecommendationKind.RetireAgent).ToList();

        var only = Assert.Single(retire);
        // 72 idle hours cost $21.60: $0.30 an hour, $219 a month.
        Assert.Equal(("idle-1", -1, 219.00m, 0.30m), (only.AgentIds.Single(), only.Change, only.MonthlySaving, only.Evidence.HourlyRate));
    }
}
