using MeshOs.Abstractions.Routing;
using MeshOs.Gateway.Routing;

namespace MeshOs.Tests.Unit.Routing;

public sealed class AdaptivePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 8, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_fast_reliable_agent_beats_a_slow_one()
    {
        var policy = Policy(seed: 1, exploration: 0);
        RoutingCandidate[] candidates = [Candidate("slow", successes: 500, failures: 0, latencyMs: 200), Candidate("fast", successes: 500, failures: 0, latencyMs: 40)];

        var picks = Count(policy, candidates, 1_000);

        Assert.Equal(1_000, picks["fast"]);
    }

    [Fact]
    public void A_flaky_agent_loses_to_an_equally_fast_reliable_one_and_the_reason_is_the_best_score()
    {
        var policy = Policy(seed: 2, exploration: 0);
        RoutingCandidate[] candidates = [Candidate("flaky", successes: 400, failures: 100, latencyMs: 40), Candidate("steady", successes: 500, failures: 0, latencyMs: 40)];
        Span<double> scores = stackalloc double[2];

        var choice = policy.Choose(candidates, scores);

        Assert.Equal((1, RoutingReasons.BestScore, true), (choice.Index, choice.Reason, choice.Scored));
        Assert.True(scores[0] > scores[1] * 1.2, $"flaky {scores[0]} vs steady {scores[1]}");
    }

    [Fact]
    public void The_exploration_share_goes_to_random_candidates_so_a_poisoned_agent_still_gets_work()
    {
        var policy = Policy(seed: 3, exploration: 0.1);
        RoutingCandidate[] candidates =
        [
            Candidate("poisoned", successes: 0, failures: 1_000, latencyMs: 5_000),
            Candidate("b", successes: 500, failures: 0, latencyMs: 40),
            Candidate("c", successes: 500, failures: 0, latencyMs: 40),
            Candidate("d", successes: 500, failures: 0, latencyMs: 40),
        ];

        var picks = Count(policy, candidates, 20_000);

        // 10 % explore, a quarter of that lands on each candidate: about 500 of 20,000.
        Assert.InRange(picks["poisoned"], 400, 600);
    }

    [Fact]
    public void A_new_agent_is_taken_at_the_mean_latency_and_gets_a_share_while_it_is_uncertain()
    {
        var policy = Policy(seed: 4, exploration: 0);
        RoutingCandidate[] candidates = [Candidate("known", successes: 50, failures: 0, latencyMs: 100), new("new", "1.0", 0, 4, 0, null)];

        var picks = Count(policy, candidates, 2_000);

        // Beta(1, 1) draws high now and then: the newcomer wins some, not all.
        Assert.InRange(picks["new"], 10, 1_990);
    }

    [Fact]
    public void Preferring_cheap_picks_the_cheaper_of_two_equally_good_agents()
    {
        var cheap = new AdaptivePolicy(RoutingWeights.For(RoutingPreference.Cheap), 16, 0, TimeSpan.FromSeconds(1), new Random(5));
        RoutingCandidate[] candidates =
        [
            Candidate("pricey", successes: 500, failures: 0, latencyMs: 100, costPerHour: 10),
            Candidate("thrifty", successes: 500, failures: 0, latencyMs: 150, costPerHour: 1),
        ];

        Assert.Equal(1_000, Count(cheap, candidates, 1_000)["thrifty"]);
        var fast = new AdaptivePolicy(new RoutingWeights(2, 0, 1), 16, 0, TimeSpan.FromSeconds(1), new Random(5));
        Assert.Equal(1_000, Count(fast, candidates, 1_000)["pricey"]);
    }

    [Fact]
    public void One_candidate_is_chosen_without_scoring()
    {
        var choice = Policy(seed: 6, exploration: 0.5).Choose([Candidate("only", 1, 0, 10)], new double[1]);

        Assert.Equal((0, RoutingReasons.OnlyCandidate, false), (choice.Index, choice.Reason, choice.Scored));
    }

    [Fact]
    public void The_same_seed_makes_the_same_choices()
    {
        RoutingCandidate[] candidates = [Candidate("a", 10, 2, 50), Candidate("b", 10, 2, 50), Candidate("c", 10, 2, 50)];
        var first = Sequence(Policy(seed: 7, exploration: 0.05), candidates);
        var second = Sequence(Policy(seed: 7, exploration: 0.05), candidates);

        Assert.Equal(first, second);
        Assert.Equal(3, first.Distinct().Count()); // equal agents share the work
    }

    [Fact]
    public void Round_robin_takes_the_first_candidate_in_rotation()
    {
        var choice = new RoundRobinPolicy().Choose([Candidate("a", 0, 100, 9_000), Candidate("b", 100, 0, 1)], new double[2]);

        Assert.Equal((0, RoutingReasons.RoundRobin, false), (choice.Index, choice.Reason, choice.Scored));
    }

    [Fact]
    public void The_explanation_keeps_the_chosen_candidate_first_then_the_best_others()
    {
        RoutingCandidate[] candidates =
        [
            Candidate("a", 10, 0, 10), Candidate("b", 10, 0, 20), Candidate("c", 10, 0, 30), Candidate("d", 10, 0, 40), Candidate("e", 10, 0, 50),
        ];
        double[] scores = [0.5, 0.9, 0.2, 0.7, 0.1];

        var decision = RoutingExplanation.Of("adaptive", candidates, scores, new RoutingChoice(1, RoutingReasons.Exploration, true));

        Assert.Equal(("adaptive", RoutingReasons.Exploration, 5), (decision.Policy, decision.Reason, decision.CandidatesCompared));
        Assert.Equal(["b", "e", "c", "a"], decision.Candidates.Select(c => c.AgentId));
        Assert.Equal([0.9, 0.1, 0.2, 0.5], decision.Candidates.Select(c => c.Score!.Value));
        Assert.Equal(20.0, decision.Candidates[0].LatencyMs);
        Assert.Equal(11.0 / 12.0, decision.Candidates[0].SuccessRate!.Value, 4);
    }

    private static AdaptivePolicy Policy(int seed, double exploration) =>
        new(RoutingWeights.For(RoutingPreference.Balanced), 16, exploration, TimeSpan.FromSeconds(1), new Random(seed));

    private static List<string> Sequence(AdaptivePolicy policy, RoutingCandidate[] candidates) =>
        [.. Enumerable.Range(0, 60).Select(_ => candidates[policy.Choose(candidates, new double[candidates.Length]).Index].AgentId)];

    private static Dictionary<string, int> Count(AdaptivePolicy policy, RoutingCandidate[] candidates, int times)
    {
        var counts = candidates.ToDictionary(c => c.AgentId, _ => 0);
        var scores = new double[candidates.Length];
        for (var i = 0; i < times; i++)
        {
            counts[candidates[policy.Choose(candidates, scores).Index].AgentId]++;
        }

        return counts;
    }

    internal static RoutingCandidate Candidate(string id, double successes, double failures, double latencyMs, double costPerHour = 0) =>
        new(id, "1.0", 0, 4, costPerHour, new RouteStats(id, "llm", "1.0", successes, failures, latencyMs, 0, 0, (long)(successes + failures), T0, 1));
}
