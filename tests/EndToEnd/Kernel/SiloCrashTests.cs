using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using MeshOs.AgentSim;
using MeshOs.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// Nothing acknowledged is lost when a silo dies: two silos (each co-hosting a gateway) on one PostgreSQL, agents
/// working through one silo's gateway, the other SIGKILLed while jobs are being submitted, leased and run.
/// </summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class SiloCrashTests(PostgresKernelFixture fixture, ITestOutputHelper output)
{
    private const int Jobs = 200;
    private const int Backlog = 60;
    private const int KillAfterCompleted = 10;
    private const int KillAfterAcknowledged = 130;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Every_acknowledged_job_ends_succeeded_exactly_once_after_a_silo_is_killed_mid_run()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        await using var first = await KernelMesh.StartSiloAsync(database, "crash", KernelMesh.FastSettings);
        await using var second = await KernelMesh.StartSiloAsync(database, "crash", KernelMesh.FastSettings);
        using var firstApi = new MeshApi(first);
        using var secondApi = new MeshApi(second);
        var active = await Eventually.WaitAsync(
            async () => (await MeshApi.JsonAsync(await firstApi.Anonymous.GetAsync("/status")))["cluster"]!["activeSilos"]!.GetValue<int>(),
            n => n == 2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, active);

        var (tenantId, key) = await firstApi.CreateTenantAsync();
        var capability = JobCalls.Unique("crash");
        var acknowledged = new ConcurrentDictionary<int, string>();
        var refusals = new ConcurrentBag<string>();

        // A backlog first, through both gateways and with no agent yet: the queue's four shards are placed as Orleans
        // sees fit (by load, often all on one silo). The silo to kill is one that hosts some of them, so the kill
        // always takes pending jobs' queues with it; the agents then work through the other silo's gateway.
        var clients = new[] { firstApi.Client(key), secondApi.Client(key) };
        await Parallel.ForEachAsync(Enumerable.Range(0, Backlog), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) => await SubmitAsync(i, clients[i % 2], clients[0], acknowledged, refusals, capability, () => false));
        var shards = await Eventually.WaitAsync(() => Task.FromResult(HostedQueues(first, capability).Count + HostedQueues(second, capability).Count),
            n => n >= 4, TimeSpan.FromSeconds(10));
        Assert.True(shards >= 4, $"Only {shards} of the queue's 4 shards were seen activating.");
        var (victim, survivor, survivorApi) = HostedQueues(second, capability).Count > 0 ? (second, first, firstApi) : (first, second, secondApi);
        var client = survivorApi.Client(key);
        var victimClient = survivorApi == firstApi ? clients[1] : clients[0];
        output.WriteLine($"Queue shards on the silo to be killed: {string.Join(" | ", HostedQueues(victim, capability))}");

        using var logs = new CapturedLogs();
        using var loggers = logs.Factory();
        await using var fleet = new SimulatedFleet(new SimulationOptions
        {
            Endpoint = survivor.GrpcUrl,
            Count = 6,
            IdPrefix = JobCalls.Unique("crashfleet") + "-",
            Capabilities = capability,
            Concurrency = 2,
            LatencyMs = 300,
            LatencyJitterMs = 100,
            EnrollmentToken = MeshProcess.EnrollmentToken,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
        }, loggers);
        await fleet.StartAsync();

        // The rest go through both gateways until the kill, then through the survivor's only, paced so that the kill
        // falls while jobs are still being submitted as well as run. A failed submit is retried on the survivor with
        // its idempotency key, so it ends acknowledged exactly once however often it was tried.
        var clock = Stopwatch.StartNew();
        var kill = Task.Run(async () =>
        {
            var completed = await Eventually.WaitAsync(() => Task.FromResult(fleet.GetStats().Completed),
                done => done >= KillAfterCompleted && acknowledged.Count >= KillAfterAcknowledged, Patience, TimeSpan.FromMilliseconds(20));
            var acknowledgedThen = acknowledged.Count;
            victim.Kill();
            return (At: clock.Elapsed, Acknowledged: acknowledgedThen, Completed: completed);
        });
        await Parallel.ForEachAsync(Enumerable.Range(Backlog, Jobs - Backlog), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) =>
            {
                await SubmitAsync(i, i % 2 == 1 ? victimClient : client, client, acknowledged, refusals, capability,
                    () => kill.IsCompleted || victim.HasExited);
                await Task.Delay(25);
            });
        var killed = await kill;
        output.WriteLine($"Killed a silo {killed.At.TotalSeconds:0.0} s after the agents started, with {killed.Acknowledged} jobs acknowledged " +
            $"and {killed.Completed} completed; all {Jobs} acknowledged after {clock.Elapsed.TotalSeconds:0.0} s; {refusals.Count} refused tries: " +
            string.Join(" | ", refusals.Distinct().Take(5)));
        Assert.InRange(killed.Completed, KillAfterCompleted, Jobs - 50);
        Assert.True(victim.HasExited);
        Assert.Equal(Jobs, acknowledged.Count);
        Assert.Equal(Jobs, acknowledged.Values.Distinct().Count());

        // Every acknowledged job ends Succeeded: grains of the dead silo come back from PostgreSQL on the survivor.
        var succeeded = await Eventually.WaitAsync(() => CountAsync(database, tenantId, "status = 3"), n => n == Jobs, Patience, TimeSpan.FromMilliseconds(500));
        output.WriteLine($"All succeeded after {clock.Elapsed.TotalSeconds:0.0} s; fleet: {fleet.GetStats()}");
        Assert.True(succeeded == Jobs, $"{succeeded} of {Jobs} jobs succeeded; stored statuses: {await StatusesAsync(database, tenantId)}; fleet: {fleet.GetStats()}");
        Assert.Equal(Jobs, await CountAsync(database, tenantId, "true"));

        var stored = await SucceededIdsAsync(database, tenantId);
        Assert.Equal(acknowledged.Values.Order(), stored.Order());
        var listed = await JobCalls.ListAsync(client, "status=Succeeded&limit=500");
        Assert.Equal(acknowledged.Values.Order(), listed.Select(JobCalls.Id).Order());

        // Exactly one terminal attempt per job, in the event log written with each job change.
        var terminal = await Reliability.JobAudit.TerminalEventsAsync(database, tenantId);
        Assert.Equal(acknowledged.Values.Order(), terminal.Keys.Order());
        Assert.All(terminal, t => Assert.Equal(("Succeeded", 1), t.Value));

        // The agents hold nothing more and failed nothing. (Their count of accepted results is not checked: the mesh
        // revokes, in heartbeat acks, leases whose results it has just accepted, and the SDK then does not count those;
        // FencingTests.A_heartbeat_listing_a_lease_whose_result_was_accepted_does_not_revoke_it pins that down.)
        var stats = await Eventually.WaitAsync(() => Task.FromResult(fleet.GetStats()), s => s.InFlight == 0, TimeSpan.FromSeconds(10));
        Assert.True(stats.InFlight == 0 && stats.Connected == 6, $"The fleet still holds jobs: {stats}\n"
            + string.Join("\n", logs.Lines.Where(l => !l.Contains("registered on connection", StringComparison.Ordinal)).Take(60)));
        Assert.Equal(0, stats.Failed);
    }

    /// <summary>
    /// Submits job <paramref name="i"/> (idempotency key <c>crash-i</c>) through <paramref name="preferred"/>, or through
    /// <paramref name="fallback"/> once <paramref name="avoidPreferred"/> says so or the preferred one failed, until acknowledged.
    /// </summary>
    private static async Task SubmitAsync(int i, HttpClient preferred, HttpClient fallback, ConcurrentDictionary<int, string> acknowledged,
        ConcurrentBag<string> refusals, string capability, Func<bool> avoidPreferred)
    {
        var deadline = DateTime.UtcNow + Patience;
        var gateway = preferred;
        while (true)
        {
            if (avoidPreferred())
            {
                gateway = fallback;
            }

            try
            {
                var response = await JobCalls.SubmitAsync(gateway,
                    new { type = "crash-test", capability, payload = new { i }, maxAttempts = 5, initialBackoffSeconds = 0.2 },
                    idempotencyHeader: $"crash-{i}");
                if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                {
                    acknowledged[i] = JobCalls.Id(await MeshApi.JsonAsync(response));
                    return;
                }

                refusals.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (HttpRequestException ex)
            {
                refusals.Add(ex.Message);
            }

            Assert.True(DateTime.UtcNow < deadline, $"Job {i} was never acknowledged; refusals: {string.Join(" | ", refusals.Take(5))}");
            gateway = fallback;
            await Task.Delay(200);
        }
    }

    /// <summary>What the silo logged about activating this run's queue shards (their grains live there).</summary>
    private static List<string> HostedQueues(MeshProcess silo, string capability) =>
        [.. silo.Output.Split('\n').Where(l => l.Contains("QueueGrain", StringComparison.Ordinal) && l.Contains(capability, StringComparison.Ordinal)
            && l.Contains("rebuilt", StringComparison.Ordinal))];

    private static async Task<long> CountAsync(string database, string tenantId, string condition)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM meshos_jobs WHERE tenant_id = $1 AND {condition}", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> StatusesAsync(string database, string tenantId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status, count(*), max(attempts) FROM meshos_jobs WHERE tenant_id = $1 GROUP BY status ORDER BY status", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var parts = new List<string>();
        while (await reader.ReadAsync())
        {
            parts.Add($"status {reader.GetInt16(0)}: {reader.GetInt64(1)} (max attempts {reader.GetInt32(2)})");
        }

        return string.Join(", ", parts);
    }

    private static async Task<List<string>> SucceededIdsAsync(string database, string tenantId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id FROM meshos_jobs WHERE tenant_id = $1 AND status = 3", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0).ToString());
        }

        return ids;
    }
}
