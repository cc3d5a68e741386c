using MeshOs.Abstractions.Routing;

namespace MeshOs.Gateway.Routing;

/// <summary>
/// Chooses which agent gets a job (README "Adaptive routing"). Consulted in one place, when the dispatcher leases a job
/// it took from a queue (<see cref="Dispatch.QueuePoller"/>): which job comes next is the queues' business (priorities,
/// tenant fairness); the policy only picks among agents that have a free slot and that every placement rule allows.
/// Pure: no I/O, no clock; randomness comes from the <see cref="Random"/> it was made with.
/// </summary>
public interface IRoutingPolicy
{
    /// <summary>The name shown in explanations and configured by operators.</summary>
    string Name { get; }

    /// <summary>How many candidates it wants to compare (the dispatcher gathers up to this many, in rotation).</summary>
    int Window { get; }

    /// <summary>Whether it reads learned statistics (the dispatcher keeps them fresh only then).</summary>
    bool UsesStatistics { get; }

    /// <summary>Picks one of <paramref name="candidates"/> (never empty); <paramref name="scores"/> (same length) receives each candidate's score when the policy scores.</summary>
    RoutingChoice Choose(ReadOnlySpan<RoutingCandidate> candidates, Span<double> scores);
}

/// <summary>An agent that could take the job, with what the mesh learned about it.</summary>
/// <param name="InFlight">Jobs it holds or is being handed.</param>
/// <param name="Limit">Its concurrency limit now.</param>
/// <param name="CostPerHour">What its registration says it costs per hour (0: unknown).</param>
/// <param name="Stats">What was learned about it for this capability; null: nothing yet.</param>
/// <param name="Fade">What the learned counts weigh now (0–1): they fade with the time since the agent's last attempt.</param>
public readonly record struct RoutingCandidate(string AgentId, string? Version, int InFlight, int Limit, double CostPerHour, RouteStats? Stats, double Fade = 1.0)
{
    /// <summary>Successes as they weigh now.</summary>
    public double Successes => (Stats?.Successes ?? 0) * Fade;

    /// <summary>Failures as they weigh now.</summary>
    public double Failures => (Stats?.Failures ?? 0) * Fade;
}

/// <summary>The candidate chosen and why (<see cref="RoutingDecision.Reason"/>); <see cref="Scored"/> when scores were written.</summary>
public readonly record struct RoutingChoice(int Index, string Reason, bool Scored);

/// <summary>Reasons a policy gives.</summary>
public static class RoutingReasons
{
    public const string BestScore = "best-score";
    public const string Exploration = "exploration";
    public const string OnlyCandidate = "only-candidate";
    public const string RoundRobin = "round-robin";
}

/// <summary>The first candidate in rotation: every agent with a free slot in turn, whatever it did before. The baseline.</summary>
public sealed class RoundRobinPolicy : IRoutingPolicy
{
    public const string PolicyName = "round-robin";

    public string Name => PolicyName;

    public int Window => 1;

    public bool UsesStatistics => false;

    public RoutingChoice Choose(ReadOnlySpan<RoutingCandidate> candidates, Span<double> scores) => new(0, RoutingReasons.RoundRobin, false);
}

/// <summary>How much an adaptive policy cares for speed, cost and reliability (exponents of its score's factors; 0 ignores one).</summary>
public readonly record struct RoutingWeights(double Fast, double Cheap, double Reliable)
{
    public static RoutingWeights For(RoutingPreference preference) => preference switch
    {
        RoutingPreference.Fast => new(2, 0.25, 1),
        RoutingPreference.Cheap => new(0.5, 2, 1),
        RoutingPreference.Reliable => new(1, 0.25, 4),
        _ => new(1, 1, 1),
    };
}

/// <summary>What an operator asks a pool's adaptive routing to favour.</summary>
public enum RoutingPreference
{
    Balanced,
    Fast,
    Cheap,
    Reliable,
}

