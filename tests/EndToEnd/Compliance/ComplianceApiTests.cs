using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Compliance;

/// <summary>
/// The compliance auditor end to end, one silo on a private PostgreSQL (the auditor's state is grain storage): an
/// advisory makes an agent a finding at the scan, the tenant sees its own finding and score, an operator waives it,
/// an enforcing policy drains the agent, every change is in the audit log with its digest; the same over gRPC.
/// </summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class ComplianceApiTests(PostgresKernelFixture fixture)
{
    private MeshApi Api => fixture.Mesh.Api;

    [Fact]
    public async Task An_advisory_makes_a_finding_the_tenant_sees_a_waiver_lifts_it_from_the_score_and_enforce_mode_drains_the_agent()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var agentId = JobCalls.Unique("cmp-agent");
        var advisoryId = JobCalls.Unique("CVE");
        var policyId = JobCalls.Unique("versions");
        await MeshApi.EnsureAsync(await tenant.Http.PostAsJsonAsync("/v1/agent/register", new
        {
            agentId, pool = tenant.Id, capabilities = new[] { "cmp" }, maxConcurrency = 1, version = "3.1.0-beta", region = "local", costPerHour = 0.5,
            certifications = new[] { "pii" },
        }), HttpStatusCode.OK);
        var status = await new Fleet.FleetClient(Api.Channel()).GetAgentAsync(new AgentRef { AgentId = agentId }, MeshApi.Key(MeshProcess.OperatorKey));
        Assert.Equal(("3.1.0-beta", "local"), (status.Version, status.Region));
        Assert.Equal(["pii"], status.Certifications);
        await PutAsync($"/v1/compliance/policies/{policyId}", new { rule = "agent-version", mode = "Audit", severity = "High", scope = new { kind = "tenant", name = tenant.Id } });
        // Only 3.1.0 pre-releases: no other test's agent.
        await PutAsync($"/v1/compliance/advisories/{advisoryId}", new
        {
            cvss = 9.1, introducedIn = "3.1.0-alpha", fixedIn = "3.1.0", publishedAt = DateTimeOffset.UtcNow.AddDays(-3), summary = "test advisory",
        });
        try
        {
            await MeshApi.EnsureAsync(await Api.Operator.PostAsync("/v1/compliance/scan", null), HttpStatusCode.OK);

            // The tenant sees its own findings (its policy's and the mesh-wide default's), and its score counts them.
            var findings = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync("/v1/compliance/findings"), HttpStatusCode.OK))!["findings"]!.AsArray();
            Assert.Equal(["agent-version", policyId], findings.Select(f => f!["policyId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
            foreach (var finding in findings)
            {
                Assert.Equal(($"agent/{agentId}", tenant.Id, "Open", "Fail"), (finding!["subject"]!.GetValue<string>(), finding["tenantId"]!.GetValue<string>(),
                    finding["state"]!.GetValue<string>(), finding["lastOutcome"]!.GetValue<string>()));
                Assert.Contains(advisoryId, finding["message"]!.GetValue<string>(), StringComparison.Ordinal);
            }

            var score = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync("/v1/compliance/score"), HttpStatusCode.OK))!;
            Assert.Equal((tenant.Id, 0m, false), (score["tenantId"]!.GetValue<string>(), score["score"]!["percent"]!.GetValue<decimal>(), score["score"]!["meetsTarget"]!.GetValue<bool>()));
            Assert.Equal(2, score["openFindings"]!["High"]!.GetValue<int>());

            // A tenant cannot waive; an operator can, and waived findings leave the tenant's score.
            await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync("/v1/compliance/findings/waive",
                new { policyId, subject = $"agent/{agentId}", reason = "mine", until = DateTimeOffset.UtcNow.AddDays(1) }), HttpStatusCode.Forbidden);
            foreach (var policy in new[] { policyId, "agent-version" })
            {
                var waived = (await MeshApi.EnsureAsync(await Api.Operator.PostAsJsonAsync("/v1/compliance/findings/waive",
                    new { policyId = policy, subject = $"agent/{agentId}", reason = "vendor patch on Friday", until = DateTimeOffset.UtcNow.AddDays(3) }), HttpStatusCode.OK))!;
                Assert.Equal(["Open", "Waived"], waived["history"]!.AsArray().Select(h => h!["state"]!.GetValue<string>()));
            }

            var after = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync("/v1/compliance/score"), HttpStatusCode.OK))!["score"]!;
            Assert.Equal((100m, 2), (after["percent"]!.GetValue<decimal>(), after["waived"]!.GetValue<int>()));

            // The same over gRPC, as the tenant.
            var grpc = new MeshOs.Grpc.V1.Compliance.ComplianceClient(Api.Channel());
            var page = await grpc.ListFindingsAsync(new ListFindingsRequest { PolicyId = policyId }, tenant.Headers);
            Assert.Equal((FindingState.Waived, "fail"), (Assert.Single(page.Findings).State, page.Findings[0].LastOutcome));
            var report = await grpc.GetScoreAsync(new GetScoreRequest(), tenant.Headers);
            Assert.Equal((tenant.Id, "100.00", 2), (report.TenantId, report.Percent, report.Waived));
            var denied = await Assert.ThrowsAsync<RpcException>(() => grpc.ScanAsync(new ScanRequest(), tenant.Headers).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

            // Enforce mode drains the agent past its patch deadline.
            await PutAsync($"/v1/compliance/policies/{policyId}", new { rule = "agent-version", mode = "Enforce", severity = "High", scope = new { kind = "tenant", name = tenant.Id } });
            await MeshApi.EnsureAsync(await Api.Operator.PostAsync("/v1/compliance/scan", null), HttpStatusCode.OK);
            var agent = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/agents/{agentId}"), HttpStatusCode.OK))!;
            Assert.Contains(agent["state"]!.GetValue<string>(), new[] { "Draining", "Offline" });

            // Every change is audited with its digest.
            foreach (var (action, target) in new[]
            {
                ("compliance.advisories.put", $"advisory/{advisoryId}"), ("compliance.policies.put", $"policy/{policyId}"),
                ("compliance.findings.waive", $"finding/{policyId}/agent/{agentId}"),
            })
            {
                var entries = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/audit?action={action}&target={Uri.EscapeDataString(target)}"),
                    HttpStatusCode.OK))!["entries"]!.AsArray();
                Assert.NotEmpty(entries);
                Assert.All(entries, e => Assert.Matches("^[0-9a-f]{64}$", e!["draft"]!["changeDigest"]!.GetValue<string>()));
            }

            var drains = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/audit?action=compliance.drain&target=agent/{agentId}"), HttpStatusCode.OK))!;
            Assert.Single(drains["entries"]!.AsArray());
        }
        finally
        {
            await MeshApi.EnsureAsync(await Api.Operator.DeleteAsync($"/v1/compliance/advisories/{advisoryId}"), HttpStatusCode.NoContent);
            await MeshApi.EnsureAsync(await Api.Operator.DeleteAsync($"/v1/compliance/policies/{policyId}"), HttpStatusCode.NoContent);
        }
    }

    [Fact]
    public async Task Bad_policies_and_advisories_are_refused_naming_the_field_and_change_nothing()
    {
        var before = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/compliance/policies"), HttpStatusCode.OK))!["version"]!.GetValue<long>();
        foreach (var (path, body, field) in new (string, object, string)[]
        {
            ("/v1/compliance/policies/Bad_Id", new { rule = "data-residency", mode = "Audit", severity = "Low" }, "id"),
            ("/v1/compliance/policies/ok", new { rule = "firewall", mode = "Audit", severity = "Low" }, "rule"),
            ("/v1/compliance/policies/ok", new { rule = "key-hygiene", mode = "Audit", severity = "Low", settings = new { maxUnusedDays = "0" } }, "settings"),
            ("/v1/compliance/policies/ok", new { rule = "data-residency", mode = "Audit", severity = "Low", scope = new { kind = "tenant" } }, "scope"),
            ("/v1/compliance/advisories/CVE-1", new { cvss = 7.0, fixedIn = "soon" }, "fixedIn"),
            ("/v1/compliance/advisories/CVE-1", new { cvss = 7.0, fixedIn = "1.0", introducedIn = "2.0" }, "introducedIn"),
        })
        {
            var problem = await JobCalls.AssertProblemAsync(await Api.Operator.PutAsJsonAsync(path, body), HttpStatusCode.BadRequest);
            Assert.StartsWith(field + ":", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        await JobCalls.AssertProblemAsync(await Api.Operator.DeleteAsync("/v1/compliance/policies/never-set"), HttpStatusCode.NotFound);
        var waive = await JobCalls.AssertProblemAsync(await Api.Operator.PostAsJsonAsync("/v1/compliance/findings/waive",
            new { policyId = "residency", subject = "agent/none", reason = "r", until = DateTimeOffset.UtcNow.AddDays(1) }), HttpStatusCode.NotFound);
        Assert.Contains("agent/none", waive["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/compliance/policies"), HttpStatusCode.OK))!["version"]!.GetValue<long>());
    }

    private async Task PutAsync(string path, object body) => await MeshApi.EnsureAsync(await Api.Operator.PutAsJsonAsync(path, body), HttpStatusCode.OK);
}
