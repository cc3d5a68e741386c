using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json.Nodes;
using MeshOs.AgentSim;
using MeshOs.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Healing;

/// <summary>
/// The self-healing engine with real processes: a silo on PostgreSQL, a simulated fleet under load over gRPC, a
/// webhook receiver. 60 % of the fleet is killed abruptly; the mesh must notice, open a P1, run the dead agents' jobs
/// elsewhere before their leases expire, restart the agents through the fleet's runtime, escalate while nobody
/// acknowledges, and resolve the incident by itself with its MTTR.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SelfHealingEndToEndTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Agents = 10;
    private const int Killed = 6;
    private const string WebhookSecret = "whsec_e2e_0123456789abcdef";

    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>Long enough that a job re-run before it has passed was reassigned by healing, not recovered by lease expiry.</summary>
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The grace between Unresponsive and dead. Restarts follow at once and bring the pool back, so the incident lasts
    /// about this long: it must outlast <see cref="Tier1ResponseTime"/> for an escalation to be seen.
    /// </summary>
    private static readonly TimeSpan DeadAfter = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan Tier1ResponseTime = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Killing_60_percent_of_a_loaded_fleet_opens_a_P1_reruns_its_jobs_restarts_it_and_resolves_itself()
    {
        var clock = Stopwatch.StartNew();
        var database = await postgres.CreateDatabaseAsync();
        await using var webhooks = WebhookReceiver.Start();
        await using var silo = MeshProcess.StartSilo(database, "healing-e2e", new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
            ["MeshOs:Jobs:LeaseDuration"] = Format(LeaseDuration),
            ["MeshOs:Events:PumpInterval"] = "00:00:00.100",
            ["MeshOs:Healing:TickInterval"] = "00:00:00.200",
            ["MeshOs:Healing:DeadAfter"] = Format(DeadAfter),
            ["MeshOs:Incidents:Tiers:0:Name"] = "Tier 1 on-call",
            ["MeshOs:Incidents:Tiers:0:ResponseTime"] = Format(Tier1ResponseTime),
            ["MeshOs:Incidents:Tiers:1:Name"] = "Tier 2 engineering lead",
            ["MeshOs:Incidents:Tiers:1:ResponseTime"] = "00:01:00",
            ["MeshOs:Incidents:Tiers:2:Name"] = "Tier 3 leadership",
            ["MeshOs:Incidents:Tiers:2:ResponseTime"] = "00:05:00",
            ["MeshOs:Incidents:Webhooks:0:Name"] = "e2e-receiver",
            ["MeshOs:Incidents:Webhooks:0:Url"] = webhooks.Url.ToString(),
            ["MeshOs:Incidents:Webhooks:0:Secret"] = WebhookSecret,
            ["MeshOs:Incidents:WebhookRetryDelay"] = "00:00:00.200",
        });
        await silo.WaitReadyAsync();
        using var api = new MeshApi(silo);
        var name = "heal-" + Guid.NewGuid().ToString("N")[..8];
        var pool = "platform/" + name; // the platform's own pool: its fleet (enrollment token) needs no grant
        var (tenantId, key) = await api.CreateTenantAsync(pools: [pool]);
        var tenant = api.Client(key);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: silo on PostgreSQL ready");

        await using var fleet = new SimulatedFleet(new SimulationOptions
        {
            Endpoint = silo.GrpcUrl,
            Count = Agents,
            IdPrefix = name + "-sim-",
            Pool = pool,
            Capabilities = "heal",
            Concurrency = 2,
            LatencyMs = 300,
            LatencyJitterMs = 50,
            EnrollmentToken = MeshProcess.EnrollmentToken,
            RuntimeId = name + "-runtime",
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
        });
        await fleet.StartAsync();
        await WaitAsync(() => Task.FromResult(fleet.GetStats().Connected), n => n == Agents, "the whole fleet connected");
        await WaitAsync(() => PoolAsync(api, pool), p => p?["available"]?.GetValue<int>() == Agents, "the supervisor sees the pool available");

        // Load: ~40 jobs/s against 20 slots of 300 ms each (≈ 12 busy), every submit retried with its key until acknowledged.
        var acknowledged = new ConcurrentDictionary<int, string>();
        using var stopSubmitting = new CancellationTokenSource();
        var submitter = Task.Run(() => SubmitLoadAsync(tenant, pool, acknowledged, stopSubmitting.Token));
        await WaitAsync(() => Task.FromResult(fleet.GetStats().Completed), n => n >= 40, "the fleet warmed up");

        // Kill 6 of 10 while most of them hold work: abrupt (stream reset, no heartbeats); the runtime connection stays up.
        var doomed = fleet.AgentIds.Take(Killed).ToList();
        await WaitAsync(() => Task.FromResult(doomed.Count(id => fleet.GetAgentStats(id).InFlight > 0)), busy => busy >= Killed - 1,
            "the agents to kill busy", TimeSpan.FromSeconds(15), failOnTimeout: false);
        var killedAt = DateTimeOffset.UtcNow;
        await Task.WhenAll(doomed.Select(fleet.KillAsync));
        var orphans = await LeasedByAsync(database, tenantId, doomed);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed {string.Join(", ", doomed)} holding {orphans.Count} job(s)");
        Assert.NotEmpty(orphans);

        // 1. A P1 for the pool within 3 heartbeat intervals. The pool may have had an incident of its own already (on a
        // busy machine an agent late with its heartbeats is Unresponsive for a moment, and back): the incident that
        // matters is the pool's latest, the one the kill makes P1.
        var incidentKey = $"pool-availability:{pool}";
        var p1 = (await WaitAsync(async () => await IncidentIdAsync(api, incidentKey) is { } id ? await IncidentAsync(api, id) : null,
            i => i is not null && SeverityReachedAt(i, "P1") is not null, "the pool's incident at P1"))!;
        var incidentId = p1["incident"]!["incidentId"]!.GetValue<string>();
        var detection = SeverityReachedAt(p1, "P1")!.Value - killedAt;
        output.WriteLine($"detection: incident opened {(p1["incident"]!["detectedAt"]!.GetValue<DateTimeOffset>() - killedAt).TotalSeconds:0.00} s, "
            + $"P1 {detection.TotalSeconds:0.00} s after the kill (heartbeat interval {HeartbeatInterval.TotalSeconds:0} s)");
        Assert.True(detection <= HeartbeatInterval * 3, $"P1 opened {detection.TotalSeconds:0.00} s after the kill; expected within 3 heartbeat intervals");

        // 2. The dead agents' jobs run elsewhere, re-leased long before their leases would have expired. A job whose
        // result its agent had sent before the kill (on its way when the table was read) ended with that result, by
        // its first attempt: it was done, not orphaned.
        var done = await WaitAsync(() => JobsAsync(database, orphans.Keys), jobs => jobs.All(j => j.Status == 3), "the dead agents' jobs succeeded");
        var firstAttempts = await Reliability.JobAudit.AttemptEventsAsync(database, tenantId);
        var finishedBeforeTheKill = done.Where(j => j.Attempts == 1 && firstAttempts.GetValueOrDefault(j.Id) is [{ Outcome: "succeeded" } first]
            && first.AgentId == orphans[j.Id]).Select(j => j.Id).ToHashSet();
        // A lease granted as its agent's stream died never reached the agent: its dispatcher handed the job back
        // (attempt event `released`, the attempt not counted) before the agent was declared dead, and it ran once.
        var handedBack = done.Where(j => !finishedBeforeTheKill.Contains(j.Id)
            && firstAttempts.GetValueOrDefault(j.Id) is { } events && events.Any(e => e.Outcome == "released" && e.AgentId == orphans[j.Id]))
            .Select(j => j.Id).ToHashSet();
        var rerun = done.Where(j => !finishedBeforeTheKill.Contains(j.Id) && !handedBack.Contains(j.Id)).ToList();
        output.WriteLine($"{finishedBeforeTheKill.Count} of the {orphans.Count} job(s) had their result on its way at the kill, "
            + $"{handedBack.Count} were handed back undelivered");
        Assert.NotEmpty(rerun);
        Assert.All(rerun, j => Assert.True(j.Attempts >= 2, $"job {j.Id} succeeded in attempt {j.Attempts}: it was not run again"));
        var relets = rerun.Select(j => j.LeasedAt - killedAt).Order().ToList();
        output.WriteLine($"reassignment: the dead agents' {rerun.Count} job(s) leased again {relets[0].TotalSeconds:0.00}–{relets[^1].TotalSeconds:0.00} s after the kill "
            + $"(lease expiry would have been ≥ {(LeaseDuration - HeartbeatInterval).TotalSeconds:0} s)");
        var slowest = rerun.MaxBy(j => j.LeasedAt)!;
        var attempts = (await Reliability.JobAudit.AttemptEventsAsync(database, tenantId)).GetValueOrDefault(slowest.Id) ?? [];
        var holders = attempts.Select(a => a.AgentId).Where(a => a is not null).Distinct().ToList();
        Assert.True(relets[^1] < LeaseDuration - HeartbeatInterval, $"a dead agent's job was leased again only {relets[^1].TotalSeconds:0.00} s after the kill: lease expiry, not healing. " +
            $"What the silo logged about job {slowest.Id}:\n" + string.Join("\n", silo.Output.Split('\n').Where(l => l.Contains(slowest.Id.ToString(), StringComparison.OrdinalIgnoreCase)).Take(30))
            + "\nIts attempts: " + string.Join(" | ", attempts) + "\nWhat the silo logged about the agents that held it:\n" + string.Join("\n", silo.Output.Split('\n').Where(l => holders.Any(h => l.Contains(h!, StringComparison.Ordinal))).Take(60)));
        var revoked = await LeaseLostAsync(database, tenantId);
        Assert.Superset(orphans.Keys.ToHashSet(), revoked.Keys.ToHashSet());
        Assert.Empty(finishedBeforeTheKill.Intersect(revoked.Keys));
        Assert.Empty(handedBack.Intersect(revoked.Keys));
        output.WriteLine($"revocation: {revoked.Count} lease(s) revoked {(revoked.Values.Min() - killedAt).TotalSeconds:0.00}–{(revoked.Values.Max() - killedAt).TotalSeconds:0.00} s after the kill");

        // 3. Restarted through the fleet's runtime, Healthy again.
        await WaitAsync(() => Task.FromResult(fleet.GetStats().Connected), n => n == Agents, "the killed agents reconnected");
        Assert.True(fleet.RuntimeRestarts >= Killed, $"the fleet's runtime restarted {fleet.RuntimeRestarts} agent(s)");
        Assert.All(doomed, id => Assert.True(fleet.GetAgentStats(id).Restarts >= 1, $"{id} was not restarted"));
        foreach (var id in doomed)
        {
            var agent = await WaitAsync(async () => await MeshApi.JsonAsync(await api.Operator.GetAsync($"/v1/agents/{id}")),
                a => a["state"]!.GetValue<string>() == "Healthy", $"{id} Healthy again");
            Assert.Equal("Healthy", agent["state"]!.GetValue<string>());
        }

        var remediations = (await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/healing/remediations?limit=1000"))).AsArray().Select(r => r!).ToList();
        foreach (var id in doomed)
        {
            var mine = remediations.Where(r => r["subject"]!.GetValue<string>() == id).ToList();
            Assert.Contains(mine, r => r["step"]!.GetValue<string>() == "DeclaredDead");
            Assert.Contains(mine, r => r["step"]!.GetValue<string>() == "Reassign");
            Assert.Contains(mine, r => r["step"]!.GetValue<string>() == "Restart" && r["detail"]!.GetValue<string>().Contains("through its runtime", StringComparison.Ordinal));
        }

        // Each dead agent's leases still held when it was declared dead were revoked at once: every orphan but those
        // that had ended before (a result on its way, a lease handed back undelivered).
        Assert.Equal(rerun.Count, remediations.Where(r => r["step"]!.GetValue<string>() == "Reassign" && doomed.Contains(r["subject"]!.GetValue<string>()))
            .Sum(r => int.Parse(r["detail"]!.GetValue<string>().Split(' ')[0], CultureInfo.InvariantCulture)));

        // 4. The incident resolves itself and records its MTTR.
        var resolved = await WaitAsync(() => IncidentAsync(api, incidentId!), i => i["incident"]!["state"]!.GetValue<string>() == "Resolved", "the incident resolved");
        var incident = resolved["incident"]!;
        Assert.True(incident["resolvedAutomatically"]!.GetValue<bool>());
        Assert.Equal("P1", incident["peakSeverity"]!.GetValue<string>());
        var mttr = TimeSpan.FromSeconds(resolved["timeToResolveSeconds"]!.GetValue<double>());
        var recorded = incident["resolvedAt"]!.GetValue<DateTimeOffset>() - incident["detectedAt"]!.GetValue<DateTimeOffset>();
        Assert.InRange((recorded - mttr).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        output.WriteLine($"MTTR: {mttr.TotalSeconds:0.00} s (detected {(incident["detectedAt"]!.GetValue<DateTimeOffset>() - killedAt).TotalSeconds:0.00} s, "
            + $"resolved {(incident["resolvedAt"]!.GetValue<DateTimeOffset>() - killedAt).TotalSeconds:0.00} s after the kill)");
        var report = await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/incidents/report"));
        Assert.Equal(1.0, report["all"]!["automationRate"]!.GetValue<double>());
        Assert.True(report["all"]!["mttrSeconds"]!.GetValue<double>() > 0);

        // 5. The webhook saw the incident open, escalate to tier 2 once tier 1's response time passed, and resolve.
        var hooks = await WaitAsync(() => Task.FromResult(webhooks.For(incidentId!)), h => h.Any(x => x.Event == "resolved"), "the resolved notification");
        foreach (var hook in hooks)
        {
            Assert.Equal(ReceivedWebhook.ExpectedSignature(WebhookSecret, hook.Timestamp!, hook.Body), hook.Signature);
        }

        var opened = hooks.Single(h => h.Event == "opened");
        var escalated = hooks.FirstOrDefault(h => h.Event == "escalated" && h.Tier == 2);
        output.WriteLine("webhooks: " + string.Join(", ", hooks.Select(h => $"{h.Event}/tier {h.Tier} at +{(h.SentAt - killedAt).TotalSeconds:0.00} s")));
        Assert.True(escalated is not null, "no escalation to tier 2 reached the webhook before the incident resolved");
        Assert.Equal("Tier 2 engineering lead", escalated.Json["tierName"]!.GetValue<string>());
        Assert.True(escalated.SentAt - opened.SentAt >= Tier1ResponseTime,
            $"escalated {(escalated.SentAt - opened.SentAt).TotalSeconds:0.00} s after opening: before tier 1's response time of {Tier1ResponseTime.TotalSeconds} s");

        // 6. Nothing acknowledged is lost: every acknowledged job ends Succeeded, with exactly one terminal result.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stopSubmitting.CancelAsync();
        await submitter;
        var ids = acknowledged.Values.ToHashSet();
        output.WriteLine($"load: {ids.Count} job(s) acknowledged; fleet {fleet.GetStats()}");
        var finished = await WaitAsync(() => JobsAsync(database, ids), jobs => jobs.All(j => j.Status == 3), "every acknowledged job succeeded");
        Assert.Equal(ids.Count, finished.Count);
        Assert.Equal(ids.Count, await CountJobsAsync(database, tenantId));
        var terminal = await Reliability.JobAudit.TerminalEventsAsync(database, tenantId);
        Assert.Equal(ids.Order(), terminal.Keys.Order());
        Assert.All(terminal, t => Assert.Equal(("Succeeded", 1L), t.Value));
        Assert.Equal(0, fleet.GetStats().Failed);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s in all");

        // The fleet stops cleanly, its runtime connection included.
        await fleet.StopAsync();
    }

    private static async Task SubmitLoadAsync(HttpClient tenant, string pool, ConcurrentDictionary<int, string> acknowledged, CancellationToken stop)
    {
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        var i = 0;
        while (!stop.IsCancellationRequested)
        {
            var n = i++;
            while (true)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
                {
                    Content = JsonContent.Create(new { type = "heal-load", capability = "heal", pool, payload = new { n }, maxAttempts = 5 }),
                };
                request.Headers.Add("Idempotency-Key", $"load-{n}");
                try
                {
                    using var response = await tenant.SendAsync(request, CancellationToken.None);
                    if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                    {
                        acknowledged[n] = (await MeshApi.JsonAsync(response))["id"]!.GetValue<string>();
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(100, CancellationToken.None);
            }

            try
            {
                await pace.WaitForNextTickAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>When the incident's severity first reached <paramref name="severity"/>: opened at it, or raised to it.</summary>
    private static DateTimeOffset? SeverityReachedAt(JsonNode incident, string severity) =>
        incident["incident"]!["timeline"]!.AsArray().Select(t => t!)
            .Where(t => (t["kind"]!.GetValue<string>() == "detected" && t["message"]!.GetValue<string>().StartsWith($"[{severity}]", StringComparison.Ordinal))
                || (t["kind"]!.GetValue<string>() == "severity" && t["message"]!.GetValue<string>().Contains($"raised", StringComparison.Ordinal)
                    && t["message"]!.GetValue<string>().Contains($"→ {severity}:", StringComparison.Ordinal)))
            .Select(t => (DateTimeOffset?)t["at"]!.GetValue<DateTimeOffset>())
            .FirstOrDefault();

    private static async Task<JsonNode?> PoolAsync(MeshApi api, string pool)
    {
        var report = await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/healing"));
        return report["pools"]!.AsArray().FirstOrDefault(p => p!["pool"]!.GetValue<string>() == pool);
    }

    /// <summary>The latest incident of <paramref name="dedupKey"/>.</summary>
    private static async Task<string?> IncidentIdAsync(MeshApi api, string dedupKey)
    {
        var page = await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/incidents?limit=100"));
        return page["incidents"]!.AsArray().Where(i => i!["dedupKey"]!.GetValue<string>() == dedupKey)
            .MaxBy(i => i!["detectedAt"]!.GetValue<DateTimeOffset>())?["incidentId"]!.GetValue<string>();
    }

    private static async Task<JsonNode> IncidentAsync(MeshApi api, string incidentId) =>
        await MeshApi.JsonAsync(await api.Operator.GetAsync($"/v1/incidents/{incidentId}"));

    private async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null, bool failOnTimeout = true)
    {
        var value = await Eventually.WaitAsync(read, done, timeout ?? Patience, TimeSpan.FromMilliseconds(50));
        if (failOnTimeout && !done(value))
        {
            output.WriteLine($"Not within {(timeout ?? Patience).TotalSeconds:0} s: {what}");
            Assert.Fail($"Not within {(timeout ?? Patience).TotalSeconds:0} s: {what}; last seen: {value}");
        }

        return value;
    }

    private sealed record StoredJob(Guid Id, short Status, int Attempts, string? AgentId, DateTimeOffset LeasedAt);

    /// <summary>Jobs of the tenant leased to (or running on) the given agents now: id → agent.</summary>
    private static async Task<Dictionary<Guid, string>> LeasedByAsync(string database, string tenantId, IReadOnlyList<string> agentIds)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, agent_id FROM meshos_jobs WHERE tenant_id = $1 AND status IN (1, 2) AND agent_id = ANY($2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = agentIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        var jobs = new Dictionary<Guid, string>();
        while (await reader.ReadAsync())
        {
            jobs[reader.GetGuid(0)] = reader.GetString(1);
        }

        return jobs;
    }

    private static async Task<List<StoredJob>> JobsAsync(string database, IEnumerable<Guid> ids) =>
        await JobsAsync(database, ids.Select(id => id.ToString()));

    private static async Task<List<StoredJob>> JobsAsync(string database, IEnumerable<string> ids)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, status, attempts, agent_id, coalesce(leased_at, created_at) FROM meshos_jobs WHERE id = ANY($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.Select(Guid.Parse).ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        var jobs = new List<StoredJob>();
        while (await reader.ReadAsync())
        {
            jobs.Add(new StoredJob(reader.GetGuid(0), reader.GetInt16(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return jobs;
    }

    private static async Task<long> CountJobsAsync(string database, string tenantId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM meshos_jobs WHERE tenant_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Attempts that ended because their lease was taken away (revoked or expired): job id → when.</summary>
    private static async Task<Dictionary<Guid, DateTimeOffset>> LeaseLostAsync(string database, string tenantId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT (payload->'job'->>'jobId')::uuid, min(at)
            FROM meshos_events
            WHERE kind = 1 AND payload->'job'->>'tenantId' = $1 AND payload->'job'->>'outcome' = 'lease-lost'
            GROUP BY 1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var lost = new Dictionary<Guid, DateTimeOffset>();
        while (await reader.ReadAsync())
        {
            lost[reader.GetGuid(0)] = reader.GetFieldValue<DateTimeOffset>(1);
        }

        return lost;
    }

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