/// <summary>
/// Learns from outcomes: each candidate gets a score, lower is better, and the lowest wins.
/// <list type="bullet">
/// <item>Reliability is a Thompson sample p from Beta(1 + successes, 1 + failures): an agent with few attempts is
/// uncertain and sometimes draws high (exploration comes for free); a reliable one draws near its rate.</item>
/// <item>Expected time to a success = latency / p + (1 − p) / p × failure penalty (a failed attempt costs a retry).
/// An agent with no latency learned yet is taken at the candidates' mean.</item>
/// <item>Expected cost of a success = (reported cost per job + cost per hour × latency) / p.</item>
/// <item>score = (time / mean time)^fast × (cost / mean cost)^cheap × (1 / p)^reliable.</item>
/// </list>
/// A share of choices (<see cref="AdaptivePolicy.ExplorationShare"/>) goes to a uniformly random candidate, so no
/// statistic, however poisoned, starves an agent for ever: it keeps getting the odd job and can prove itself again.
/// </summary>
public sealed class AdaptivePolicy(RoutingWeights weights, int window, double explorationShare, TimeSpan failurePenalty, Random random) : IRoutingPolicy
{
    public const string PolicyName = "adaptive";

    public string Name => PolicyName;

    public int Window => window;

    public bool UsesStatistics => true;

    public double ExplorationShare => explorationShare;

    public RoutingChoice Choose(ReadOnlySpan<RoutingCandidate> candidates, Span<double> scores)
    {
        if (candidates.Length == 1)
        {
            return new(0, RoutingReasons.OnlyCandidate, false);
        }

        var explore = random.NextDouble() < explorationShare;
        var explored = explore ? random.Next(candidates.Length) : -1;

        var meanLatency = 0.0;
        var timed = 0;
        foreach (var c in candidates)
        {
            if (c.Stats is { Successes: > 0 } s)
            {
                meanLatency += s.LatencyMs;
                timed++;
            }
        }

        meanLatency = timed > 0 ? meanLatency / timed : 1.0;
        var penalty = failurePenalty.TotalMilliseconds;

        // First pass: each candidate's draw, expected time and cost (kept in scores and two small stack buffers).
        Span<double> times = candidates.Length <= 64 ? stackalloc double[candidates.Length] : new double[candidates.Length];
        Span<double> costs = candidates.Length <= 64 ? stackalloc double[candidates.Length] : new double[candidates.Length];
        double timeSum = 0, costSum = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var c = candidates[i];
            var p = Math.Max(1e-3, BetaSample(1 + c.Successes, 1 + c.Failures));
            var latency = c.Stats is { Successes: > 0 } s ? Math.Max(0.001, s.LatencyMs) : meanLatency;
            times[i] = latency / p + (1 - p) / p * penalty;
            costs[i] = ((c.Stats?.CostPerJob ?? 0) + c.CostPerHour * latency / 3_600_000.0) / p;
            scores[i] = p;
            timeSum += times[i];
            costSum += costs[i];
        }

        var meanTime = timeSum / candidates.Length;
        var meanCost = costSum / candidates.Length;
        var best = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var p = scores[i];
            var score = Math.Pow(times[i] / meanTime, weights.Fast) * Math.Pow(1 / p, weights.Reliable);
            if (meanCost > 0)
            {
                score *= Math.Pow(Math.Max(costs[i], 1e-12) / meanCost, weights.Cheap);
            }

            scores[i] = score;
            if (score < scores[best])
            {
                best = i;
            }
        }

        return explore ? new(explored, RoutingReasons.Exploration, true) : new(best, RoutingReasons.BestScore, true);
    }

    /// <summary>A draw from Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    private double BetaSample(double a, double b)
    {
        var x = GammaSample(a);
        var y = GammaSample(b);
        return x / (x + y);
    }

    /// <summary>Marsaglia and Tsang's method for shape ≥ 1 (every shape here is 1 + a count).</summary>
    private double GammaSample(double shape)
    {
        var d = shape - 1.0 / 3.0;
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = NextGaussian();
                v = 1.0 + c * x;
            }
            while (v <= 0);

            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    private double NextGaussian()
    {
        // Box–Muller; one of the pair is enough here.
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
