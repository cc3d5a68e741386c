using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Incidents;
using MeshOs.Testing;

namespace MeshOs.Tests.Cluster.Healing;

/// <summary>
/// Incidents opened by the healing supervisor and by hand: dedup, severity, automatic resolution, escalation,
/// webhooks. Escalations and reminders fall due in mesh time (the fixture's clock); webhooks arrive in real time, so
/// they are awaited once the incident's timeline shows them sent.
/// </summary>
[Collection(HealingClusterCollection.Name)]
public sealed class IncidentsClusterTests(HealingClusterFixture fixture)
{
    /// <summary>Mesh time any of these changes takes many times over.</summary>
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan Step = HealingClusterFixture.TickInterval;

    private IGrainFactory Grains => fixture.Grains;

    private ClusterClock Clock => fixture.Clock;

    private IIncidentDirectoryGrain Directory => fixture.Incidents;

    private IIncidentGrain Incident(string id) => Grains.GetGrain<IIncidentGrain>(id);

    [Fact]
    public async Task A_pools_availability_incident_follows_its_impact_up_and_down_and_resolves_itself_with_its_MTTR()
    {
        var pool = HealingClusterFixture.NewPool("impact");
        var key = $"pool-availability:{pool}";
        var agents = new List<TestAgent>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                agents.Add(await new TestAgent(fixture, pool, "heal").StartAsync());
            }

            // One of four down: P3.
            agents[0].StopHeartbeats();
            var incidentId = await Clock.UntilAsync(() => Directory.FindOpenAsync(key), id => id is not null, Within, "an incident for the pool");
            var opened = (await Incident(incidentId!).GetAsync())!;
            Assert.Equal(IncidentSeverity.P3, opened.Severity);
            Assert.Equal($"Pool '{pool}': 1 of 4 agent(s) unavailable", opened.Title);
            Assert.Equal("healing", opened.Source);
            Assert.Equal(IncidentState.Detected, opened.State);

            // Two of four (50 %): the same incident, P1. All four: P0.
            agents[1].StopHeartbeats();
            await WaitForSeverityAsync(incidentId!, IncidentSeverity.P1);
            agents[2].StopHeartbeats();
            agents[3].StopHeartbeats();
            var worst = await WaitForSeverityAsync(incidentId!, IncidentSeverity.P0);
            Assert.Equal($"Pool '{pool}': 4 of 4 agent(s) unavailable", worst.Title);
            Assert.Equal(incidentId, await Directory.FindOpenAsync(key));

            // Three back: P3 again. All back: resolved without a human.
            agents.Take(3).ToList().ForEach(a => a.StartHeartbeats());
            await WaitForSeverityAsync(incidentId!, IncidentSeverity.P3);
            agents[3].StartHeartbeats();
            var resolved = await Clock.UntilAsync(() => Incident(incidentId!).GetAsync(), i => !i!.IsOpen, Within, "the incident resolved");

            Assert.Equal(IncidentState.Resolved, resolved!.State);
            Assert.True(resolved.ResolvedAutomatically);
            Assert.Null(resolved.AcknowledgedAt);
            Assert.Equal(IncidentSeverity.P0, resolved.PeakSeverity);
            Assert.Equal(IncidentSeverity.P3, resolved.Severity);
            Assert.True(resolved.AlertCount >= 4, $"{resolved.AlertCount} alerts merged");
            await Poll.UntilAsync(() => Directory.FindOpenAsync(key), id => id is null, "no open incident for the key once the directory has the resolution");

            var timeline = resolved.Timeline;
            Assert.Equal("detected", timeline[0].Kind);
            Assert.StartsWith($"[P3] Pool '{pool}': 1 of 4 agent(s) unavailable", timeline[0].Message, StringComparison.Ordinal);
            var severities = timeline.Where(t => t.Kind == "severity").Select(t => t.Message).ToList();
            Assert.StartsWith("severity raised P3 → P1", severities[0], StringComparison.Ordinal);
            Assert.StartsWith("severity raised P1 → P0", severities[1], StringComparison.Ordinal);
            Assert.Contains(severities.Skip(2), m => m.StartsWith("severity lowered P0 → ", StringComparison.Ordinal));
            Assert.StartsWith("severity lowered", severities[^1], StringComparison.Ordinal);
            Assert.EndsWith("→ P3", severities[^1].Split(':')[0], StringComparison.Ordinal);
            Assert.Contains(timeline, t => t.Kind == "note" && t.Actor == "healing" && t.Message.StartsWith("DeclaredDead ", StringComparison.Ordinal));
            var last = timeline[^1];
            Assert.Equal(("resolved", "healing"), (last.Kind, last.Actor));
            Assert.Equal($"resolved automatically (automated remediation): all 4 agent(s) of pool '{pool}' available again", last.Message);

