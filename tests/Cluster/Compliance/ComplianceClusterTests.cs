using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Tests.Cluster.Compliance;

/// <summary>
/// The compliance auditor on a cluster: policies as data with a version, reported checks becoming findings with history,
/// waivers, the score per tenant, and the scan that checks agents against advisories and drains them in enforce mode.
/// The auditor is one per cluster and shared by the collection: each test uses its own policies, pools and subjects.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class ComplianceClusterTests(MeshClusterFixture fixture)
{
    private IComplianceGrain Auditor => fixture.Grains.GetGrain<IComplianceGrain>(0);

    /// <summary>Reports are one-way: reads wait (in mesh time) until the findings show them.</summary>
    private Task<FindingPage> FindingsAsync(FindingQuery query, int count, string what) =>
        fixture.Clock.UntilAsync(() => Auditor.GetFindingsAsync(query), page => page.Findings.Length == count, TimeSpan.FromSeconds(10), what);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_new_mesh_has_the_default_policies_and_each_change_bumps_the_version()
    {
        var before = await Auditor.GetPoliciesAsync();
        Assert.Subset(before.Policies.Select(p => p.Id).ToHashSet(), new HashSet<string> { "residency", "classification", "agent-version", "key-hygiene", "production-mfa" });

        var id = Unique("pool-residency");
        var policy = new CompliancePolicy(id, PolicyRules.DataResidency, PolicyMode.Audit, PolicySeverity.Medium, PolicyScope.Pool("gpu"),
            ImmutableDictionary<string, string>.Empty);
        Assert.Equal(policy, await Auditor.PutPolicyAsync(policy));
        var after = await Auditor.GetPoliciesAsync();
        Assert.True(after.Version > before.Version);
        Assert.Equal(policy, after.Policies.Single(p => p.Id == id));
        Assert.Equal([id], after.Covering(PolicyRules.DataResidency, "any", "gpu").Where(p => p.Id == id).Select(p => p.Id));
        Assert.DoesNotContain(after.Covering(PolicyRules.DataResidency, "any", "cpu"), p => p.Id == id);

        var bad = policy with { Settings = ImmutableDictionary<string, string>.Empty.Add("maxUnusedDays", "3") };
        Assert.Equal("settings", (await Assert.ThrowsAsync<MeshException>(() => Auditor.PutPolicyAsync(bad))).Field);

        await Auditor.DeletePolicyAsync(id);
        Assert.DoesNotContain((await Auditor.GetPoliciesAsync()).Policies, p => p.Id == id);
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => Auditor.DeletePolicyAsync(id))).Code);
    }

    [Fact]
    public async Task The_access_review_names_hygiene_problems_by_the_key_hygiene_policy_in_force()
    {
        var keys = fixture.Grains.GetGrain<IOperatorKeysGrain>(0);
        var issued = await keys.IssueAsync("hygiene probe", "compliance", OperatorScope.Full);
        await keys.RecordUseAsync(issued.KeyId, OperatorScope.ReadOnly, fixture.Clock.Now);
        var original = (await Auditor.GetPoliciesAsync()).Policies.Single(p => p.Id == "key-hygiene");
        async Task<string?> HygieneAsync() => (await keys.ReviewAsync()).Keys.Single(r => r.Key.KeyId == issued.KeyId).Hygiene;
        try
        {
            Assert.Contains("needed only 'read-only'", await HygieneAsync(), StringComparison.Ordinal);
            await Auditor.PutPolicyAsync(original with { Enabled = false });
            Assert.Null(await HygieneAsync());
        }
        finally
        {
            await Auditor.PutPolicyAsync(original);
        }

        Assert.NotNull(await HygieneAsync());
    }

    [Fact]
    public async Task Reported_checks_become_findings_with_history_and_a_waiver_takes_one_out_of_the_tenants_score()
    {
        var tenant = Unique("tenant");
        var t0 = fixture.Clock.Now;
        CheckResult Check(string agent, CheckOutcome outcome, DateTimeOffset at) =>
            new("residency", PolicySeverity.Critical, $"tenant/{tenant}/agent/{agent}", tenant, outcome, $"{agent} {outcome}", at);

        await Auditor.ReportAsync([Check("us-1", CheckOutcome.Fail, t0), Check("eu-1", CheckOutcome.Pass, t0)]);
        var open = await FindingsAsync(new FindingQuery(tenant, null, null, null, 10, null), 1, "the reported failure's finding");
        var finding = Assert.Single(open.Findings);
        Assert.Equal(($"tenant/{tenant}/agent/us-1", FindingState.Open, CheckOutcome.Fail), (finding.Subject, finding.State, finding.LastOutcome));
        var score = await Auditor.GetScoreAsync(tenant);
        Assert.Equal(new ComplianceScore(50m, 1, 1, 0, 0, 0, 0), score.Score);
        Assert.Equal(1, score.OpenFindings[PolicySeverity.Critical]);

        var waived = await Auditor.WaiveAsync("residency", finding.Subject, "contract allows US failover this week", t0.AddDays(7), "ops-key");
        Assert.Equal([FindingState.Open, FindingState.Waived], waived.History.Select(h => h.State));
        Assert.Equal(new ComplianceScore(100m, 1, 0, 0, 0, 0, 1), (await Auditor.GetScoreAsync(tenant)).Score);
        Assert.Equal(MeshErrorCode.FailedPrecondition,
            (await Assert.ThrowsAsync<MeshException>(() => Auditor.WaiveAsync("residency", finding.Subject, "again", t0.AddDays(7), "ops-key"))).Code);

        await Auditor.ReportAsync([Check("us-1", CheckOutcome.Pass, t0.AddMinutes(1))]);
        var resolved = Assert.Single((await FindingsAsync(new FindingQuery(tenant, "residency", FindingState.Resolved, null, 10, null), 1, "the finding resolved")).Findings);
        Assert.Equal([FindingState.Open, FindingState.Waived, FindingState.Resolved], resolved.History.Select(h => h.State));
        Assert.Equal(100m, (await Auditor.GetScoreAsync(tenant)).Score.Percent);
    }

    [Fact]
    public async Task The_scan_finds_agents_past_an_advisorys_deadline_and_an_enforcing_policy_drains_them()
    {
        var pool = "platform/" + Unique("versions");
        var policyId = Unique("versions");
        var advisoryId = Unique("CVE");
        var old = new AgentRegistration(Unique("old"), "platform", pool, ["run"], 2, "1.0.0", "eu", 1m);
        var patched = old with { AgentId = Unique("patched"), Version = "2.0.0" };
        await fixture.Grains.GetGrain<IAgentGrain>(old.AgentId).RegisterAsync(old, null);
        await fixture.Grains.GetGrain<IAgentGrain>(patched.AgentId).RegisterAsync(patched, null);
        await Auditor.PutPolicyAsync(new CompliancePolicy(policyId, PolicyRules.AgentVersion, PolicyMode.Audit, PolicySeverity.High,
            PolicyScope.Pool(pool), ImmutableDictionary<string, string>.Empty));
        // Affects only versions from 1.0.0-rc1 to below 1.0.1: no other test's agent.
        await Auditor.PutAdvisoryAsync(new VulnerabilityAdvisory(advisoryId, 9.8m, "1.0.0-rc1", "1.0.1", fixture.Clock.Now.AddDays(-2), "test"));
        try
        {
            await Auditor.ScanAsync();
            var findings = (await Auditor.GetFindingsAsync(new FindingQuery(null, policyId, null, null, 10, null))).Findings;
            var finding = Assert.Single(findings);
            Assert.Equal(($"agent/{old.AgentId}", FindingState.Open, CheckOutcome.Fail), (finding.Subject, finding.State, finding.LastOutcome));
            Assert.Contains(advisoryId, finding.Message, StringComparison.Ordinal);
            Assert.NotEqual(AgentState.Draining, (await fixture.Grains.GetGrain<IAgentGrain>(old.AgentId).GetAsync())!.State); // audit mode: a finding only

            await Auditor.PutPolicyAsync(new CompliancePolicy(policyId, PolicyRules.AgentVersion, PolicyMode.Enforce, PolicySeverity.High,
                PolicyScope.Pool(pool), ImmutableDictionary<string, string>.Empty));
            await Auditor.ScanAsync();
            var drained = (await fixture.Grains.GetGrain<IAgentGrain>(old.AgentId).GetAsync())!;
            Assert.Contains(drained.State, new[] { AgentState.Draining, AgentState.Offline }); // idle: the drain ends at once
            Assert.StartsWith($"Compliance policy '{policyId}' (enforce)", drained.StateReason, StringComparison.Ordinal);
            Assert.NotEqual(AgentState.Draining, (await fixture.Grains.GetGrain<IAgentGrain>(patched.AgentId).GetAsync())!.State);

            // The patched agent registers again under the old id: the watcher checks it from the event log.
            await fixture.Grains.GetGrain<IAgentGrain>(old.AgentId).DeregisterAsync("patching");
            await fixture.Grains.GetGrain<IAgentGrain>(old.AgentId).RegisterAsync(old with { Version = "1.0.1" }, null);
            var resolved = await FindingsAsync(new FindingQuery(null, policyId, FindingState.Resolved, null, 10, null), 1,
                "the re-registered agent's finding resolved by the watcher");
            Assert.Equal([FindingState.Open, FindingState.Resolved], resolved.Findings[0].History.Select(h => h.State));
        }
        finally
        {
            await Auditor.DeleteAdvisoryAsync(advisoryId);
            await Auditor.DeletePolicyAsync(policyId);
        }
    }
}
