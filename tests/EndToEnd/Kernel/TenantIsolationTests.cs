using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// A tenant sees and touches only its own jobs and agents: another tenant's are 404 (never 403, which would confirm
/// they exist), keys are checked on every call, and tenant keys open no operator endpoint.
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class TenantIsolationTests(EmbeddedKernelFixture fixture)
{
    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task Another_tenant_cannot_read_cancel_list_or_follow_a_job_over_rest()
    {
        var owner = await Mesh.CreateTenantAsync();
        var intruder = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("iso");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(owner.Http, new { type = "secret", capability, payload = new { ssn = "123" } }));
        var ownJob = JobCalls.Id(await JobCalls.SubmitCreatedAsync(intruder.Http, new { type = "mine", capability, payload = new { } }));

        await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/jobs/{jobId}"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/jobs/{jobId}/cancel", new { reason = "mine now" }), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/jobs/{jobId}/events"), HttpStatusCode.NotFound);

        // Listings, filtered or not, hold only the caller's own job.
        Assert.Equal([ownJob], (await JobCalls.ListAsync(intruder.Http)).Select(JobCalls.Id));
        Assert.Equal([ownJob], (await JobCalls.ListAsync(intruder.Http, "status=Pending&type=mine")).Select(JobCalls.Id));
        Assert.Empty(await JobCalls.ListAsync(intruder.Http, "type=secret"));

        // The owner's job is untouched by the attempt to cancel it.
        var job = await JobCalls.GetAsync(owner.Http, jobId);
        Assert.Equal("Pending", JobCalls.Status(job));
        Assert.Equal(1, job["version"]!.GetValue<long>());
        Assert.Equal([jobId], (await JobCalls.ListAsync(owner.Http)).Select(JobCalls.Id));
    }

    [Fact]
    public async Task Another_tenant_cannot_get_cancel_list_or_watch_a_job_over_grpc()
    {
        var owner = await Mesh.CreateTenantAsync();
        var intruder = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("iso");
        var submitted = await owner.Jobs.SubmitAsync(new SubmitJobRequest { Type = "secret", Capability = capability, PayloadJson = "{}" }, owner.Headers);
        var jobId = submitted.Job.JobId;

        await AssertStatusAsync(StatusCode.NotFound, () => intruder.Jobs.GetAsync(new GetJobRequest { JobId = jobId }, intruder.Headers).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => intruder.Jobs.CancelAsync(new CancelJobRequest { JobId = jobId }, intruder.Headers).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, async () =>
        {
            using var watch = intruder.Jobs.Watch(new WatchJobRequest { JobId = jobId }, intruder.Headers);
            await watch.ResponseStream.MoveNext(CancellationToken.None);
        });
        var listed = await intruder.Jobs.ListAsync(new ListJobsRequest(), intruder.Headers);
        Assert.Empty(listed.Jobs);
        Assert.Equal(string.Empty, listed.NextCursor);

        var job = await owner.Jobs.GetAsync(new GetJobRequest { JobId = jobId }, owner.Headers);
        Assert.Equal(MeshOs.Grpc.V1.JobStatus.Pending, job.Status);
        Assert.Equal(1, job.Version);
    }

    [Fact]
    public async Task Another_tenant_cannot_see_or_drive_a_tenants_own_agents()
    {
        // Neither uses a shared pool, whose agents (other tests' platform agents) each would see read-only.
        var owner = await Mesh.CreateTenantAsync(pools: []);
        var intruder = await Mesh.CreateTenantAsync(pools: []);

        // A tenant's own agent serves the pool named after the tenant.
        await using var agent = new RestAgent(owner.Http, JobCalls.Unique("own-agent"));
        var registered = await agent.RegisterOkAsync(JobCalls.Unique("iso"), pool: owner.Id);
        Assert.Equal(owner.Id, registered["owner"]!.GetValue<string>());

        var visible = (await MeshApi.EnsureAsync(await owner.Http.GetAsync("/v1/agents"), HttpStatusCode.OK))!["agents"]!.AsArray();
        Assert.Equal([agent.AgentId], visible.Select(a => a!["agentId"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await owner.Http.GetAsync($"/v1/agents/{agent.AgentId}")).StatusCode);

        var listed = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/agents"), HttpStatusCode.OK))!["agents"]!.AsArray();
        Assert.Empty(listed);
        var byOwner = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync($"/v1/agents?owner={owner.Id}"), HttpStatusCode.OK))!["agents"]!.AsArray();
        Assert.Empty(byOwner);
        await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/agents/{agent.AgentId}"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/agents/{agent.AgentId}/drain", new { reason = "x" }), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await intruder.Http.DeleteAsync($"/v1/agents/{agent.AgentId}"), HttpStatusCode.NotFound);

        // Nor can it act as that agent through the agent protocol.
        await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/agent/{agent.AgentId}/heartbeat", new { load = 0 }), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/agent/{agent.AgentId}/lease", new { slots = 1, waitSeconds = 0 }), HttpStatusCode.NotFound);

        var after = (await MeshApi.EnsureAsync(await owner.Http.GetAsync($"/v1/agents/{agent.AgentId}"), HttpStatusCode.OK))!;
        Assert.Equal("Healthy", after["state"]!.GetValue<string>());
        var operatorView = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/agents/{agent.AgentId}"), HttpStatusCode.OK))!;
        Assert.Equal(owner.Id, operatorView["owner"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tenant_id_in_the_body_is_ignored_and_the_job_belongs_to_the_caller()
    {
        var victim = await Mesh.CreateTenantAsync();
        var caller = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("iso");

        var created = await JobCalls.SubmitCreatedAsync(caller.Http,
            new { tenantId = victim.Id, tenant_id = victim.Id, type = "spoof", capability, payload = new { tenantId = victim.Id } });
        var jobId = JobCalls.Id(created);

        Assert.Equal("spoof", (await JobCalls.GetAsync(caller.Http, jobId))["type"]!.GetValue<string>());
        await JobCalls.AssertProblemAsync(await victim.Http.GetAsync($"/v1/jobs/{jobId}"), HttpStatusCode.NotFound);
        Assert.Empty(await JobCalls.ListAsync(victim.Http));
        Assert.Equal([jobId], (await JobCalls.ListAsync(caller.Http)).Select(JobCalls.Id));

        // The agent that runs it is told the real tenant.
        await using var agent = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("iso-agent"));
        await agent.RegisterOkAsync(capability);
        var assignment = await agent.LeaseOneAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(caller.Id, assignment["tenantId"]!.GetValue<string>());
        var epoch = assignment["epoch"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(jobId, epoch, "{}")).StatusCode);
    }

    [Fact]
    public async Task Tenant_keys_are_forbidden_on_operator_endpoints_and_the_operator_key_on_tenant_endpoints()
    {
        var tenant = await Mesh.CreateTenantAsync();

        await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync("/v1/tenants"), HttpStatusCode.Forbidden);
        await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}"), HttpStatusCode.Forbidden);
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync("/v1/tenants", new { id = JobCalls.Unique("evil") }), HttpStatusCode.Forbidden);
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/keys", new { name = "more" }), HttpStatusCode.Forbidden);
        await JobCalls.AssertProblemAsync(await tenant.Http.PutAsJsonAsync($"/v1/tenants/{tenant.Id}", new { quotas = new { submitsPerSecond = 1e6 } }), HttpStatusCode.Forbidden);

        // The operator runs the fleet; it has no jobs of its own to submit.
        await JobCalls.AssertProblemAsync(await Mesh.Api.Operator.GetAsync("/v1/jobs"), HttpStatusCode.Forbidden);
        await AssertStatusAsync(StatusCode.PermissionDenied, () => tenant.Jobs.ListAsync(new ListJobsRequest(), MeshApi.Key(MeshOs.Testing.MeshProcess.OperatorKey)).ResponseAsync);

        var info = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/tenants/{tenant.Id}"), HttpStatusCode.OK))!;
        Assert.Single(info["keys"]!.AsArray());
        Assert.Equal(1_000d, info["quotas"]!["submitsPerSecond"]!.GetValue<double>());
    }

    [Fact]
    public async Task Calls_without_a_valid_key_are_unauthenticated()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("iso");
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { } }));
        var body = new { type = "t", capability, payload = new { } };
        var forged = tenant.Key[..^4] + (tenant.Key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        foreach (var key in new string?[] { null, "", "not-a-key", forged, $"mk.{tenant.Id}.000000000000.secret" })
        {
            var client = Mesh.Api.Client(string.IsNullOrEmpty(key) ? null : key);
            await JobCalls.AssertProblemAsync(await client.GetAsync("/v1/jobs"), HttpStatusCode.Unauthorized);
            await JobCalls.AssertProblemAsync(await client.GetAsync($"/v1/jobs/{jobId}"), HttpStatusCode.Unauthorized);
            await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(client, body), HttpStatusCode.Unauthorized);

            var headers = string.IsNullOrEmpty(key) ? new Metadata() : MeshApi.Key(key);
            await AssertStatusAsync(StatusCode.Unauthenticated, () => tenant.Jobs.GetAsync(new GetJobRequest { JobId = jobId }, headers).ResponseAsync);
            await AssertStatusAsync(StatusCode.Unauthenticated, () => tenant.Jobs.SubmitAsync(
                new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = "{}" }, headers).ResponseAsync);
        }

        await JobCalls.AssertProblemAsync(await Mesh.Api.Anonymous.GetAsync("/v1/tenants"), HttpStatusCode.Unauthorized);
        Assert.Equal(jobId, JobCalls.Id(Assert.Single(await JobCalls.ListAsync(tenant.Http))));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_at_once_while_the_tenants_other_key_still_works()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var issued = (await MeshApi.EnsureAsync(
            await Mesh.Api.Operator.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/keys", new { name = "ci" }), HttpStatusCode.Created))!;
        var secondKey = issued["key"]!.GetValue<string>();
        var keyId = issued["keyId"]!.GetValue<string>();
        var second = Mesh.Api.Client(secondKey);

        // Used once, so the gateway has it cached as valid.
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/v1/jobs")).StatusCode);
        var grpcHeaders = MeshApi.Key(secondKey);
        await tenant.Jobs.ListAsync(new ListJobsRequest(), grpcHeaders);

        var revoked = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.DeleteAsync($"/v1/tenants/{tenant.Id}/keys/{keyId}"), HttpStatusCode.OK))!;
        Assert.NotNull(revoked["keys"]!.AsArray().Single(k => k!["keyId"]!.GetValue<string>() == keyId)!["revokedAt"]);

        await JobCalls.AssertProblemAsync(await second.GetAsync("/v1/jobs"), HttpStatusCode.Unauthorized);
        await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(second, new { type = "t", capability = "c", payload = new { } }), HttpStatusCode.Unauthorized);
        await AssertStatusAsync(StatusCode.Unauthenticated, () => tenant.Jobs.ListAsync(new ListJobsRequest(), grpcHeaders).ResponseAsync);

        Assert.Equal(HttpStatusCode.OK, (await tenant.Http.GetAsync("/v1/jobs")).StatusCode);
        Assert.Empty(await JobCalls.ListAsync(tenant.Http));
    }

    private static async Task AssertStatusAsync(StatusCode expected, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(expected, error.StatusCode);
    }
}
