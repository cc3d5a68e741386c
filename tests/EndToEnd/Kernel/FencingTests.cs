using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using MeshOs.AgentSdk;
using MeshOs.AgentSim;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// At-least-once execution with exactly one terminal result: a job whose agent dies runs again elsewhere once its
/// lease lapses, and a report under an outdated lease (a stale epoch) is refused and changes nothing.
/// The silo's lease lasts 3 s and agents heartbeat every second.
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class FencingTests(EmbeddedKernelFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task A_stale_epoch_report_over_rest_is_refused_with_409_and_the_new_lease_wins()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("fence-rest");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "render", capability, payload = new { page = 1 }, maxAttempts = 3, initialBackoffSeconds = 0 }));

        // The first agent takes the job and starts it, then falls silent: no heartbeat renews its lease.
        var enrollment = RestAgent.EnrollmentClient(Mesh.Api);
        await using var first = new RestAgent(enrollment, JobCalls.Unique("fence-a"));
        await first.RegisterOkAsync(capability);
        var firstLease = await first.LeaseOneAsync(Patience);
        var staleEpoch = firstLease["epoch"]!.GetValue<long>();
        Assert.Equal(jobId, firstLease["jobId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await first.StartAsync(jobId, staleEpoch)).StatusCode);

        var lapsed = await JobCalls.WaitForAsync(tenant.Http, jobId, j => JobCalls.Status(j) == "Pending", Patience, "Pending after the lease lapsed");
        Assert.Equal(1, lapsed["attempts"]!.GetValue<int>());
        Assert.Contains("lease expired", lapsed["error"]!.GetValue<string>(), StringComparison.Ordinal);

        await using var second = new RestAgent(enrollment, JobCalls.Unique("fence-b"));
        await second.RegisterOkAsync(capability);
        second.StartHeartbeats();
        var secondLease = await second.LeaseOneAsync(Patience);
        var epoch = secondLease["epoch"]!.GetValue<long>();
        Assert.Equal(jobId, secondLease["jobId"]!.GetValue<string>());
        Assert.Equal(staleEpoch + 1, epoch);
        Assert.Equal(2, secondLease["attempt"]!.GetValue<int>());
        var before = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Leased", JobCalls.Status(before));

        // Every report of the first agent under its old lease is refused and leaves the job as it was.
        var refused = await JobCalls.AssertProblemAsync(
            await first.CompleteAsync(jobId, staleEpoch, """{"by":"first"}"""), HttpStatusCode.Conflict);
        Assert.Equal("Stale lease", refused["title"]!.GetValue<string>());
        Assert.Contains("no longer current", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await JobCalls.AssertProblemAsync(await first.StartAsync(jobId, staleEpoch), HttpStatusCode.Conflict);
        await JobCalls.AssertProblemAsync(await first.FailAsync(jobId, staleEpoch, "gave up", retryable: false), HttpStatusCode.Conflict);
        var unchanged = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal(before["version"]!.GetValue<long>(), unchanged["version"]!.GetValue<long>());
        Assert.Equal("Leased", JobCalls.Status(unchanged));
        Assert.Equal(second.AgentId, unchanged["agentId"]!.GetValue<string>());
        Assert.Null(unchanged["result"]);

        Assert.Equal(HttpStatusCode.NoContent, (await second.StartAsync(jobId, epoch)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await second.CompleteAsync(jobId, epoch, """{"by":"second"}""")).StatusCode);
        second.Drop(jobId);

        var done = await JobCalls.GetAsync(tenant.Http, jobId);
        AssertWonBy(done, second.AgentId, """{"by":"second"}""");

        // Still refused once the job is finished, and still nothing changes.
        await JobCalls.AssertProblemAsync(await first.CompleteAsync(jobId, staleEpoch, """{"by":"first"}"""), HttpStatusCode.Conflict);
        var after = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal(done["version"]!.GetValue<long>(), after["version"]!.GetValue<long>());
        AssertWonBy(after, second.AgentId, """{"by":"second"}""");
    }

    [Fact]
    public async Task A_stale_epoch_result_over_grpc_gets_a_refusing_report_ack_and_the_new_lease_wins()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("fence-grpc");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "render", capability, payload = new { page = 2 }, maxAttempts = 3, initialBackoffSeconds = 0 }));
        var channel = Mesh.Api.Channel();

        await using var first = await StreamAgent.ConnectAsync(channel, JobCalls.Unique("fence-a"), capability);
        await first.RequestLeasesAsync(1);
        var firstLease = await first.NextAssignmentAsync(Patience);
        Assert.Equal(jobId, firstLease.JobId);
        Assert.Equal(1, firstLease.Attempt);
        Assert.True((await first.StartedAsync(jobId, firstLease.Epoch)).Accepted);

        // No heartbeat from the first agent: its lease lapses and the job is offered again.
        await JobCalls.WaitForAsync(tenant.Http, jobId, j => JobCalls.Status(j) == "Pending", Patience, "Pending after the lease lapsed");
        await using var second = await StreamAgent.ConnectAsync(channel, JobCalls.Unique("fence-b"), capability);
        await second.RequestLeasesAsync(1);
        var secondLease = await second.NextAssignmentAsync(Patience);
        Assert.Equal(jobId, secondLease.JobId);
        Assert.Equal(firstLease.Epoch + 1, secondLease.Epoch);
        Assert.Equal(2, secondLease.Attempt);
        await second.HeartbeatAsync((jobId, secondLease.Epoch));
        var before = await JobCalls.GetAsync(tenant.Http, jobId);

        var refused = await first.SucceededAsync(jobId, firstLease.Epoch, """{"by":"first"}""", tokensIn: 5, tokensOut: 5, cost: 1);
        Assert.False(refused.Accepted);
        Assert.Contains("no longer current", refused.Error, StringComparison.Ordinal);
        var unchanged = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal(before["version"]!.GetValue<long>(), unchanged["version"]!.GetValue<long>());
        Assert.Equal("Leased", JobCalls.Status(unchanged));
        Assert.Null(unchanged["result"]);
        Assert.Equal(0, unchanged["usage"]!["tokensIn"]!.GetValue<long>());

        Assert.True((await second.StartedAsync(jobId, secondLease.Epoch)).Accepted);
        var accepted = await second.SucceededAsync(jobId, secondLease.Epoch, """{"by":"second"}""", tokensIn: 7, tokensOut: 3, cost: 0.5);
        Assert.True(accepted.Accepted, accepted.Error);

        var done = await JobCalls.GetAsync(tenant.Http, jobId);
        AssertWonBy(done, second.AgentId, """{"by":"second"}""");
        Assert.Equal(7, done["usage"]!["tokensIn"]!.GetValue<long>());
        Assert.Equal(0.5m, done["usage"]!["cost"]!.GetValue<decimal>());

        var late = await first.SucceededAsync(jobId, firstLease.Epoch, """{"by":"first"}""");
        Assert.False(late.Accepted);
        Assert.Equal(done["version"]!.GetValue<long>(), (await JobCalls.GetAsync(tenant.Http, jobId))["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_heartbeat_listing_a_lease_whose_result_was_accepted_does_not_revoke_it()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("fence-beat");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "render", capability, payload = new { page = 3 } }));

        await using var agent = await StreamAgent.ConnectAsync(Mesh.Api.Channel(), JobCalls.Unique("fence-beat"), capability);
        await agent.RequestLeasesAsync(1);
        var lease = await agent.NextAssignmentAsync(Patience);
        Assert.True((await agent.StartedAsync(jobId, lease.Epoch)).Accepted);

        // The agent's heartbeat timer fires as it reports: the heartbeat still lists the lease of the result.
        await agent.SendSucceededAsync(jobId, lease.Epoch, """{"page":3}""");
        await agent.HeartbeatAsync((jobId, lease.Epoch));
        Assert.True((await agent.NextAckAsync(jobId, lease.Epoch)).Accepted);
        var crossing = await agent.NextHeartbeatAckAsync();

        // And once more after the acknowledgement, as a heartbeat already queued would.
        await agent.HeartbeatAsync((jobId, lease.Epoch));
        var after = await agent.NextHeartbeatAckAsync();

        // Revoked means "drop it: its result would be refused"; this lease's result was accepted (and a repeat of it is too).
        Assert.True(crossing.Revoked.Count == 0 && after.Revoked.Count == 0,
            $"The mesh accepted the result of lease {lease.Epoch} and revoked that lease in a heartbeat ack " +
            $"(crossing: [{string.Join(", ", crossing.Revoked)}], after: [{string.Join(", ", after.Revoked)}])");
        var repeated = await agent.SucceededAsync(jobId, lease.Epoch, """{"page":3}""");
        Assert.True(repeated.Accepted, repeated.Error);
        var done = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Succeeded", JobCalls.Status(done));
        JobCalls.AssertJsonEqual("""{"page":3}""", done["result"]);
    }

    [Fact]
    public async Task A_job_of_a_killed_simulated_agent_runs_again_on_another_agent_with_one_terminal_result()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("crash");

        // The first agent would take two minutes: it is killed long before.
        await using var slow = new SimulatedFleet(Fleet(capability, JobCalls.Unique("slow") + "-", latencyMs: 120_000));
        await slow.StartAsync();
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "index", capability, payload = new { doc = "contract-7" }, maxAttempts = 3, initialBackoffSeconds = 0 }));
        var doomed = slow.AgentIds[0];
        await JobCalls.WaitForAsync(tenant.Http, jobId, j => JobCalls.Status(j) == "Running" && j["agentId"]?.GetValue<string>() == doomed,
            Patience, $"Running on {doomed}");

        await slow.KillAsync(doomed);
        Assert.Equal(SimulatedAgentStatus.Crashed, slow.GetAgentStats(doomed).Status);

        await using var fast = new SimulatedFleet(Fleet(capability, JobCalls.Unique("fast") + "-", latencyMs: 20));
        await fast.StartAsync();
        var rescuer = fast.AgentIds[0];
        var done = await JobCalls.WaitForStatusAsync(tenant.Http, jobId, "Succeeded", Patience);

        AssertWonBy(done, rescuer, $$"""{"echo":{"doc":"contract-7"},"agent":"{{rescuer}}"}""");
        Assert.Equal(0, slow.GetAgentStats(doomed).Completed);
        Assert.Equal(1, slow.GetAgentStats(doomed).Crashes);
        // The rescuer learns of the acceptance from the report's acknowledgement, which may trail the job's new state.
        Assert.Equal(1, await Eventually.WaitAsync(() => Task.FromResult(fast.GetAgentStats(rescuer).Completed), c => c == 1, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, fast.GetAgentStats(rescuer).Refused);
    }

    [Fact]
    public async Task Every_job_of_an_aborted_sdk_agent_runs_again_elsewhere_and_none_is_lost()
    {
        const int jobs = 3;
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("abort");
        var started = new ConcurrentDictionary<Guid, int>();
        var doomed = SdkAgent.Start(Mesh.Silo.GrpcUrl, JobCalls.Unique("doomed"), capability, jobs, async (job, ct) =>
        {
            started[job.JobId] = job.Attempt;
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return JobOutcome.Failure("never", retryable: true);
        });
        string[] ids;
        await using (doomed)
        {
            var submitted = new List<string>();
            for (var i = 0; i < jobs; i++)
            {
                submitted.Add(JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
                    new { type = "embed", capability, payload = new { n = i }, maxAttempts = 3, initialBackoffSeconds = 0 })));
            }

            ids = [.. submitted];
            foreach (var id in ids)
            {
                await JobCalls.WaitForAsync(tenant.Http, id, j => JobCalls.Status(j) == "Running", Patience, "Running on the doomed agent");
            }

            Assert.Equal(jobs, started.Count);
            await doomed.Agent.AbortAsync();
        }

        await using var rescuer = SdkAgent.Start(Mesh.Silo.GrpcUrl, JobCalls.Unique("rescuer"), capability, jobs, (job, _) =>
            Task.FromResult(JobOutcome.Success($$"""{"n":{{JsonNode.Parse(job.PayloadJson)!["n"]}},"attempt":{{job.Attempt}}}""")));
        for (var i = 0; i < jobs; i++)
        {
            var done = await JobCalls.WaitForStatusAsync(tenant.Http, ids[i], "Succeeded", Patience);
            AssertWonBy(done, rescuer.Agent.AgentId, $$"""{"n":{{i}},"attempt":2}""");
        }

        Assert.Equal(0, doomed.Agent.Completed);
        Assert.Equal(jobs, await Eventually.WaitAsync(() => Task.FromResult(rescuer.Agent.Completed), c => c == jobs, TimeSpan.FromSeconds(10)));
        var all = await JobCalls.ListAsync(tenant.Http);
        Assert.Equal(jobs, all.Count);
        Assert.All(all, j => Assert.Equal("Succeeded", JobCalls.Status(j)));
    }

    /// <summary>Finished by <paramref name="agentId"/> on the second attempt with its result.</summary>
    private static void AssertWonBy(JsonNode job, string agentId, string resultJson)
    {
        Assert.Equal("Succeeded", JobCalls.Status(job));
        Assert.Equal(2, job["attempts"]!.GetValue<int>());
        Assert.Equal(agentId, job["agentId"]!.GetValue<string>());
        JobCalls.AssertJsonEqual(resultJson, job["result"]);
        Assert.Null(job["error"]);
    }

    private SimulationOptions Fleet(string capability, string idPrefix, double latencyMs) => new()
    {
        Endpoint = Mesh.Silo.GrpcUrl,
        Count = 1,
        IdPrefix = idPrefix,
        Capabilities = capability,
        Concurrency = 1,
        LatencyMs = latencyMs,
        LatencyJitterMs = 0,
        EnrollmentToken = MeshProcess.EnrollmentToken,
        ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
        ReconnectMaxDelay = TimeSpan.FromSeconds(2),
    };
}
