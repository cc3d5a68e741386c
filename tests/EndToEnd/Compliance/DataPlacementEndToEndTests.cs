using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Compliance;

/// <summary>
/// Data residency and data classification end to end: a silo process (gateway co-hosted) on a private PostgreSQL
/// server, tenants and agents over loopback REST and gRPC, the policies switched through /v1/compliance/policies and
/// the findings read from /v1/compliance/findings. Its own silo: the tests change mesh-wide policies.
/// </summary>
[Collection(DataPlacementCollection.Name)]
public sealed partial class DataPlacementEndToEndTests(DataPlacementFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task A_job_of_a_tenant_that_allows_only_eu_never_reaches_the_us_agent_while_residency_enforces_and_does_with_a_finding_once_it_audits()
    {
        var tenant = await CreateTenantAsync(new { allowedRegions = new[] { "eu" } });
        var unrestricted = await Mesh.CreateTenantAsync();
        var tenantView = await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/tenants/{tenant.Id}"), HttpStatusCode.OK);
        Assert.Equal(["eu"], tenantView!["allowedRegions"]!.AsArray().Select(r => r!.GetValue<string>()));

        var capability = JobCalls.Unique("residency");
        await using var us = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("us-agent"));
        await us.RegisterOkAsync(capability, region: "us");
        us.StartHeartbeats();
        var held = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "eu-only", capability, payload = new { } }));

        // Enforce (the default residency policy): the us agent keeps asking and gets nothing, while the dispatcher
        // holds the job back from it (counted), not once but again and again.
        var denied = 0L;
        var deadline = DateTime.UtcNow + Patience;
        while (denied < 2 && DateTime.UtcNow < deadline)
        {
            Assert.Empty(await us.LeaseAsync(1, waitSeconds: 1));
            denied = await DeniedAsync("residency");
        }

        Assert.True(denied >= 2, $"the dispatcher held the job back {denied} time(s)");
        Assert.Equal("Pending", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, held)));

        // The held job starves nobody: another tenant's job goes to the us agent at once.
        var other = JobCalls.Id(await JobCalls.SubmitCreatedAsync(unrestricted.Http, new { type = "anywhere", capability, payload = new { } }));
        await CompleteOneAsync(us, other);
        Assert.Equal("Pending", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, held)));

        // An agent in eu connects and runs it.
        await using var eu = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("eu-agent"));
        await eu.RegisterOkAsync(capability, region: "eu");
        await CompleteOneAsync(eu, held);
        var ran = await JobCalls.WaitForStatusAsync(tenant.Http, held, "Succeeded", Patience);
        Assert.Equal(eu.AgentId, ran["agentId"]!.GetValue<string>());
        await AssertNoFindingAsync(tenant.Id, us.AgentId); // refused, not violated

        // The operator switches residency to audit: the next job goes to the us agent, and a finding names them.
        var put = await Mesh.Api.Operator.PutAsJsonAsync("/v1/compliance/policies/residency",
            new { rule = "data-residency", mode = "Audit", severity = "Critical" });
        Assert.Equal("Audit", (await MeshApi.EnsureAsync(put, HttpStatusCode.OK))!["mode"]!.GetValue<string>());
        var audited = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "eu-only", capability, payload = new { } }));
        await CompleteOneAsync(us, audited);
        var leasedBy = await JobCalls.WaitForStatusAsync(tenant.Http, audited, "Succeeded", Patience);
        Assert.Equal(us.AgentId, leasedBy["agentId"]!.GetValue<string>());

        var subject = $"tenant/{tenant.Id}/agent/{us.AgentId}";
        var findings = await Eventually.WaitAsync(() => FindingsAsync(subject), f => f.Count > 0, Patience);
        var finding = Assert.Single(findings);
        Assert.Equal(("residency", subject, tenant.Id, "Open", "Fail", "Critical"),
            (finding["policyId"]!.GetValue<string>(), finding["subject"]!.GetValue<string>(), finding["tenantId"]!.GetValue<string>(),
             finding["state"]!.GetValue<string>(), finding["lastOutcome"]!.GetValue<string>(), finding["severity"]!.GetValue<string>()));
        Assert.Equal($"Agent {us.AgentId} is in region 'us'; tenant {tenant.Id} allows only eu.", finding["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Data_classes_are_refused_at_submit_outside_the_tenants_allowance_and_go_only_to_certified_agents()
    {
        var tenant = await CreateTenantAsync(new { allowedDataClasses = new[] { "pii" } });
        var capability = JobCalls.Unique("classified");

        var refused = await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(tenant.Http,
            new { type = "t", capability, payload = new { }, dataClasses = new[] { "phi" } }), HttpStatusCode.Conflict);
        Assert.Equal($"Refused by policy 'classification' (enforce): The job carries data class(es) phi; tenant {tenant.Id} allows only pii.",
            refused["detail"]!.GetValue<string>());
        var invalid = await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(tenant.Http,
            new { type = "t", capability, payload = new { }, dataClasses = new[] { "PII" } }), HttpStatusCode.BadRequest);
        Assert.StartsWith("dataClasses: ", invalid["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var grpcRefused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await tenant.Jobs.SubmitAsync(
            new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = "{}", DataClasses = { "phi" } }, tenant.Headers));
        Assert.Equal(global::Grpc.Core.StatusCode.FailedPrecondition, grpcRefused.StatusCode);

        var job = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { }, dataClasses = new[] { "pii" } }));
        Assert.Equal(["pii"], (await JobCalls.GetAsync(tenant.Http, job))["dataClasses"]!.AsArray().Select(c => c!.GetValue<string>()));

        await using var uncertified = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("plain"));
        await uncertified.RegisterOkAsync(capability);
        uncertified.StartHeartbeats();
        var deadline = DateTime.UtcNow + Patience;
        while (await DeniedAsync("classification") == 0 && DateTime.UtcNow < deadline)
        {
            Assert.Empty(await uncertified.LeaseAsync(1, waitSeconds: 1));
        }

        Assert.True(await DeniedAsync("classification") > 0);
        Assert.Equal("Pending", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, job)));

        await using var certified = new RestAgent(RestAgent.EnrollmentClient(Mesh.Api), JobCalls.Unique("pii-agent"));
        await certified.RegisterOkAsync(capability, certifications: ["pii"]);
        var agentView = await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/agents/{certified.AgentId}"), HttpStatusCode.OK);
        Assert.Equal(["pii"], agentView!["certifications"]!.AsArray().Select(c => c!.GetValue<string>()));
        await CompleteOneAsync(certified, job);

        var viaGrpc = await tenant.Jobs.SubmitAsync(new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = "{}", DataClasses = { "pii" } }, tenant.Headers);
        Assert.Equal(["pii"], viaGrpc.Job.DataClasses);
    }

    [Fact]
    public async Task Allowed_regions_and_data_classes_are_validated_naming_the_field_and_changed_by_an_update()
    {
        var bad = await JobCalls.AssertProblemAsync(await Mesh.Api.Operator.PostAsJsonAsync("/v1/tenants",
            new { id = "t" + Guid.NewGuid().ToString("N")[..12], allowedRegions = new[] { "EU West" } }), HttpStatusCode.BadRequest);
        Assert.StartsWith("allowedRegions: ", bad["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var tenant = await CreateTenantAsync(new { });
        var tooMany = await JobCalls.AssertProblemAsync(await Mesh.Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}",
            new { allowedDataClasses = Enumerable.Range(0, 9).Select(i => $"c{i}") }), HttpStatusCode.BadRequest);
        Assert.Equal("allowedDataClasses: at most 8 names (9 given).", tooMany["detail"]!.GetValue<string>());

        var updated = await MeshApi.EnsureAsync(await Mesh.Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}",
            new { allowedRegions = new[] { "us", "eu", "eu" } }), HttpStatusCode.OK);
        Assert.Equal(["eu", "us"], updated!["allowedRegions"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Empty(updated["allowedDataClasses"]!.AsArray());
    }

    private async Task<KernelTenant> CreateTenantAsync(object rules)
    {
        var id = "t" + Guid.NewGuid().ToString("N")[..12];
        var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(rules))!.AsObject();
        body["id"] = id;
        await MeshApi.EnsureAsync(await Mesh.Api.Operator.PostAsJsonAsync("/v1/tenants", body), HttpStatusCode.Created);
        var issued = await MeshApi.EnsureAsync(await Mesh.Api.Operator.PostAsJsonAsync($"/v1/tenants/{id}/keys", new { name = "test" }), HttpStatusCode.Created);
        var key = issued!["key"]!.GetValue<string>();
        return new KernelTenant(id, key, Mesh.Api.Client(key), new Jobs.JobsClient(Mesh.Api.Channel()));
    }

    /// <summary>Leases until the agent gets <paramref name="jobId"/> (failing on any other job) and completes it.</summary>
    private static async Task CompleteOneAsync(RestAgent agent, string jobId)
    {
        await agent.HeartbeatAsync();
        var assignment = await agent.LeaseOneAsync(Patience);
        Assert.Equal(jobId, assignment["jobId"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(jobId, assignment["epoch"]!.GetValue<long>(), "{}")).StatusCode);
        agent.Drop(jobId);
    }

    /// <summary>meshos_compliance_denied_total{policy, stage="lease"} as the process exports it (0 before the first).</summary>
    private async Task<long> DeniedAsync(string policy)
    {
        var metrics = await Mesh.Api.Anonymous.GetStringAsync("/metrics");
        return DeniedLine().Matches(metrics)
            .Where(m => m.Groups["labels"].Value.Contains($"policy=\"{policy}\"", StringComparison.Ordinal)
                && m.Groups["labels"].Value.Contains("stage=\"lease\"", StringComparison.Ordinal))
            .Sum(m => (long)double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<List<JsonNode>> FindingsAsync(string subject)
    {
        var page = await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/compliance/findings?subject={Uri.EscapeDataString(subject)}"), HttpStatusCode.OK);
        return [.. page!["findings"]!.AsArray().Select(f => f!)];
    }

    private async Task AssertNoFindingAsync(string tenantId, string agentId) =>
        Assert.Empty(await FindingsAsync($"tenant/{tenantId}/agent/{agentId}"));

    [GeneratedRegex(@"^meshos_compliance_denied_total\{(?<labels>[^}]*)\} (?<value>[0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex DeniedLine();
}

/// <summary>
/// A private PostgreSQL server and one silo on it, for the data-placement tests alone (they change mesh-wide policies).
/// Load shedding is off: these tests submit jobs before any agent polls for them (a REST agent is a session only while
/// it long-polls), and admission reads such a wait as the mesh falling behind and refuses a share of later submits,
/// which is not what is tested here. (A job held back for compliance is marked handed back and never counted.)
/// </summary>
public sealed class DataPlacementFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public KernelMesh Mesh { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.CreateAsync();
        Mesh = await KernelMesh.StartAsync(await Server.CreateDatabaseAsync(), new Dictionary<string, string> { ["MeshOs:Admission:Enabled"] = "false" },
            clusterId: "placement");
    }

    public async Task DisposeAsync()
    {
        if (Mesh is not null)
        {
            await Mesh.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DataPlacementCollection : ICollectionFixture<DataPlacementFixture>
{
    public const string Name = "compliance data placement";
}
