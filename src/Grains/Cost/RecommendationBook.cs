using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The lifecycle of recommendations (pure): an evaluation's proposals against the ones kept. One open recommendation
/// per subject: the same action again keeps it as it is (nothing to write); a different action supersedes it with a new
/// one; a subject no longer proposed is superseded ("no longer holds"). A proposal dismissed within
/// <see cref="RecommendationOptions.DismissedFor"/> is not made again. Closed ones are kept up to
/// <see cref="RecommendationOptions.HistoryLimit"/>, newest first.
/// </summary>
public static class RecommendationBook
{
    public const int MaxReasonLength = 500;

    /// <summary>The recommendations after an evaluation, the next id number, and whether anything changed.</summary>
    public static (ImmutableList<Recommendation> Recommendations, long NextId, bool Changed) Merge(
        ImmutableList<Recommendation> kept, IReadOnlyList<RecommendationDraft> drafts, long nextId, string currency, DateTimeOffset now, RecommendationOptions options)
    {
        var result = kept.ToBuilder();
        var changed = false;
        var proposed = drafts.GroupBy(d => d.Subject, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var keptCount = result.Count; // the ones added below are new: not to be judged again
        for (var i = 0; i < keptCount; i++)
        {
            var open = result[i];
            if (open.Status != RecommendationStatus.Open)
            {
                continue;
            }

            var subject = SubjectOf(open);
            if (proposed.TryGetValue(subject, out var draft) && draft.SameAction(open))
            {
                proposed.Remove(subject);
                continue;
            }

            var reason = draft is null ? "no longer holds" : $"replaced by rec-{nextId.ToString(CultureInfo.InvariantCulture)}";
            if (draft is not null)
            {
                result.Add(Open(draft, nextId++, currency, now));
                proposed.Remove(subject);
            }

            result[i] = open with { Status = RecommendationStatus.Superseded, Reason = reason, UpdatedAt = now };
            changed = true;
        }

        foreach (var draft in drafts.Where(d => proposed.ContainsKey(d.Subject)).DistinctBy(d => d.Subject))
        {
            var declined = result.Any(r => r.Status == RecommendationStatus.Dismissed && now - r.UpdatedAt < options.DismissedFor
                && SubjectOf(r) == draft.Subject && draft.SameAction(r));
            if (!declined)
            {
                result.Add(Open(draft, nextId++, currency, now));
                changed = true;
            }
        }

        var trimmed = Trim(result.ToImmutable(), options.HistoryLimit);
        return (trimmed, nextId, changed || trimmed.Count != result.Count);
    }

    /// <summary>An open recommendation, else NotFound (unknown id) or Conflict (not open).</summary>
    public static Recommendation RequireOpen(ImmutableList<Recommendation> kept, string id)
    {
        var found = kept.Find(r => r.Id == id) ?? throw MeshException.NotFound($"Recommendation '{id}'");
        return found.Status == RecommendationStatus.Open ? found
            : throw MeshException.Conflict($"Recommendation '{id}' is {found.Status.ToString().ToLowerInvariant()}: only an open one can be applied or dismissed.");
    }

    /// <summary>A dismissal's reason: 1–500 characters, not blank.</summary>
    public static string ValidReason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength
            ? throw MeshException.Invalid("reason", $"required: why it is dismissed, 1–{MaxReasonLength} characters.")
            : reason.Trim();

    /// <summary>Replaces the recommendation with the same id.</summary>
    public static ImmutableList<Recommendation> Replace(ImmutableList<Recommendation> kept, Recommendation updated) =>
        kept.SetItem(kept.FindIndex(r => r.Id == updated.Id), updated);

    /// <summary>The subject of a kept recommendation (as its draft's).</summary>
    public static string SubjectOf(Recommendation r) => r.Kind switch
    {
        RecommendationKind.ScaleDown => $"scale:{r.Pool}",
        RecommendationKind.ScaleUp => $"scale-up:{r.Pool}:{r.Capability}",
        RecommendationKind.MoveToCheaperPool => $"move:{r.Pool}:{r.Capability}",
        _ => $"retire:{(r.AgentIds.IsDefaultOrEmpty ? string.Empty : r.AgentIds[0])}",
    };

    private static Recommendation Open(RecommendationDraft d, long number, string currency, DateTimeOffset now) =>
        new("rec-" + number.ToString(CultureInfo.InvariantCulture), d.Kind, d.Pool, d.Capability, d.AgentsNow, d.Change, d.AgentIds, d.TargetPool,
            d.MonthlySaving, currency, d.Evidence, RecommendationStatus.Open, now, now);

    private static ImmutableList<Recommendation> Trim(ImmutableList<Recommendation> all, int historyLimit)
    {
        var closed = all.Where(r => r.Status != RecommendationStatus.Open).ToList();
        if (closed.Count <= historyLimit)
        {
            return all;
        }

        var dropped = closed.OrderByDescending(r => r.UpdatedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal).Skip(historyLimit)
            .Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return all.RemoveAll(r => dropped.Contains(r.Id));
    }
}

/// <summary>
/// What an autoscale policy allows (pure): how many agents a scale recommendation may add or remove now, within the
/// policy's [min, max] and not sooner than its cooldown after the pool's last action; or why nothing.
/// </summary>
public static class AutoscaleRules
{
    /// <summary>
    /// The change to carry out for a recommendation (+n start, −n stop), or 0 with the reason it cannot be done now.
    /// A move changes no agents (0, no reason). <paramref name="automatic"/>: the policy must be enabled and its
    /// cooldown passed; an operator's apply keeps only the bounds of an enabled policy.
    /// </summary>
    public static (int Change, string? Skipped) Decide(Recommendation recommendation, AutoscalePolicy? policy, int agentsNow, DateTimeOffset now, bool automatic)
    {
        var bounded = policy is { Enabled: true };
        if (automatic)
        {
            if (!bounded || recommendation.Kind is not (RecommendationKind.ScaleDown or RecommendationKind.ScaleUp))
            {
                return (0, "not covered by an enabled autoscale policy");
            }

            if (policy!.LastActionAt is { } last && now < last + policy.Cooldown)
            {
                return (0, $"cooldown until {last + policy.Cooldown:O}");
            }
        }

        var change = recommendation.Change;
        if (change == 0 || !bounded)
        {
            return (change, null);
        }

        if (change < 0)
        {
            var removable = Math.Max(0, agentsNow - policy!.MinAgents);
            var remove = Math.Min(-change, removable);
            return remove == 0 ? (0, $"the pool is at its minimum ({policy.MinAgents} agent(s))") : (-remove, null);
        }

        var addable = Math.Max(0, policy!.MaxAgents - agentsNow);
        var add = Math.Min(change, addable);
        return add == 0 ? (0, $"the pool is at its maximum ({policy.MaxAgents} agent(s))") : (add, null);
    }
}
