using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// A tenant's pool (<c>acme</c>, <c>acme/…</c>) is private: agents of another owner (the platform's enrollment-token
/// agents, a partner's) serve it only while the tenant grants them access, and every agent that can lease its jobs
/// is listed to the tenant. Real silo process, real sockets.
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class PrivatePoolTests(EmbeddedKernelFixture fixture)
{
    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task A_platform_agent_leases_a_tenants_jobs_only_while_the_tenant_grants_it_and_the_tenant_lists_it()
    {
        var tenant = await Mesh.CreateTenantAsync(); // pools: ["platform"]; its own pool needs no operator step
        var bystander = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("private");
        var secret = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "secret", capability, pool = tenant.Id, payload = new { ssn = "123" } }));

        // Without a grant the platform's agent cannot even join the pool.
        await using var platform = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("plat"));
        var refused = await JobCalls.AssertProblemAsync(await platform.RegisterAsync(capability, pool: tenant.Id), HttpStatusCode.Forbidden);
        Assert.Contains(tenant.Id, refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Pending", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, secret)));

        // The tenant consents; who and when are recorded.
        var grant = (await MeshApi.EnsureAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/grants",
            new { grantee = "platform", pool = tenant.Id }), HttpStatusCode.OK))!;
        Assert.Equal(("platform", tenant.Id, $"tenant {tenant.Id} (key {KeyIdOf(tenant.Key)})"),
            (grant["grantee"]!.GetValue<string>(), grant["pool"]!.GetValue<string>(), grant["grantedBy"]!.GetValue<string>()));
        Assert.True(grant["grantedAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Null(grant["revokedAt"]);

        // Now it joins, leases the job with its payload, and the tenant sees it (read-only); a bystander does not.
        await platform.RegisterOkAsync(capability, pool: tenant.Id);
        var assignment = await platform.LeaseOneAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(secret, assignment["jobId"]!.GetValue<string>());
        Assert.Contains("123", assignment["payload"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await platform.CompleteAsync(secret, assignment["epoch"]!.GetValue<long>(), "{}")).StatusCode);

        Assert.Contains(platform.AgentId, await ListedAsync(tenant.Http));
        var seen = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.OK))!;
        Assert.Equal(("platform", tenant.Id), (seen["owner"]!.GetValue<string>(), seen["pool"]!.GetValue<string>()));
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/agents/{platform.AgentId}/drain", new { reason = "mine?" }), HttpStatusCode.NotFound);
        Assert.DoesNotContain(platform.AgentId, await ListedAsync(bystander.Http));
        await JobCalls.AssertProblemAsync(await bystander.Http.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await bystander.Http.GetAsync($"/v1/tenants/{tenant.Id}/grants"), HttpStatusCode.NotFound);

        // Revoked: the agent is drained at once, gets no lease, cannot come back; the tenant's next job waits.
        var next = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http,
            new { type = "secret", capability, pool = tenant.Id, payload = new { ssn = "456" } }));
        var revoked = (await MeshApi.EnsureAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/grants/revoke",
            new { grantee = "platform", pool = tenant.Id }), HttpStatusCode.OK))!;
        Assert.Equal($"tenant {tenant.Id} (key {KeyIdOf(tenant.Key)})", revoked["revokedBy"]!.GetValue<string>());
        var state = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.OK))!["state"]!.GetValue<string>();
        Assert.Contains(state, new[] { "Draining", "Offline" });
        await JobCalls.AssertProblemAsync(await platform.RegisterAsync(capability, pool: tenant.Id), HttpStatusCode.Forbidden);
        Assert.Equal("Pending", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, next)));

        var history = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/tenants/{tenant.Id}/grants"), HttpStatusCode.OK))!.AsArray();
        var only = Assert.Single(history);
        Assert.NotNull(only!["revokedAt"]);
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/grants/revoke",
            new { grantee = "platform", pool = tenant.Id }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_tenant_runs_its_own_agents_in_its_own_pool_without_an_operator_step()
    {
        var tenant = await Mesh.CreateTenantAsync(pools: []);
        var capability = JobCalls.Unique("own");
        await using var agent = new RestAgent(tenant.Http, JobCalls.Unique("own-agent"));
        await agent.RegisterOkAsync(capability, pool: tenant.Id + "/gpu");

        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, pool = tenant.Id + "/gpu", payload = new { } }));
        var assignment = await agent.LeaseOneAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(jobId, assignment["jobId"]!.GetValue<string>());

        // Without a pool named, the tenant without listed pools submits to its own.
        Assert.Equal(tenant.Id, (await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { } }))["pool"]!.GetValue<string>());
        await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, pool = "platform", payload = new { } }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Grants_are_validated_and_only_a_tenants_own_pools_can_be_granted()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var other = await Mesh.CreateTenantAsync();
        foreach (var body in new object[]
        {
            new { grantee = "platform", pool = other.Id },
            new { grantee = "platform", pool = "platform" },
            new { grantee = tenant.Id, pool = tenant.Id },
            new { grantee = "Not A Tenant", pool = tenant.Id },
            new { grantee = "platform" },
        })
        {
            await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/grants", body), HttpStatusCode.BadRequest);
        }

        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/tenants/{other.Id}/grants",
            new { grantee = "platform", pool = other.Id }), HttpStatusCode.NotFound);
        Assert.Empty((await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/tenants/{other.Id}/grants"), HttpStatusCode.OK))!.AsArray());
        Assert.Empty((await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/grants"), HttpStatusCode.OK))!.AsArray());

        // An operator may grant on a tenant's behalf (recorded as the operator).
        var byOperator = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.PostAsJsonAsync($"/v1/tenants/{tenant.Id}/grants",
            new { grantee = other.Id, pool = tenant.Id + "/shared" }), HttpStatusCode.OK))!;
        Assert.Equal("operator", byOperator["grantedBy"]!.GetValue<string>());

        // The partner's own agent joins the granted pool.
        await using var partnerAgent = new RestAgent(other.Http, JobCalls.Unique("partner"));
        await partnerAgent.RegisterOkAsync(JobCalls.Unique("p"), pool: tenant.Id + "/shared");
        Assert.Contains(partnerAgent.AgentId, await ListedAsync(tenant.Http));
    }

    [Fact]
    public async Task A_tenant_sees_the_platform_agents_of_a_shared_pool_listed_for_it_read_only_and_others_do_not()
    {
        var tenant = await Mesh.CreateTenantAsync(); // pools: ["platform"]
        var unlisted = await Mesh.CreateTenantAsync(pools: []);
        var capability = JobCalls.Unique("shared");
        await using var platform = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("plat"));
        await platform.RegisterOkAsync(capability, pool: "platform");

        // The agent can lease the tenant's jobs: it leases one, and the tenant lists it.
        var job = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "shared", capability, pool = "platform", payload = new { n = 1 } }));
        var assignment = await platform.LeaseOneAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(job, assignment["jobId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await platform.CompleteAsync(job, assignment["epoch"]!.GetValue<long>(), "{}")).StatusCode);

        Assert.Contains(platform.AgentId, await ListedAsync(tenant.Http));
        var seen = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.OK))!;
        Assert.Equal(("platform", "platform"), (seen["owner"]!.GetValue<string>(), seen["pool"]!.GetValue<string>()));
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync($"/v1/agents/{platform.AgentId}/drain", new { reason = "mine?" }), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await tenant.Http.DeleteAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.NotFound);

        // A tenant without the shared pool cannot submit there, so the agent is none of its business.
        Assert.DoesNotContain(platform.AgentId, await ListedAsync(unlisted.Http));
        await JobCalls.AssertProblemAsync(await unlisted.Http.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.NotFound);
        var state = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/agents/{platform.AgentId}"), HttpStatusCode.OK))!["state"]!.GetValue<string>();
        Assert.NotEqual("Draining", state);
    }

    private static async Task<List<string>> ListedAsync(HttpClient http) =>
        [.. (await MeshApi.EnsureAsync(await http.GetAsync("/v1/agents?limit=1000"), HttpStatusCode.OK))!["agents"]!.AsArray()
            .Select(a => a!["agentId"]!.GetValue<string>())];

    private static string KeyIdOf(string key) =>
        MeshOs.Abstractions.Tenants.ApiKeyFormat.TryParse(key, out _, out var keyId, out _) ? keyId : throw new ArgumentException("not an API key", nameof(key));
}
