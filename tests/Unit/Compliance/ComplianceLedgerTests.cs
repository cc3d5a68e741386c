using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Compliance;

namespace MeshOs.Tests.Unit.Compliance;

/// <summary>The auditor's book: latest checks, findings they open and resolve, score per scope, history, paging, pruning.</summary>
public sealed class ComplianceLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static ComplianceLedger NewLedger()
    {
        var state = new ComplianceState();
        foreach (var policy in PolicyCatalog.Defaults)
        {
            state.Policies[policy.Id] = policy;
        }

        return new ComplianceLedger(state);
    }

    private static CheckResult Check(string policy, string subject, string? tenant, CheckOutcome outcome, DateTimeOffset at,
        PolicySeverity severity = PolicySeverity.High) =>
        new(policy, severity, subject, tenant, outcome, $"{outcome}", at);

    [Fact]
    public void Checks_open_and_resolve_findings_and_the_score_weighs_each_scopes_latest_checks_by_severity()
    {
        var ledger = NewLedger();
        Assert.True(ledger.Apply(Check("residency", "tenant/acme/agent/a-1", "acme", CheckOutcome.Fail, T0, PolicySeverity.Critical)));
        Assert.False(ledger.Apply(Check("residency", "tenant/acme/agent/a-2", "acme", CheckOutcome.Pass, T0, PolicySeverity.Critical)));
        ledger.Apply(Check("classification", "tenant/acme/agent/a-2", "acme", CheckOutcome.Pass, T0));
        ledger.Apply(Check("residency", "tenant/beta/agent/b-1", "beta", CheckOutcome.Pass, T0, PolicySeverity.Critical));
        ledger.Apply(Check("key-hygiene", "operator-key/k1", null, CheckOutcome.Skip, T0, PolicySeverity.Medium));

        // acme: passed 8 (critical) + 4 (high) of 8 + 8 + 4 applicable.
        Assert.Equal(new ComplianceScore(60m, 2, 1, 0, 0, 0, 0), ledger.Score("acme", T0));
        Assert.Equal(new ComplianceScore(100m, 1, 0, 0, 0, 0, 0), ledger.Score("beta", T0));
        Assert.Equal(new ComplianceScore(71.42m, 3, 1, 0, 0, 1, 0), ledger.Score(null, T0));
        Assert.Equal(1, ledger.OpenBySeverity("acme", T0)[PolicySeverity.Critical]);
        Assert.Equal(0, ledger.OpenBySeverity("beta", T0)[PolicySeverity.Critical]);

        // A later pass resolves; a stale (older) report changes nothing.
        Assert.True(ledger.Apply(Check("residency", "tenant/acme/agent/a-1", "acme", CheckOutcome.Pass, T0.AddMinutes(2), PolicySeverity.Critical)));
        Assert.False(ledger.Apply(Check("residency", "tenant/acme/agent/a-1", "acme", CheckOutcome.Fail, T0.AddMinutes(1), PolicySeverity.Critical)));
        var finding = ledger.State.Findings[ComplianceLedger.Key("residency", "tenant/acme/agent/a-1")];
        Assert.Equal([FindingState.Open, FindingState.Resolved], finding.History.Select(h => h.State));
        Assert.Equal(100m, ledger.Score("acme", T0.AddMinutes(2)).Percent);
    }

    [Fact]
    public void Checks_of_unknown_policies_are_ignored()
    {
        var ledger = NewLedger();
        Assert.False(ledger.Apply(Check("no-such-policy", "agent/a-1", null, CheckOutcome.Fail, T0)));
        Assert.Empty(ledger.State.Findings);
        Assert.Empty(ledger.Latest);
    }

    [Fact]
    public void A_waived_finding_leaves_the_score_until_its_waiver_ends()
    {
        var ledger = NewLedger();
        ledger.Apply(Check("agent-version", "agent/a-1", null, CheckOutcome.Fail, T0));
        ledger.Apply(Check("agent-version", "agent/a-2", null, CheckOutcome.Pass, T0));
        Assert.Equal(50m, ledger.Score(null, T0).Percent);

        var waived = ledger.Waive("agent-version", "agent/a-1", "vendor fix due", T0.AddDays(2), "ops", T0.AddMinutes(1));
        Assert.Equal(FindingState.Waived, waived.State);
        Assert.Equal(new ComplianceScore(100m, 1, 0, 0, 0, 0, 1), ledger.Score(null, T0.AddDays(1)));
        Assert.Equal(0, ledger.OpenBySeverity(null, T0.AddDays(1))[PolicySeverity.High]);

        Assert.Equal(50m, ledger.Score(null, T0.AddDays(3)).Percent);
        Assert.Equal(1, ledger.OpenBySeverity(null, T0.AddDays(3))[PolicySeverity.High]);
        Assert.Equal(MeshErrorCode.NotFound,
            Assert.Throws<MeshException>(() => ledger.Waive("agent-version", "agent/none", "r", T0.AddDays(1), "ops", T0)).Code);
    }

    [Fact]
    public void Subjects_a_full_pass_did_not_see_leave_the_score_and_their_findings_resolve()
    {
        var ledger = NewLedger();
        ledger.Apply(Check("agent-version", "agent/gone", null, CheckOutcome.Fail, T0));
        ledger.Apply(Check("agent-version", "agent/here", null, CheckOutcome.Fail, T0));
        ledger.Apply(Check("residency", "tenant/t/agent/gone", "t", CheckOutcome.Fail, T0));

        ledger.Forget(new HashSet<string> { "agent-version" }, new HashSet<string> { "agent/here" }, "the agent is gone", T0.AddMinutes(5));

        Assert.Equal(FindingState.Resolved, ledger.State.Findings[ComplianceLedger.Key("agent-version", "agent/gone")].State);
        Assert.Equal("the agent is gone", ledger.State.Findings[ComplianceLedger.Key("agent-version", "agent/gone")].History[^1].Reason);
        Assert.Equal(FindingState.Open, ledger.State.Findings[ComplianceLedger.Key("agent-version", "agent/here")].State);
        Assert.Equal(FindingState.Open, ledger.State.Findings[ComplianceLedger.Key("residency", "tenant/t/agent/gone")].State);
        Assert.Equal(["agent/here", "tenant/t/agent/gone"], ledger.Latest.Select(c => c.Subject).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Reported_checks_not_made_again_within_their_lifetime_expire_and_removed_policies_resolve_their_findings()
    {
        var ledger = NewLedger();
        ledger.Apply(Check("residency", "tenant/t/agent/old", "t", CheckOutcome.Fail, T0));
        ledger.Apply(Check("residency", "tenant/t/agent/new", "t", CheckOutcome.Fail, T0.AddHours(20)));
        ledger.ExpireReported(new HashSet<string> { "residency" }, TimeSpan.FromHours(24), T0.AddHours(25));

        Assert.Equal(FindingState.Resolved, ledger.State.Findings[ComplianceLedger.Key("residency", "tenant/t/agent/old")].State);
        Assert.Equal(FindingState.Open, ledger.State.Findings[ComplianceLedger.Key("residency", "tenant/t/agent/new")].State);

        ledger.State.Policies.Remove("residency");
        ledger.RemovePolicy("residency", T0.AddHours(26));
        Assert.All(ledger.State.Findings.Values, f => Assert.Equal(FindingState.Resolved, f.State));
        Assert.Empty(ledger.Latest);
        Assert.Equal("the policy was removed", ledger.State.Findings[ComplianceLedger.Key("residency", "tenant/t/agent/new")].History[^1].Reason);
    }

    [Fact]
    public void Findings_page_in_policy_and_subject_order_with_filters_and_an_opaque_cursor()
    {
        var ledger = NewLedger();
        for (var i = 0; i < 5; i++)
        {
            ledger.Apply(Check("agent-version", $"agent/a-{i}", i % 2 == 0 ? "acme" : null, CheckOutcome.Fail, T0));
        }

        ledger.Apply(Check("agent-version", "agent/a-4", "acme", CheckOutcome.Pass, T0.AddMinutes(1)));

        var first = ledger.Query(new FindingQuery(null, "agent-version", null, null, 2, null), T0);
        Assert.Equal(["agent/a-0", "agent/a-1"], first.Findings.Select(f => f.Subject));
        var second = ledger.Query(new FindingQuery(null, "agent-version", null, null, 2, first.Next), T0);
        Assert.Equal(["agent/a-2", "agent/a-3"], second.Findings.Select(f => f.Subject));
        var last = ledger.Query(new FindingQuery(null, "agent-version", null, null, 2, second.Next), T0);
        Assert.Equal(["agent/a-4"], last.Findings.Select(f => f.Subject));
        Assert.Null(last.Next);

        Assert.Equal(["agent/a-0", "agent/a-2"],
            ledger.Query(new FindingQuery("acme", null, FindingState.Open, null, 10, null), T0).Findings.Select(f => f.Subject));
        Assert.Equal(["agent/a-3"], ledger.Query(new FindingQuery(null, null, null, "agent/a-3", 10, null), T0).Findings.Select(f => f.Subject));
        Assert.Equal("cursor", Assert.Throws<MeshException>(() => ledger.Query(new FindingQuery(null, null, null, null, 10, "%%%"), T0)).Field);
        Assert.Equal("limit", Assert.Throws<MeshException>(() => ledger.Query(new FindingQuery(null, null, null, null, 0, null), T0)).Field);
    }

    [Fact]
    public void Score_history_keeps_one_point_per_interval_per_scope_within_its_retention()
    {
        var ledger = NewLedger();
        ledger.Apply(Check("residency", "tenant/acme/agent/a", "acme", CheckOutcome.Fail, T0));
        ledger.Apply(Check("residency", "tenant/acme/agent/b", "acme", CheckOutcome.Pass, T0));

        ledger.RecordHistory(T0, TimeSpan.FromHours(1), TimeSpan.FromDays(2));
        ledger.RecordHistory(T0.AddMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromDays(2));
        ledger.Apply(Check("residency", "tenant/acme/agent/a", "acme", CheckOutcome.Pass, T0.AddHours(1)));
        ledger.RecordHistory(T0.AddHours(1), TimeSpan.FromHours(1), TimeSpan.FromDays(2));

        Assert.Equal([(T0, 50m), (T0.AddHours(1), 100m)], ledger.Report("acme", T0.AddHours(1)).History.Select(p => (p.At, p.Percent)));
        Assert.Equal(2, ledger.Report(null, T0.AddHours(1)).History.Length);

        ledger.RecordHistory(T0.AddDays(2).AddMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromDays(2));
        Assert.Equal([T0.AddHours(1), T0.AddDays(2).AddMinutes(30)], ledger.Report("acme", T0.AddDays(3)).History.Select(p => p.At));
    }

    [Fact]
    public void Pruning_drops_findings_resolved_past_retention_then_the_oldest_resolved_past_the_limit()
    {
        var ledger = NewLedger();
        for (var i = 0; i < 4; i++)
        {
            ledger.Apply(Check("agent-version", $"agent/r-{i}", null, CheckOutcome.Fail, T0));
            ledger.Apply(Check("agent-version", $"agent/r-{i}", null, CheckOutcome.Pass, T0.AddDays(i)));
        }

        ledger.Apply(Check("agent-version", "agent/open", null, CheckOutcome.Fail, T0));

        ledger.Prune(T0.AddDays(10), TimeSpan.FromDays(9), max: 100); // r-0 resolved 10 days ago
        Assert.Equal(["agent/open", "agent/r-1", "agent/r-2", "agent/r-3"], ledger.State.Findings.Values.Select(f => f.Subject).Order(StringComparer.Ordinal));

        ledger.Prune(T0.AddDays(10), TimeSpan.FromDays(9), max: 2); // the two oldest resolved go
        Assert.Equal(["agent/open", "agent/r-3"], ledger.State.Findings.Values.Select(f => f.Subject).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Agent_state_changes_are_checked_against_the_advisories_and_an_offline_agent_is_skipped()
    {
        var set = new PolicySet(3, PolicyCatalog.Defaults,
            [new VulnerabilityAdvisory("CVE-1", 9.8m, null, "1.2.0", T0.AddDays(-2), null)]);
        AgentStateChanged Change(string id, string version, AgentState to, string owner = "platform") =>
            new(id, owner, "gpu", "eu", version, 1m, AgentState.Registering, to, "test");

        var checks = AgentVersionChecks.For(set, [Change("old", "1.1.0", AgentState.Healthy), Change("new", "1.2.0", AgentState.Healthy, "acme"),
            Change("off", "1.0.0", AgentState.Offline)], T0);

        Assert.Equal(
            [("agent/old", null, CheckOutcome.Fail), ("agent/new", "acme", CheckOutcome.Pass), ("agent/off", null, CheckOutcome.Skip)],
            checks.Select(c => (c.Subject, c.TenantId, c.Outcome)));
        Assert.All(checks, c => Assert.Equal("agent-version", c.PolicyId));
    }

    [Theory]
    [InlineData("", 5.0, null, "1.0", "id")]
    [InlineData("CVE 1", 5.0, null, "1.0", "id")]
    [InlineData("CVE-1", 10.1, null, "1.0", "cvss")]
    [InlineData("CVE-1", -0.1, null, "1.0", "cvss")]
    [InlineData("CVE-1", 5.0, null, "latest", "fixedIn")]
    [InlineData("CVE-1", 5.0, "2.0", "1.0", "introducedIn")]
    [InlineData("CVE-1", 5.0, "x", "1.0", "introducedIn")]
    public void An_advisory_is_refused_naming_its_bad_field(string id, double cvss, string? introduced, string fixedIn, string field)
    {
        var advisory = new VulnerabilityAdvisory(id, (decimal)cvss, introduced, fixedIn, T0, null);
        Assert.Equal(field, Assert.Throws<MeshException>(() => AdvisoryRules.Validate(advisory)).Field);
    }

    [Fact]
    public void A_well_formed_advisory_passes_and_one_without_a_publication_time_does_not()
    {
        AdvisoryRules.Validate(new VulnerabilityAdvisory("CVE-2026-1", 7.5m, "1.0", "1.4.2", T0, "heap overflow"));
        Assert.Equal("publishedAt", Assert.Throws<MeshException>(() =>
            AdvisoryRules.Validate(new VulnerabilityAdvisory("CVE-2026-1", 7.5m, null, "1.4.2", default, null))).Field);
        Assert.Equal("summary", Assert.Throws<MeshException>(() =>
            AdvisoryRules.Validate(new VulnerabilityAdvisory("CVE-2026-1", 7.5m, null, "1.4.2", T0, new string('s', 501)))).Field);
    }
}
