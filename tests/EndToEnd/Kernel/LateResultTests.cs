using System.Net;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// A result that arrives after its job ended some other way (it timed out, was cancelled, was dead-lettered) is refused,
/// never silently dropped: 409 with the job's state over REST, a refused acknowledgement naming the state on the agent
/// stream. The job stays as it ended. A repeat of a result that was accepted is still accepted (an agent that lost the
/// answer may send it again). The silo's lease lasts 3 s and jobs here time out after 1 s of running.
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class LateResultTests(EmbeddedKernelFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task A_result_after_the_job_timed_out_is_409_with_the_state_over_rest_and_changes_nothing()
    {
        var (tenant, agent, jobId, epoch) = await StartedJobAsync(maxAttempts: 1);
        await using var heartbeating = agent;
        var ended = await JobCalls.WaitForStatusAsync(tenant.Http, jobId, "TimedOut", Patience);

        await AssertRefusedAsync(await agent.CompleteAsync(jobId, epoch, """{"late":true}"""), "TimedOut");
        await AssertRefusedAsync(await agent.FailAsync(jobId, epoch, "gave up", retryable: false), "TimedOut");
        await AssertRefusedAsync(await agent.StartAsync(jobId, epoch), "TimedOut");
        AssertUnchanged(ended, await JobCalls.GetAsync(tenant.Http, jobId));
    }

    [Fact]
    public async Task A_result_after_the_job_was_cancelled_is_409_with_the_state()
    {
        var (tenant, agent, jobId, epoch) = await StartedJobAsync(maxAttempts: 1, timeoutSeconds: 300);
        await using var heartbeating = agent;
        Assert.Equal(HttpStatusCode.OK, (await tenant.Http.PostAsync($"/v1/jobs/{jobId}/cancel", JobCalls.Json("{}"))).StatusCode);
        var ended = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Cancelled", JobCalls.Status(ended));

        await AssertRefusedAsync(await agent.CompleteAsync(jobId, epoch, """{"late":true}"""), "Cancelled");
        AssertUnchanged(ended, await JobCalls.GetAsync(tenant.Http, jobId));
    }

    [Fact]
    public async Task A_result_after_the_job_was_dead_lettered_is_409_with_the_state()
    {
        // Two attempts, each timing out: the second lease goes to the same agent, then the job is dead-lettered.
        var (tenant, agent, jobId, firstEpoch) = await StartedJobAsync(maxAttempts: 2);
        await using var heartbeating = agent;
        await JobCalls.WaitForAsync(tenant.Http, jobId, j => j["attempts"]!.GetValue<int>() == 1 && JobCalls.Status(j) == "Pending", Patience, "back to Pending");
        var second = await agent.LeaseOneAsync(Patience);
        var epoch = second["epoch"]!.GetValue<long>();
        Assert.Equal(firstEpoch + 1, epoch);
        Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(jobId, epoch)).StatusCode);
        var ended = await JobCalls.WaitForStatusAsync(tenant.Http, jobId, "DeadLettered", Patience);

        await AssertRefusedAsync(await agent.CompleteAsync(jobId, epoch, """{"late":true}"""), "DeadLettered");
        AssertUnchanged(ended, await JobCalls.GetAsync(tenant.Http, jobId));
    }

    [Fact]
    public async Task A_repeated_accepted_result_is_still_accepted_and_a_different_one_is_refused()
    {
        var (tenant, agent, jobId, epoch) = await StartedJobAsync(maxAttempts: 1, timeoutSeconds: 300);
        await using var heartbeating = agent;
        Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(jobId, epoch, """{"answer":42}""")).StatusCode);
        var done = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal("Succeeded", JobCalls.Status(done));

        Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(jobId, epoch, """{"answer":42}""")).StatusCode);
        await AssertRefusedAsync(await agent.CompleteAsync(jobId, epoch, """{"answer":43}"""), "Succeeded");
        AssertUnchanged(done, await JobCalls.GetAsync(tenant.Http, jobId));
    }

    [Fact]
    public async Task A_streamed_result_after_the_job_timed_out_gets_a_refused_ack_naming_the_state()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("late-stream");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { }, timeoutSeconds = 1, maxAttempts = 1 }));
        await using var agent = await StreamAgent.ConnectAsync(Mesh.Api.Channel(), JobCalls.Unique("late-s"), capability);
        await agent.RequestLeasesAsync(1);
        var assignment = await agent.NextAssignmentAsync(Patience);
        Assert.Equal(jobId, assignment.JobId);
        await agent.StartedAsync(jobId, assignment.Epoch);
        var ended = await JobCalls.WaitForStatusAsync(tenant.Http, jobId, "TimedOut", Patience);

        var ack = await agent.SucceededAsync(jobId, assignment.Epoch, """{"late":true}""");
        Assert.False(ack.Accepted, "a result for a job that timed out must be refused");
        Assert.Contains("TimedOut", ack.Error, StringComparison.Ordinal);
        Assert.Equal((int)global::Grpc.Core.StatusCode.FailedPrecondition, ack.Code);
        Assert.Equal(MeshOs.Grpc.V1.JobStatus.TimedOut, ack.JobStatus);
        AssertUnchanged(ended, await JobCalls.GetAsync(tenant.Http, jobId));
    }

    /// <summary>A job leased by a fresh REST agent (which heartbeats, so the lease holds) and started.</summary>
    private async Task<(KernelTenant Tenant, RestAgent Agent, string JobId, long Epoch)> StartedJobAsync(int maxAttempts, int timeoutSeconds = 1)
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("late");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "t", capability, payload = new { }, timeoutSeconds, maxAttempts, initialBackoffSeconds = 0 }));
        var agent = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("late-r"));
        await agent.RegisterOkAsync(capability);
        agent.StartHeartbeats();
        var lease = await agent.LeaseOneAsync(Patience);
        Assert.Equal(jobId, lease["jobId"]!.GetValue<string>());
        var epoch = lease["epoch"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(jobId, epoch)).StatusCode);
        return (tenant, agent, jobId, epoch);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string state)
    {
        var problem = await JobCalls.AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(state, problem["state"]?.GetValue<string>());
        Assert.Contains(state, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static void AssertUnchanged(JsonNode ended, JsonNode now)
    {
        Assert.Equal(ended["version"]!.GetValue<long>(), now["version"]!.GetValue<long>());
        Assert.Equal(JobCalls.Status(ended), JobCalls.Status(now));
        Assert.Equal(ended["result"]?.ToJsonString(), now["result"]?.ToJsonString());
        Assert.Equal(ended["error"]?.ToJsonString(), now["error"]?.ToJsonString());
    }
}
