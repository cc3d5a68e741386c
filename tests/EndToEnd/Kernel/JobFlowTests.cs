using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Grpc.Core;
using MeshOs.AgentSdk;
using MeshOs.Grpc.V1;
using Npgsql;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// The whole job path on a real silo: submit, dispatch to a connected agent, lease, start, result, with the job's
/// changes followed live (gRPC Watch, server-sent events) and the /status counts moving. Run against both storage
/// modes by the two classes below.
/// </summary>
public abstract class JobFlowTests(KernelMesh mesh)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly JobStatus[] Path = [JobStatus.Pending, JobStatus.Leased, JobStatus.Running, JobStatus.Succeeded];

    [Fact]
    public async Task Grpc_submit_is_run_by_an_sdk_agent_and_watch_sees_each_version_up_to_succeeded()
    {
        var tenant = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("flow-grpc");
        var succeededBefore = await mesh.SucceededCountAsync();

        var submitted = await tenant.Jobs.SubmitAsync(new SubmitJobRequest
        {
            Type = "summarize",
            Capability = capability,
            PayloadJson = """{"text":"the quick brown fox","words":4}""",
            Priority = 7,
        }, tenant.Headers);
        Assert.True(submitted.Created);
        var jobId = submitted.Job.JobId;
        Assert.Equal(JobStatus.Pending, submitted.Job.Status);
        Assert.Equal(1, submitted.Job.Version);
        Assert.Equal(0, submitted.Job.Attempts);
        Assert.Equal("platform", submitted.Job.Pool);

        using var watchCall = tenant.Jobs.Watch(new WatchJobRequest { JobId = jobId }, tenant.Headers, deadline: DateTime.UtcNow + Patience);
        var seen = Channel.CreateUnbounded<Job>();
        var watching = Task.Run(async () =>
        {
            var all = new List<Job>();
            await foreach (var job in watchCall.ResponseStream.ReadAllAsync())
            {
                all.Add(job);
                seen.Writer.TryWrite(job);
            }

            seen.Writer.TryComplete();
            return all;
        });
        Assert.Equal(JobStatus.Pending, (await ReadAsync(seen.Reader)).Status);

        // The handler holds the job until the watcher has seen it Running, so that state cannot be skipped.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AgentJob? ran = null;
        var agentId = JobCalls.Unique("sdk-agent");
        await using (var agent = SdkAgent.Start(mesh.Silo.GrpcUrl, agentId, capability, 1, async (job, ct) =>
        {
            ran = job;
            await release.Task.WaitAsync(ct);
            return JobOutcome.Success("""{"summary":"a fox","words":2}""", tokensIn: 120, tokensOut: 34, cost: 0.0042);
        }))
        {
            Job update;
            do
            {
                update = await ReadAsync(seen.Reader);
            }
            while (update.Status != JobStatus.Running);

            Assert.Equal(agentId, update.AgentId);
            release.SetResult();
            var history = await watching.WaitAsync(Patience);

            AssertPath(history);
            Assert.Equal(JobStatus.Succeeded, history[^1].Status);
            // The agent learns its result was accepted from the report's acknowledgement, which may trail the watch.
            Assert.Equal(1, await Eventually.WaitAsync(() => Task.FromResult(agent.Agent.Completed), c => c == 1, TimeSpan.FromSeconds(10)));
        }

        Assert.NotNull(ran);
        Assert.Equal(Guid.Parse(jobId), ran!.JobId);
        Assert.Equal(tenant.Id, ran.TenantId);
        Assert.Equal("summarize", ran.Type);
        Assert.Equal(1, ran.Attempt);
        JobCalls.AssertJsonEqual("""{"text":"the quick brown fox","words":4}""", ran.PayloadJson);

        var final = await tenant.Jobs.GetAsync(new GetJobRequest { JobId = jobId }, tenant.Headers);
        Assert.Equal(JobStatus.Succeeded, final.Status);
        JobCalls.AssertJsonEqual("""{"summary":"a fox","words":2}""", final.ResultJson);
        Assert.Equal(string.Empty, final.Error);
        Assert.Equal(1, final.Attempts);
        Assert.Equal(agentId, final.AgentId);
        Assert.Equal("sdk-test", final.AgentVersion); // what TestAgents' SDK agents register with
        Assert.Equal(120, final.Usage.TokensIn);
        Assert.Equal(34, final.Usage.TokensOut);
        Assert.Equal(0.0042, final.Usage.Cost, 9);
        Assert.NotNull(final.StartedAt);
        Assert.NotNull(final.CompletedAt);
        Assert.True(final.CompletedAt.ToDateTimeOffset() >= final.StartedAt.ToDateTimeOffset());

        // REST reads the same job.
        var rest = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Succeeded", JobCalls.Status(rest));
        JobCalls.AssertJsonEqual("""{"summary":"a fox","words":2}""", rest["result"]);
        Assert.Equal(final.Version, rest["version"]!.GetValue<long>());
        Assert.Equal("sdk-test", rest["agentVersion"]!.GetValue<string>());

        Assert.Equal(succeededBefore + 1, await mesh.SucceededCountAsync());
        await AssertStoredAsync(jobId, 1, """{"summary":"a fox","words":2}""", 120, 34, 0.0042m);
    }

    [Fact]
    public async Task Rest_submit_is_run_through_the_rest_agent_protocol_and_events_show_every_step()
    {
        var tenant = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("flow-rest");
        var succeededBefore = await mesh.SucceededCountAsync();

        var response = await JobCalls.SubmitAsync(tenant.Http, new
        {
            type = "translate",
            capability,
            payload = new { text = "bonjour", to = "en" },
            priority = 3,
            timeoutSeconds = 60,
            maxAttempts = 2,
        });
        var created = (await MeshApi.EnsureAsync(response, HttpStatusCode.Created))!;
        var jobId = JobCalls.Id(created);
        Assert.Equal($"/v1/jobs/{jobId}", response.Headers.Location?.OriginalString);
        Assert.Equal("Pending", JobCalls.Status(created));
        Assert.Equal(1, created["version"]!.GetValue<long>());
        Assert.Equal(2, created["maxAttempts"]!.GetValue<int>());

        using var stop = new CancellationTokenSource(Patience);
        var events = Channel.CreateUnbounded<(string EventId, JsonNode Job)>();
        var following = Task.Run(async () =>
        {
            var all = new List<(string EventId, JsonNode Job)>();
            await foreach (var e in JobCalls.EventsAsync(tenant.Http, jobId, stop.Token))
            {
                all.Add(e);
                events.Writer.TryWrite(e);
            }

            events.Writer.TryComplete();
            return all;
        });
        await NextEventAsync(events.Reader, "1", "Pending");

        await using var agent = new RestAgent(RestAgent.EnrollmentClient(mesh.Api), JobCalls.Unique("rest-agent"));
        var registered = await agent.RegisterOkAsync(capability);
        Assert.Equal("platform", registered["owner"]!.GetValue<string>());
        Assert.Equal("Healthy", registered["state"]!.GetValue<string>());
        Assert.Equal(1, registered["heartbeatIntervalSeconds"]!.GetValue<double>());
        Assert.Equal(3, registered["leaseDurationSeconds"]!.GetValue<double>());
        agent.StartHeartbeats();

        var assignment = await agent.LeaseOneAsync(Patience);
        Assert.Equal(jobId, assignment["jobId"]!.GetValue<string>());
        Assert.Equal(tenant.Id, assignment["tenantId"]!.GetValue<string>());
        Assert.Equal("translate", assignment["type"]!.GetValue<string>());
        Assert.Equal(capability, assignment["capability"]!.GetValue<string>());
        Assert.Equal(1, assignment["attempt"]!.GetValue<int>());
        Assert.Equal(60, assignment["timeoutSeconds"]!.GetValue<double>());
        JobCalls.AssertJsonEqual("""{"text":"bonjour","to":"en"}""", assignment["payload"]);
        var epoch = assignment["epoch"]!.GetValue<long>();
        Assert.Equal(1, epoch);
        var leased = await NextEventAsync(events.Reader, "2", "Leased");
        Assert.Equal(agent.AgentId, leased["agentId"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(jobId, epoch)).StatusCode);
        var running = await NextEventAsync(events.Reader, "3", "Running");
        Assert.NotNull(running["startedAt"]);
        if (mesh.ConnectionString is not null)
        {
            // The job runs long enough for the silo to write Running to the store (it waits a moment, in case the job
            // finishes first). Storing what the tenant already saw changes nothing: same version, no new event.
            var stored = await Eventually.WaitAsync(() => StoredStatusAsync(jobId), s => s.Status != 1, TimeSpan.FromSeconds(15));
            Assert.Equal((Status: (short)2, Version: 3L), stored);
        }

        var complete = await agent.CompleteAsync(jobId, epoch, """{"text":"hello","confidence":0.98}""", tokensIn: 40, tokensOut: 12, cost: 0.25m);
        Assert.Equal(HttpStatusCode.NoContent, complete.StatusCode);
        agent.Drop(jobId);
        var succeeded = await NextEventAsync(events.Reader, "4", "Succeeded");
        JobCalls.AssertJsonEqual("""{"text":"hello","confidence":0.98}""", succeeded["result"]);

        // The stream ends after the terminal state, with nothing in between the four versions.
        var all = await following.WaitAsync(Patience);
        Assert.Equal(["1", "2", "3", "4"], all.Select(e => e.EventId));
        Assert.Equal(["Pending", "Leased", "Running", "Succeeded"], all.Select(e => JobCalls.Status(e.Job)));
        Assert.Equal([1L, 2L, 3L, 4L], all.Select(e => e.Job["version"]!.GetValue<long>()));

        var final = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Succeeded", JobCalls.Status(final));
        JobCalls.AssertJsonEqual("""{"text":"hello","confidence":0.98}""", final["result"]);
        Assert.Null(final["error"]);
        Assert.Equal(1, final["attempts"]!.GetValue<int>());
        Assert.Equal(agent.AgentId, final["agentId"]!.GetValue<string>());
        Assert.Equal(40, final["usage"]!["tokensIn"]!.GetValue<long>());
        Assert.Equal(12, final["usage"]!["tokensOut"]!.GetValue<long>());
        Assert.Equal(0.25m, final["usage"]!["cost"]!.GetValue<decimal>());

        var listed = await JobCalls.ListAsync(tenant.Http, "status=Succeeded");
        Assert.Equal(jobId, JobCalls.Id(Assert.Single(listed)));
        Assert.Equal(succeededBefore + 1, await mesh.SucceededCountAsync());
        await AssertStoredAsync(jobId, 1, """{"text":"hello","confidence":0.98}""", 40, 12, 0.25m);
    }

    /// <summary>Statuses in the order of the job path (some may be skipped by a watcher), versions strictly increasing.</summary>
    private static void AssertPath(List<Job> history)
    {
        Assert.Equal(JobStatus.Pending, history[0].Status);
        Assert.Equal(1, history[0].Version);
        for (var i = 1; i < history.Count; i++)
        {
            Assert.True(history[i].Version > history[i - 1].Version, $"Versions out of order: {string.Join(", ", history.Select(h => h.Version))}");
            Assert.True(Array.IndexOf(Path, history[i].Status) > Array.IndexOf(Path, history[i - 1].Status),
                $"Statuses out of order: {string.Join(" → ", history.Select(h => h.Status))}");
        }
    }

    private static async Task<Job> ReadAsync(ChannelReader<Job> reader)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await reader.ReadAsync(timeout.Token);
    }

    private static async Task<JsonNode> NextEventAsync(ChannelReader<(string EventId, JsonNode Job)> reader, string eventId, string status)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var (id, job) = await reader.ReadAsync(timeout.Token);
        Assert.Equal((eventId, status), (id, JobCalls.Status(job)));
        Assert.Equal(long.Parse(eventId, System.Globalization.CultureInfo.InvariantCulture), job["version"]!.GetValue<long>());
        return job;
    }

    private async Task<(short Status, long Version)> StoredStatusAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(mesh.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status, version FROM meshos_jobs WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(jobId) });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"No row for job {jobId}.");
        return (reader.GetInt16(0), reader.GetInt64(1));
    }

    /// <summary>On PostgreSQL, the row itself holds the outcome (status 3 = Succeeded).</summary>
    private async Task AssertStoredAsync(string jobId, int attempts, string resultJson, long tokensIn, long tokensOut, decimal cost)
    {
        if (mesh.ConnectionString is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(mesh.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status, attempts, result, tokens_in, tokens_out, cost, completed_at IS NOT NULL FROM meshos_jobs WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(jobId) });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"No row for job {jobId}.");
        Assert.Equal(3, reader.GetInt16(0));
        Assert.Equal(attempts, reader.GetInt32(1));
        JobCalls.AssertJsonEqual(resultJson, reader.GetString(2));
        Assert.Equal(tokensIn, reader.GetInt64(3));
        Assert.Equal(tokensOut, reader.GetInt64(4));
        Assert.Equal(cost, reader.GetDecimal(5));
        Assert.True(reader.GetBoolean(6));
    }
}

[Collection(EmbeddedKernelCollection.Name)]
public sealed class EmbeddedJobFlowTests(EmbeddedKernelFixture fixture) : JobFlowTests(fixture.Mesh);

[Collection(PostgresKernelCollection.Name)]
public sealed class PostgresJobFlowTests(PostgresKernelFixture fixture) : JobFlowTests(fixture.Mesh);
