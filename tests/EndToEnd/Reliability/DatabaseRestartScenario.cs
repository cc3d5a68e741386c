using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Grpc.Core;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Scenario c: one silo (gateway co-hosted) on a PostgreSQL server of its own, a simulated fleet and the steady load.
/// PostgreSQL is stopped (fast shutdown), kept down for the profile's pause (10 s full, 5 s CI) and started again on
/// the same port with the same data. While it is down, every submit must fail fast and clearly: gRPC UNAVAILABLE, and
/// REST 503 with problem details (probed alongside), each within <see cref="FailFast"/> (the store's connect timeout
/// is 5 s); nothing may be acknowledged that is not durable. Afterwards the mesh must recover by itself: submits
/// succeed again, and every acknowledged job completes. Nothing lost: every acknowledged job is in meshos_jobs and
/// Succeeded with exactly one terminal result.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class DatabaseRestartScenario(ITestOutputHelper output)
{
    /// <summary>The longest a failed submit may take while the database is down.</summary>
    private static readonly TimeSpan FailFast = TimeSpan.FromSeconds(6);

    /// <summary>
    /// After the database is back: a lease and the recovery of the writes that failed meanwhile, with room for a
    /// loaded machine. A job delayed by the outage is done within the outage (stop → PostgreSQL started again,
    /// measured: stopping and starting a server take as long as the machine makes them) plus this, from its submit.
    /// </summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Restart_postgresql_under_load_submits_fail_fast_meanwhile_and_the_mesh_recovers_by_itself()
    {
        var profile = ReliabilityProfile.Current;
        var report = new ScenarioReport("postgres-restart", profile, output);
        await using var server = await PostgresServer.CreateAsync();
        var database = await server.CreateDatabaseAsync();
        await using var mesh = await ReliabilityMesh.StartSiloAsync(database, "rel-pg");
        report.Log("PostgreSQL of its own and a silo (gateway co-hosted) ready");

        var (tenantId, key) = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("rel-pg");
        await using var fleet = mesh.NewFleet(profile, capability, capability + "-");
        await fleet.StartAsync();
        await using var load = mesh.NewLoad(profile, key, capability, capability);
        load.Start();
        await ScenarioSteps.WarmUpAsync(profile, load, database, tenantId, report);

        var orphans = await JobAudit.InFlightAsync(database, tenantId);
        var stopAt = DateTimeOffset.UtcNow;
        await server.StopAsync();
        var stoppedAt = DateTimeOffset.UtcNow;
        report.Log($"PostgreSQL stopped in {(stoppedAt - stopAt).TotalSeconds:0.0} s with {orphans.Count} job(s) leased; down for {profile.DatabasePause.TotalSeconds:0} s");

        // Meanwhile a tenant also submits over REST, each try a new job, and every answer is kept.
        var tenant = mesh.Api.Client(key);
        using var probing = new CancellationTokenSource();
        var probes = new ConcurrentQueue<RestProbe>();
        var prober = Task.Run(() => ProbeRestAsync(tenant, capability, probes, probing.Token));
        await Task.Delay(profile.DatabasePause);
        await probing.CancelAsync();
        await prober;

        var startAt = DateTimeOffset.UtcNow;
        await server.StartAsync();
        var startedAt = DateTimeOffset.UtcNow;
        report.Log($"PostgreSQL started again in {(startedAt - startAt).TotalSeconds:0.0} s");

        // Every submit acknowledged so far, the outage included, is durable.
        var acknowledgedSoFar = load.Acknowledged.Values.ToList();
        var durable = await JobAudit.JobsAsync(database, acknowledgedSoFar);
        var notDurable = acknowledgedSoFar.Where(id => !durable.ContainsKey(id)).ToList();
        report.Log($"{acknowledgedSoFar.Count} acknowledged so far, {notDurable.Count} of them not in meshos_jobs");

        var recovered = await Eventually.WaitAsync(() => Task.FromResult(load.FirstAcknowledgedSince(startedAt)), t => t is not null,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        var submitsBack = recovered?.EndedAt - startedAt;
        report.Log($"submits succeed again {submitsBack?.TotalSeconds:0.0} s after PostgreSQL is back");
        var orphansDone = await ScenarioSteps.OrphansDoneAsync(database, orphans, stopAt, TimeSpan.FromSeconds(60));
        report.Log($"jobs in flight at the stop all done {orphansDone?.TotalSeconds:0.0} s after it");
        await Task.Delay(profile.Aftermath);

        var outage = load.Tries.Where(t => t.StartedAt >= stoppedAt && t.StartedAt < startAt).ToList();
        var grpcFailures = outage.Where(t => !t.Acknowledged).ToList();
        var grpcAcknowledged = outage.Where(t => t.Acknowledged).ToList();
        var restProbes = probes.ToList();
        var stats = fleet.GetStats();
        report.Figure("fault", $"PostgreSQL stopped (fast shutdown) for {profile.DatabasePause.TotalSeconds:0} s under load, {orphans.Count} job(s) in flight");
        report.Figure("gRPC submits while down", $"{grpcFailures.Count} failed ({Codes(grpcFailures)}), slowest failure {Max(grpcFailures):0.00} s; " +
            $"{grpcAcknowledged.Count} acknowledged ({grpcAcknowledged.Count(t => t.Created)} as newly created)");
        report.Figure("REST submits while down", $"{restProbes.Count} tried: {string.Join(", ", restProbes.GroupBy(p => p.Status).Select(g => $"{(int)g.Key} ×{g.Count()}"))}, " +
            $"slowest {restProbes.Select(p => p.Latency.TotalSeconds).DefaultIfEmpty().Max():0.00} s");
        report.Figure("acknowledged but not durable", notDurable.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        report.Figure("submits succeed again after PostgreSQL is back", submitsBack);
        report.Figure("jobs in flight at the stop: last completed", orphansDone);

        // REST probes that got a 201 while the database was down would be acknowledgements without durability.
        var probeIds = restProbes.Where(p => p.JobId is not null).Select(p => p.JobId!.Value).ToList();
        var probesStored = probeIds.Count == 0 ? 0 : (await JobAudit.JobsAsync(database, probeIds)).Count;
        report.Figure("REST probes stored", $"{probesStored} of {probeIds.Count} acknowledged ones");
        await ScenarioSteps.DrainAndAuditAsync(profile, mesh, tenantId, load, report, stopAt, startedAt - stopAt + Recovery,
            $"agents' results accepted {stats.Completed}, refused {stats.Refused}");

        Assert.True(grpcFailures.Count > 0, "No gRPC submit was tried while PostgreSQL was down.");
        // Unavailable from the store, or — once the queue's jobs have waited past the admission target because none
        // can be leased meanwhile — RESOURCE_EXHAUSTED from admission control (README, "Load shedding": refused before
        // any grain call, nothing written, retry after). Both are fast, retryable refusals; anything else is a defect.
        Assert.All(grpcFailures, t => Assert.True(t.Failure == StatusCode.Unavailable
                || (t.Failure == StatusCode.ResourceExhausted && t.Detail?.Contains("nothing was written", StringComparison.Ordinal) == true),
            $"A gRPC submit while PostgreSQL was down failed with {t.Failure} ({t.Detail}), not UNAVAILABLE or admission's RESOURCE_EXHAUSTED"));
        Assert.All(grpcFailures, t => Assert.True(t.Latency < FailFast,
            $"A gRPC submit while PostgreSQL was down took {t.Latency.TotalSeconds:0.00} s to fail (limit {FailFast.TotalSeconds:0} s)"));
        Assert.All(grpcAcknowledged, t => Assert.False(t.Created,
            $"Submit {t.Index} was acknowledged as created while PostgreSQL was down (job {t.JobId})"));
        Assert.Empty(notDurable);
        Assert.NotEmpty(restProbes);
        Assert.All(restProbes, p => Assert.True((p.Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests) && p.ProblemDetails,
            $"A REST submit while PostgreSQL was down answered {(int)p.Status} ({p.ContentType}): {p.Body}"));
        Assert.All(restProbes, p => Assert.True(p.Latency < FailFast,
            $"A REST submit while PostgreSQL was down took {p.Latency.TotalSeconds:0.00} s to fail (limit {FailFast.TotalSeconds:0} s)"));
        Assert.True(submitsBack < TimeSpan.FromSeconds(15), $"Submits succeeded again only {submitsBack?.TotalSeconds:0.0} s after PostgreSQL was back.");
    }

    /// <summary>A REST submit every 300 ms (a new job each, with its own Idempotency-Key) until cancelled.</summary>
    private static async Task ProbeRestAsync(HttpClient tenant, string capability, ConcurrentQueue<RestProbe> probes, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                using var response = await JobCalls.SubmitAsync(tenant, new { type = "reliability", capability, payload = new { probe = i } },
                    idempotencyHeader: $"{capability}-rest-{i}");
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                Guid? jobId = response.IsSuccessStatusCode ? Guid.Parse(JobCalls.Id(System.Text.Json.Nodes.JsonNode.Parse(body)!)) : null;
                var mediaType = response.Content.Headers.ContentType?.MediaType;
                probes.Enqueue(new RestProbe(response.StatusCode, watch.Elapsed, mediaType, mediaType == "application/problem+json" && body.Contains("\"status\":503", StringComparison.Ordinal),
                    body.Length > 300 ? body[..300] : body, jobId));
            }
            catch (HttpRequestException ex)
            {
                probes.Enqueue(new RestProbe(0, watch.Elapsed, null, false, ex.Message, null));
            }

            try
            {
                await Task.Delay(300, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Codes(IEnumerable<SubmitTry> tries) => string.Join(", ", tries.GroupBy(t => t.Failure).Select(g => $"{g.Key} ×{g.Count()}"));

    private static double Max(IEnumerable<SubmitTry> tries) => tries.Select(t => t.Latency.TotalSeconds).DefaultIfEmpty().Max();

    private sealed record RestProbe(HttpStatusCode Status, TimeSpan Latency, string? ContentType, bool ProblemDetails, string Body, Guid? JobId);
}
