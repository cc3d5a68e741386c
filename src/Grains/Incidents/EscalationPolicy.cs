using MeshOs.Abstractions.Incidents;

namespace MeshOs.Grains.Incidents;

/// <summary>Where an incident stands for escalation: pure input to <see cref="EscalationPolicy"/>.</summary>
/// <param name="Tier">1-based tier last notified (0: none yet).</param>
/// <param name="TierSince">When that tier was notified.</param>
/// <param name="LastNotifiedAt">Last notification of any kind.</param>
public readonly record struct EscalationState(
    IncidentSeverity Severity,
    bool Acknowledged,
    bool Open,
    int Tier,
    DateTimeOffset TierSince,
    DateTimeOffset LastNotifiedAt);

/// <summary>What to do now: notify a tier (new, escalated or reminder), and when to look again.</summary>
public readonly record struct EscalationDecision(int? NotifyTier, string? Kind, DateTimeOffset? NextCheckAt);

/// <summary>
/// Escalation as a pure function of the incident's state, the clock and the options: unacknowledged incidents climb a
/// tier each time the current tier's response time passes; at the top tier, and once acknowledged, they are notified
/// again every renotify interval until resolved.
/// </summary>
public static class EscalationPolicy
{
    public const string Opened = "opened";
    public const string Escalated = "escalated";
    public const string Reminder = "reminder";

    public static EscalationDecision Evaluate(EscalationState s, DateTimeOffset now, IncidentOptions options)
    {
        if (!s.Open)
        {
            return new EscalationDecision(null, null, null);
        }

        var tiers = options.EffectiveTiers;
        var policy = options.PolicyFor(s.Severity);
        if (s.Tier == 0)
        {
            return new EscalationDecision(Math.Clamp(policy.StartTier, 1, tiers.Count), Opened, null);
        }

        var tier = tiers[Math.Clamp(s.Tier, 1, tiers.Count) - 1];
        DateTimeOffset? next = null;
        if (!s.Acknowledged && policy.Escalate && s.Tier < tiers.Count)
        {
            var climbAt = s.TierSince + tier.ResponseTime;
            if (now >= climbAt)
            {
                return new EscalationDecision(s.Tier + 1, Escalated, null);
            }

            next = climbAt;
        }

        var renotifyEvery = !s.Acknowledged && policy.Escalate && s.Tier >= tiers.Count ? Min(policy.RenotifyInterval, tier.ResponseTime) : policy.RenotifyInterval;
        if (renotifyEvery > TimeSpan.Zero && (s.Acknowledged || !policy.Escalate || s.Tier >= tiers.Count))
        {
            var remindAt = s.LastNotifiedAt + renotifyEvery;
            if (now >= remindAt)
            {
                return new EscalationDecision(s.Tier, Reminder, null);
            }

            next = next is { } n && n < remindAt ? n : remindAt;
        }

        return new EscalationDecision(null, null, next);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a <= TimeSpan.Zero ? b : (a < b ? a : b);
}