            // MTTR recorded on the incident and in the figures.
            var mttr = resolved.TimeToResolve!.Value;
            Assert.Equal(resolved.ResolvedAt!.Value - resolved.DetectedAt, mttr);
            Assert.True(mttr > TimeSpan.Zero);
            var report = await Poll.UntilAsync(() => Directory.GetReportAsync(resolved.DetectedAt, resolved.DetectedAt.AddTicks(1)),
                r => r.All.Resolved == 1, "the resolved incident in the figures");
            Assert.Equal(new IncidentFigures("all", 1, 1, 1, 1.0, null, mttr), report.All);
            Assert.Equal(new IncidentFigures("P0", 1, 1, 1, 1.0, null, mttr), report.BySeverity.Single(f => f.Scope == "P0"));
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Repeated_alerts_with_one_dedup_key_merge_into_one_incident_until_it_is_resolved()
    {
        var key = "test-dedup:" + Guid.NewGuid().ToString("N");
        var first = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P2, "Disk slow", "test", "p99 900 ms"));
        var again = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P2, "Disk slow", "test", "p99 950 ms"));
        var worse = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P1, "Disk very slow", "test", "p99 3 s"));
        var better = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P3, "Disk a bit slow", "test", "p99 400 ms"));

        Assert.Equal([first.IncidentId], new[] { again, worse, better }.Select(i => i.IncidentId).Distinct());
        Assert.Equal([1, 2, 3, 4], new[] { first, again, worse, better }.Select(i => i.AlertCount));
        Assert.Equal([IncidentSeverity.P2, IncidentSeverity.P2, IncidentSeverity.P1, IncidentSeverity.P3], new[] { first, again, worse, better }.Select(i => i.Severity));
        Assert.Equal(IncidentSeverity.P1, better.PeakSeverity);
        Assert.Equal("Disk a bit slow", better.Title);
        Assert.Equal(key, better.DedupKey);
        Assert.Equal(["detected", "notified", "alert", "severity", "escalated", "severity"], better.Timeline.Select(t => t.Kind));
        Assert.Equal("alert", better.Timeline[2].Kind);
        Assert.Equal("p99 950 ms", better.Timeline[2].Message);
        Assert.Equal("severity raised P2 → P1: p99 3 s", better.Timeline[3].Message);
        Assert.Equal("escalated: Tier 1 on-call notified (severity raised to P1)", better.Timeline[4].Message);
        Assert.Equal("severity lowered P1 → P3: p99 400 ms", better.Timeline[5].Message);

        var listed = await Poll.UntilAsync(() => Directory.ListAsync(new IncidentFilter(null, null, true, null, null, null, 500)),
            l => l.Any(i => i.DedupKey == key && i.Severity == IncidentSeverity.P3), "the merged incident listed");
        Assert.Single(listed, i => i.DedupKey == key);

        // The condition clears: resolved automatically; the next alert opens a new incident.
        var cleared = await Directory.ClearAsync(key, "disk back to normal");
        Assert.Equal(first.IncidentId, cleared!.IncidentId);
        Assert.True(cleared.ResolvedAutomatically);
        Assert.Equal(IncidentState.Resolved, cleared.State);
        await Poll.UntilAsync(() => Directory.FindOpenAsync(key), id => id is null, "no open incident for the key");
        Assert.Null(await Directory.ClearAsync(key, "again"));

        var next = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P3, "Disk slow again", "test", "p99 1 s"));
        Assert.NotEqual(first.IncidentId, next.IncidentId);
        Assert.Equal(1, next.AlertCount);

        // Resolved by a human: not automatic.
        var manual = await Incident(next.IncidentId).ResolveAsync("ana", "replaced the disk", automatic: false);
        Assert.False(manual.ResolvedAutomatically);
        Assert.Equal("resolved: replaced the disk", manual.Timeline[^1].Message);
    }

    [Fact]
    public async Task An_unacknowledged_incident_escalates_after_each_tiers_response_time_with_signed_webhooks()
    {
        var key = "test-escalation:" + Guid.NewGuid().ToString("N");
        var raisedAt = Clock.Now;
        var incident = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P1, "Checkout failing", "test", "50 % errors"));

        await Clock.UntilAsync(() => Incident(incident.IncidentId).GetAsync(), i => i!.EscalationTier == 3,
            HealingClusterFixture.TierResponseTime * 2 + Step * 2, "escalations to tier 2 and tier 3");
        var hooks = await WebhooksAsync(incident.IncidentId);
        var opened = hooks.Single(h => h.Event == EscalationKinds.Opened);
        var tier2 = hooks.Single(h => h.Event == EscalationKinds.Escalated && h.Tier == 2);
        var tier3 = hooks.Single(h => h.Event == EscalationKinds.Escalated && h.Tier == 3);

        Assert.Equal((1, "Tier 1 on-call"), (opened.Tier, opened.Json["tierName"]!.GetValue<string>()));
        Assert.Equal("Tier 2 engineering lead", tier2.Json["tierName"]!.GetValue<string>());
        Assert.Equal("Tier 3 leadership", tier3.Json["tierName"]!.GetValue<string>());
        Assert.Equal(raisedAt, opened.SentAt);
        AssertWithin(tier2.SentAt - opened.SentAt, HealingClusterFixture.TierResponseTime, "tier 1 → tier 2");
        AssertWithin(tier3.SentAt - tier2.SentAt, HealingClusterFixture.TierResponseTime, "tier 2 → tier 3");

        foreach (var hook in hooks)
        {
            Assert.Equal("incident." + hook.Event, hook.EventHeader);
            Assert.NotNull(hook.Timestamp);
            Assert.InRange(long.Parse(hook.Timestamp, System.Globalization.CultureInfo.InvariantCulture),
                hook.SentAt.ToUnixTimeSeconds(), Clock.Now.ToUnixTimeSeconds());
            Assert.Equal(ReceivedWebhook.ExpectedSignature(HealingClusterFixture.WebhookSecret, hook.Timestamp, hook.Body), hook.Signature);
            Assert.Equal(incident.IncidentId, hook.IncidentId);
            Assert.Equal("P1", hook.Json["severity"]!.GetValue<string>());
            Assert.Equal("Checkout failing", hook.Json["title"]!.GetValue<string>());
        }

        var info = (await Incident(incident.IncidentId).GetAsync())!;
        Assert.Contains(info.Timeline, t => t.Kind == "escalated" && t.Message.StartsWith("escalated: Tier 2 engineering lead notified (not acknowledged within", StringComparison.Ordinal));

        // Resolved: a last notification, then silence.
        var resolvedAt = (await Incident(incident.IncidentId).ResolveAsync("ana", "rolled back", automatic: false)).ResolvedAt!.Value;
        await Clock.AdvanceAsync(HealingClusterFixture.TierResponseTime * 2);
        var final = await WebhooksAsync(incident.IncidentId);
        Assert.Equal(resolvedAt, final.Single(h => h.Event == EscalationKinds.Resolved).SentAt);
        Assert.DoesNotContain(final, h => h.Event != EscalationKinds.Resolved && h.SentAt > resolvedAt);
    }

    [Fact]
    public async Task An_acknowledged_incident_stops_climbing_and_is_reminded_at_its_renotify_interval()
    {
        var key = "test-ack:" + Guid.NewGuid().ToString("N");
        var incident = await Directory.RaiseAsync(new Alert(key, IncidentSeverity.P1, "Queue stuck", "test", "no progress"));
        await Clock.AdvanceAsync(Step);
        var acknowledged = await Incident(incident.IncidentId).AcknowledgeAsync("ana");
        Assert.Equal(IncidentState.Triaged, acknowledged.State);
        Assert.Equal(1, acknowledged.EscalationTier);
        Assert.Equal(Step, acknowledged.TimeToAcknowledge);

        // Well past two tiers' response times: still tier 1, reminded every second.
        await Clock.UntilAsync(() => Incident(incident.IncidentId).GetAsync(), i => i!.Timeline.Count(t => t.Message.StartsWith("reminder:", StringComparison.Ordinal)) == 2,
            HealingClusterFixture.P1RenotifyInterval * 2 + Step * 2, "two reminders");
        await Clock.AdvanceAsync(HealingClusterFixture.TierResponseTime / 2);
        var hooks = await WebhooksAsync(incident.IncidentId);

        Assert.DoesNotContain(hooks, h => h.Event == EscalationKinds.Escalated);
        Assert.All(hooks, h => Assert.Equal(1, h.Tier));
        var opened = hooks.Single(h => h.Event == EscalationKinds.Opened);
        var reminders = hooks.Where(h => h.Event == EscalationKinds.Reminder).OrderBy(h => h.SentAt).ToList();
        Assert.Equal(2, reminders.Count);
        AssertWithin(reminders[0].SentAt - opened.SentAt, HealingClusterFixture.P1RenotifyInterval, "opened → first reminder");
        AssertWithin(reminders[1].SentAt - reminders[0].SentAt, HealingClusterFixture.P1RenotifyInterval, "first → second reminder");
        Assert.All(reminders, r => Assert.Equal("still unresolved", r.Json["message"]!.GetValue<string>()));

        var info = (await Incident(incident.IncidentId).GetAsync())!;
        Assert.Equal(1, info.EscalationTier);
        Assert.Equal(IncidentState.Triaged, info.State);
        Assert.DoesNotContain(info.Timeline, t => t.Kind == "escalated");
        Assert.Contains(info.Timeline, t => t.Kind == "notified" && t.Message == "reminder: Tier 1 on-call notified (still unresolved)");

        await Incident(incident.IncidentId).ResolveAsync("ana", "unstuck", automatic: false);
    }

    [Fact]
    public async Task A_pools_incident_resolves_when_its_agents_are_removed_on_purpose()
    {
        var pool = HealingClusterFixture.NewPool("removed");
        var key = $"pool-availability:{pool}";
        await using var one = await new TestAgent(fixture, pool, "heal").StartAsync();
        await using var two = await new TestAgent(fixture, pool, "heal").StartAsync();
        one.StopHeartbeats();
        two.StopHeartbeats();
        var incidentId = await Clock.UntilAsync(() => Directory.FindOpenAsync(key), id => id is not null, Within, "an incident for the pool");
        await WaitForSeverityAsync(incidentId!, IncidentSeverity.P0);

        // The operator decommissions the pool: nothing it should have is unavailable any more. The reasons are worded
        // freely: the supervisor reads the typed cause, not the text (it used to look for "drain" or "deregister").
        await one.Grain.DeregisterAsync("decommissioned: rack 7 retired");
        await two.Grain.DeregisterAsync("moved to the spare fleet");

        var health = await Clock.UntilAsync(() => fixture.Healing.GetReportAsync(0), r => r.Pools.All(p => p.Pool != pool), Step * 3,
            "the pool gone from the supervisor's view");
        Assert.DoesNotContain(health.Pools, p => p.Pool == pool);
        await Clock.UntilAsync(() => Incident(incidentId!).GetAsync(), i => !i!.IsOpen, Step * 3,
            "the P0 of a pool whose agents were all deregistered resolved (it stays open and keeps escalating)");
    }

    private async Task<IncidentInfo> WaitForSeverityAsync(string incidentId, IncidentSeverity severity) =>
        (await Clock.UntilAsync(() => Incident(incidentId).GetAsync(), i => i!.Severity == severity, Within, $"severity {severity}"))!;

    /// <summary>
    /// The webhooks of an incident once every notification its timeline records (and its resolution) has arrived, one per
    /// notification (a delivery retried after a lost answer arrives twice), in the order they were sent.
    /// </summary>
    private async Task<List<ReceivedWebhook>> WebhooksAsync(string incidentId)
    {
        var info = (await Incident(incidentId).GetAsync())!;
        var sent = info.Timeline.Count(t => t.Kind is "notified" or "escalated") + (info.IsOpen ? 0 : 1);
        var hooks = await Poll.UntilAsync(() => Task.FromResult(Distinct(HealingClusterFixture.Webhooks.For(incidentId))), h => h.Count >= sent,
            $"the {sent} notification(s) of incident {incidentId} at the webhook");
        Assert.Equal(sent, hooks.Count);
        return hooks;

        static List<ReceivedWebhook> Distinct(IEnumerable<ReceivedWebhook> received) =>
            [.. received.DistinctBy(h => (h.Event, h.Tier, h.SentAt)).OrderBy(h => h.SentAt)];
    }

    /// <summary>Timers fall due on the first step at or after their time.</summary>
    private static void AssertWithin(TimeSpan actual, TimeSpan expected, string what) =>
        Assert.True(actual >= expected && actual < expected + Step * 2,
            $"{what}: {actual.TotalMilliseconds:0} ms of mesh time, expected {expected.TotalMilliseconds:0} ms (to the next step)");

    private static class EscalationKinds
    {
        public const string Opened = MeshOs.Grains.Incidents.EscalationPolicy.Opened;
        public const string Escalated = MeshOs.Grains.Incidents.EscalationPolicy.Escalated;
        public const string Reminder = MeshOs.Grains.Incidents.EscalationPolicy.Reminder;
        public const string Resolved = "resolved";
    }
}
