using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Incidents;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Incidents;

public sealed class EscalationPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly IncidentOptions _options = new();

    private DateTimeOffset Now => _clock.GetUtcNow();

    private static EscalationState Open(IncidentSeverity severity, int tier = 0, DateTimeOffset? tierSince = null, DateTimeOffset? lastNotified = null,
        bool acknowledged = false) =>
        new(severity, acknowledged, Open: true, tier, tierSince ?? T0, lastNotified ?? tierSince ?? T0);

    /// <summary>Applies a decision as the incident grain does: a new tier restarts its clock; any notification is the last one.</summary>
    private static EscalationState Apply(EscalationState s, EscalationDecision d, DateTimeOffset now) =>
        d.NotifyTier is { } tier
            ? s with { Tier = tier, TierSince = tier != s.Tier ? now : s.TierSince, LastNotifiedAt = now }
            : s;

    /// <summary>
    /// Runs an incident on the fake clock, second by second, as its timer would (plus a check at every NextCheckAt),
    /// and returns every notification with its time since <see cref="T0"/>.
    /// </summary>
    private List<(TimeSpan At, int Tier, string Kind)> Run(EscalationState state, TimeSpan duration, Func<TimeSpan, EscalationState, EscalationState>? change = null)
    {
        var sent = new List<(TimeSpan, int, string)>();
        while (Now - T0 <= duration)
        {
            state = change?.Invoke(Now - T0, state) ?? state;
            var decision = EscalationPolicy.Evaluate(state, Now, _options);
            if (decision.NotifyTier is { } tier)
            {
                sent.Add((Now - T0, tier, decision.Kind!));
                state = Apply(state, decision, Now);
                continue; // look again at the same instant, as the grain reschedules at once
            }

            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        return sent;
    }

    [Fact]
    public void The_default_tiers_are_the_runbooks()
    {
        Assert.Equal(["Tier 1 on-call", "Tier 2 engineering lead", "Tier 3 leadership"], _options.EffectiveTiers.Select(t => t.Name));
        Assert.Equal([TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1)], _options.EffectiveTiers.Select(t => t.ResponseTime));
    }

    [Theory]
    [InlineData(IncidentSeverity.P0, true, 15)]
    [InlineData(IncidentSeverity.P1, true, 30)]
    [InlineData(IncidentSeverity.P2, true, 120)]
    [InlineData(IncidentSeverity.P3, false, 0)]
    public void The_default_policies_escalate_P0_to_P2_and_renotify_by_severity(IncidentSeverity severity, bool escalate, int renotifyMinutes)
    {
        var policy = _options.PolicyFor(severity);
        Assert.Equal(escalate, policy.Escalate);
        Assert.Equal(1, policy.StartTier);
        Assert.Equal(TimeSpan.FromMinutes(renotifyMinutes), policy.RenotifyInterval);
    }

    [Theory]
    [InlineData(IncidentSeverity.P0)]
    [InlineData(IncidentSeverity.P1)]
    [InlineData(IncidentSeverity.P2)]
    [InlineData(IncidentSeverity.P3)]
    public void A_new_incident_notifies_its_start_tier_at_once(IncidentSeverity severity) =>
        Assert.Equal(new EscalationDecision(1, EscalationPolicy.Opened, null), EscalationPolicy.Evaluate(Open(severity), T0, _options));

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(9, 3)]
    [InlineData(0, 1)]
    public void The_start_tier_follows_the_policy_within_the_tiers(int startTier, int expected)
    {
        _options.Policies[IncidentSeverity.P0] = new SeverityPolicy { StartTier = startTier };
        Assert.Equal(expected, EscalationPolicy.Evaluate(Open(IncidentSeverity.P0), T0, _options).NotifyTier);
    }

    [Theory]
    [InlineData(IncidentSeverity.P0)]
    [InlineData(IncidentSeverity.P1)]
    [InlineData(IncidentSeverity.P2)]
    public void An_unacknowledged_incident_climbs_exactly_when_the_response_time_passes(IncidentSeverity severity)
    {
        var state = Open(severity, tier: 1, tierSince: T0);

        _clock.SetUtcNow(T0 + TimeSpan.FromMinutes(15) - Tick);
        var waiting = EscalationPolicy.Evaluate(state, Now, _options);
        Assert.Equal(new EscalationDecision(null, null, T0 + TimeSpan.FromMinutes(15)), waiting);

        _clock.SetUtcNow(T0 + TimeSpan.FromMinutes(15));
        Assert.Equal(new EscalationDecision(2, EscalationPolicy.Escalated, null), EscalationPolicy.Evaluate(state, Now, _options));
    }

    [Fact]
    public void Tier_2_climbs_after_its_own_response_time_from_when_it_was_notified()
    {
        var tier2Since = T0 + TimeSpan.FromMinutes(15);
        var state = Open(IncidentSeverity.P1, tier: 2, tierSince: tier2Since);

        Assert.Equal(tier2Since + TimeSpan.FromMinutes(30), EscalationPolicy.Evaluate(state, tier2Since + TimeSpan.FromMinutes(29), _options).NextCheckAt);
        Assert.Null(EscalationPolicy.Evaluate(state, tier2Since + TimeSpan.FromMinutes(30) - Tick, _options).NotifyTier);
        Assert.Equal(new EscalationDecision(3, EscalationPolicy.Escalated, null), EscalationPolicy.Evaluate(state, tier2Since + TimeSpan.FromMinutes(30), _options));
    }

    [Fact]
    public void An_unacknowledged_P1_walks_the_whole_ladder_and_is_reminded_at_the_top()
    {
        var sent = Run(Open(IncidentSeverity.P1), TimeSpan.FromHours(2));

        // Opened → tier 2 at 15 min → tier 3 at 45 min → reminders every 30 min (P1's interval, shorter than tier 3's hour).
        Assert.Equal(
        [
            (TimeSpan.Zero, 1, EscalationPolicy.Opened),
            (TimeSpan.FromMinutes(15), 2, EscalationPolicy.Escalated),
            (TimeSpan.FromMinutes(45), 3, EscalationPolicy.Escalated),
            (TimeSpan.FromMinutes(75), 3, EscalationPolicy.Reminder),
            (TimeSpan.FromMinutes(105), 3, EscalationPolicy.Reminder),
        ], sent);
    }

    [Fact]
    public void An_unacknowledged_P0_at_the_top_is_reminded_every_15_minutes()
    {
        var sent = Run(Open(IncidentSeverity.P0), TimeSpan.FromMinutes(80));

        Assert.Equal([0, 15, 45, 60, 75], sent.Select(s => (int)s.At.TotalMinutes));
        Assert.Equal([1, 2, 3, 3, 3], sent.Select(s => s.Tier));
    }

    [Fact]
    public void At_the_top_tier_without_a_renotify_interval_reminders_follow_the_tiers_response_time()
    {
        _options.Policies[IncidentSeverity.P1] = new SeverityPolicy { RenotifyInterval = TimeSpan.Zero };
        var topSince = T0;
        var state = Open(IncidentSeverity.P1, tier: 3, tierSince: topSince);

        Assert.Equal(new EscalationDecision(null, null, topSince + TimeSpan.FromHours(1)), EscalationPolicy.Evaluate(state, topSince + TimeSpan.FromMinutes(59), _options));
        Assert.Equal(new EscalationDecision(3, EscalationPolicy.Reminder, null), EscalationPolicy.Evaluate(state, topSince + TimeSpan.FromHours(1), _options));
    }

    [Fact]
    public void An_acknowledged_incident_never_climbs_and_is_reminded_at_the_renotify_interval()
    {
        var state = Open(IncidentSeverity.P1, tier: 1, tierSince: T0, lastNotified: T0, acknowledged: true);

        // Long past tier 1's 15 minutes: no escalation, only the 30-minute reminder.
        Assert.Equal(new EscalationDecision(null, null, T0 + TimeSpan.FromMinutes(30)), EscalationPolicy.Evaluate(state, T0 + TimeSpan.FromMinutes(20), _options));
        Assert.Null(EscalationPolicy.Evaluate(state, T0 + TimeSpan.FromMinutes(30) - Tick, _options).NotifyTier);
        Assert.Equal(new EscalationDecision(1, EscalationPolicy.Reminder, null), EscalationPolicy.Evaluate(state, T0 + TimeSpan.FromMinutes(30), _options));
    }

    [Fact]
    public void Acknowledging_stops_the_climb_where_it_is_and_turns_it_into_reminders()
    {
        var sent = Run(Open(IncidentSeverity.P1), TimeSpan.FromMinutes(100),
            (elapsed, s) => elapsed == TimeSpan.FromMinutes(20) ? s with { Acknowledged = true } : s);

        // Tier 2 was reached at 15 min; acknowledged at 20 min; reminded 30 min after the last notification, again and again.
        Assert.Equal(
        [
            (TimeSpan.Zero, 1, EscalationPolicy.Opened),
            (TimeSpan.FromMinutes(15), 2, EscalationPolicy.Escalated),
            (TimeSpan.FromMinutes(45), 2, EscalationPolicy.Reminder),
            (TimeSpan.FromMinutes(75), 2, EscalationPolicy.Reminder),
        ], sent);
    }

    [Fact]
    public void An_acknowledged_P3_is_never_reminded()
    {
        var state = Open(IncidentSeverity.P3, tier: 1, acknowledged: true);
        Assert.Equal(new EscalationDecision(null, null, null), EscalationPolicy.Evaluate(state, T0 + TimeSpan.FromDays(3), _options));
    }

    [Fact]
    public void A_P3_is_notified_when_it_opens_and_never_escalates()
    {
        var sent = Run(Open(IncidentSeverity.P3), TimeSpan.FromHours(3));

        Assert.Equal([(TimeSpan.Zero, 1, EscalationPolicy.Opened)], sent);
        Assert.Equal(new EscalationDecision(null, null, null), EscalationPolicy.Evaluate(Open(IncidentSeverity.P3, tier: 1), T0 + TimeSpan.FromHours(3), _options));
    }

    [Fact]
    public void A_policy_can_stop_escalation_for_a_severity()
    {
        _options.Policies[IncidentSeverity.P2] = new SeverityPolicy { Escalate = false, RenotifyInterval = TimeSpan.FromMinutes(10) };

        var sent = Run(Open(IncidentSeverity.P2), TimeSpan.FromMinutes(35));

        Assert.Equal([(0, 1), (10, 1), (20, 1), (30, 1)], sent.Select(s => ((int)s.At.TotalMinutes, s.Tier)));
        Assert.Equal([EscalationPolicy.Opened, EscalationPolicy.Reminder, EscalationPolicy.Reminder, EscalationPolicy.Reminder], sent.Select(s => s.Kind));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public void A_closed_incident_gets_nothing(int tier, bool acknowledged)
    {
        var closed = new EscalationState(IncidentSeverity.P0, acknowledged, Open: false, tier, T0, T0);
        Assert.Equal(new EscalationDecision(null, null, null), EscalationPolicy.Evaluate(closed, T0 + TimeSpan.FromDays(1), _options));
    }

    [Fact]
    public void Configured_tiers_replace_the_runbooks_and_their_response_times_drive_the_climb()
    {
        _options.Tiers.Add(new EscalationTier { Name = "on-call", ResponseTime = TimeSpan.FromSeconds(3) });
        _options.Tiers.Add(new EscalationTier { Name = "lead", ResponseTime = TimeSpan.FromSeconds(60) });
        _options.Policies[IncidentSeverity.P1] = new SeverityPolicy { RenotifyInterval = TimeSpan.FromSeconds(20) };

        var sent = Run(Open(IncidentSeverity.P1), TimeSpan.FromSeconds(70));

        // Two tiers: the second is the top, reminded every min(20 s, 60 s).
        Assert.Equal([(0, 1), (3, 2), (23, 2), (43, 2), (63, 2)], sent.Select(s => ((int)s.At.TotalSeconds, s.Tier)));
        Assert.Equal(["on-call", "lead"], _options.EffectiveTiers.Select(t => t.Name));
    }
}
