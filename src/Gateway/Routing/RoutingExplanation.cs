using System.Collections.Immutable;
using MeshOs.Abstractions.Routing;

namespace MeshOs.Gateway.Routing;

/// <summary>Turns a policy's choice into the decision kept with the job: the chosen candidate, then the best of the others.</summary>
public static class RoutingExplanation
{
    /// <summary>Candidates kept with a decision (the chosen one and the next best), so a job's record stays small.</summary>
    public const int KeptCandidates = 4;

    /// <param name="scores">Each candidate's score, or empty when the policy does not score.</param>
    public static RoutingDecision Of(string policy, ReadOnlySpan<RoutingCandidate> candidates, ReadOnlySpan<double> scores, RoutingChoice choice)
    {
        var kept = ImmutableArray.CreateBuilder<RoutingCandidateScore>(Math.Min(KeptCandidates, candidates.Length));
        kept.Add(Describe(candidates[choice.Index], scores.IsEmpty ? null : scores[choice.Index]));
        if (!scores.IsEmpty)
        {
            // The next best by score, lowest first (the window is small: a selection pass per place is enough).
            Span<bool> taken = stackalloc bool[candidates.Length];
            taken[choice.Index] = true;
            while (kept.Count < KeptCandidates && kept.Count < candidates.Length)
            {
                var best = -1;
                for (var i = 0; i < candidates.Length; i++)
                {
                    if (!taken[i] && (best < 0 || scores[i] < scores[best]))
                    {
                        best = i;
                    }
                }

                taken[best] = true;
                kept.Add(Describe(candidates[best], scores[best]));
            }
        }

        return new RoutingDecision(policy, choice.Reason, candidates.Length, kept.ToImmutable());
    }

    private static RoutingCandidateScore Describe(RoutingCandidate c, double? score)
    {
        var stats = c.Stats;
        var learned = stats is { Attempts: > 0 };
        var latency = stats is { Successes: > 0 } ? Math.Round(stats.LatencyMs, 1) : (double?)null;
        double? cost = stats is null && c.CostPerHour == 0 ? null
            : (stats?.CostPerJob ?? 0) + c.CostPerHour * (stats?.LatencyMs ?? 0) / 3_600_000.0;
        return new RoutingCandidateScore(c.AgentId, c.Version, score is { } s ? Math.Round(s, 4) : null,
            learned ? Math.Round((c.Successes + 1) / (c.Successes + c.Failures + 2), 4) : null, latency, cost is { } v ? Math.Round(v, 6) : null,
            stats?.Attempts ?? 0, c.InFlight, c.Limit);
    }
}
