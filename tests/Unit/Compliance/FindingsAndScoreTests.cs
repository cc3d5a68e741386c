using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Grains.Compliance;

namespace MeshOs.Tests.Unit.Compliance;

/// <summary>Findings with their history, waivers, the weighted score, and enforcement by mode and scope.</summary>
public sealed class FindingsAndScoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static CheckResult Check(CheckOutcome outcome, DateTimeOffset at, PolicySeverity severity = PolicySeverity.High, string subject = "agent/a-1") =>
        new("residency", severity, subject, "acme", outcome, $"{outcome} at {at:HH:mm}", at);

    [Fact]
    public void A_finding_opens_resolves_and_reopens_keeping_each_change()
    {
        Assert.Null(FindingLifecycle.Apply(null, Check(CheckOutcome.Pass, T0)));

        var opened = FindingLifecycle.Apply(null, Check(CheckOutcome.Fail, T0))!;
        var still = FindingLifecycle.Apply(opened, Check(CheckOutcome.Fail, T0.AddMinutes(5)))!;
        var resolved = FindingLifecycle.Apply(still, Check(CheckOutcome.Pass, T0.AddMinutes(10)))!;
        var quiet = FindingLifecycle.Apply(resolved, Check(CheckOutcome.Skip, T0.AddMinutes(12)))!;
        var reopened = FindingLifecycle.Apply(quiet, Check(CheckOutcome.Warn, T0.AddMinutes(20)))!;

        Assert.Equal(FindingState.Open, still.State);
        Assert.Equal("Fail at 12:05", still.Message);
        Assert.Single(still.History);
        Assert.Same(resolved, quiet);
        Assert.Equal(
            [(T0, FindingState.Open), (T0.AddMinutes(10), FindingState.Resolved), (T0.AddMinutes(20), FindingState.Open)],
            reopened.History.Select(h => (h.At, h.State)));
        Assert.Equal((CheckOutcome.Warn, T0), (reopened.LastOutcome, reopened.OpenedAt));
        Assert.All(reopened.History, h => Assert.Equal(FindingLifecycle.Auditor, h.By));
    }

    [Fact]
    public void A_waiver_holds_through_failures_until_it_expires_then_the_finding_is_open_again()
    {
        var opened = FindingLifecycle.Apply(null, Check(CheckOutcome.Fail, T0))!;
        var waived = FindingLifecycle.Waive(opened, "  vendor patch next week ", T0.AddDays(7), "ops-key-1", T0.AddHours(1));

        var failing = FindingLifecycle.Apply(waived, Check(CheckOutcome.Fail, T0.AddDays(6)))!;
        Assert.Equal((FindingState.Waived, T0.AddDays(7)), (failing.State, failing.WaivedUntil));

        var expired = FindingLifecycle.Apply(failing, Check(CheckOutcome.Fail, T0.AddDays(8)))!;
        Assert.Equal(FindingState.Open, expired.State);
        Assert.Null(expired.WaivedUntil);
        Assert.Equal(
            [(T0, FindingState.Open, "Fail at 12:00", "compliance"), (T0.AddHours(1), FindingState.Waived, "vendor patch next week", "ops-key-1"),
             (T0.AddDays(7), FindingState.Open, "the waiver expired", "compliance")],
            expired.History.Select(h => (h.At, h.State, h.Reason, h.By)));
    }

    [Fact]
    public void Only_an_open_finding_is_waived_with_a_reason_and_an_expiry_within_a_year()
    {
        var opened = FindingLifecycle.Apply(null, Check(CheckOutcome.Fail, T0))!;
        var resolved = FindingLifecycle.Apply(opened, Check(CheckOutcome.Pass, T0.AddMinutes(1)))!;

        Assert.Equal("reason", Assert.Throws<MeshException>(() => FindingLifecycle.Waive(opened, " ", T0.AddDays(1), "k", T0)).Field);
        Assert.Equal("until", Assert.Throws<MeshException>(() => FindingLifecycle.Waive(opened, "r", T0, "k", T0)).Field);
        Assert.Equal("until", Assert.Throws<MeshException>(() => FindingLifecycle.Waive(opened, "r", T0.AddDays(366), "k", T0)).Field);
        Assert.Equal(MeshErrorCode.FailedPrecondition, Assert.Throws<MeshException>(() => FindingLifecycle.Waive(resolved, "r", T0.AddDays(1), "k", T0)).Code);
    }

    [Fact]
    public void A_long_lived_finding_keeps_its_opening_and_the_latest_changes()
    {
        var finding = FindingLifecycle.Apply(null, Check(CheckOutcome.Fail, T0))!;
        for (var i = 1; i <= 200; i++)
        {
            finding = FindingLifecycle.Apply(finding, Check(i % 2 == 0 ? CheckOutcome.Fail : CheckOutcome.Pass, T0.AddMinutes(i)))!;
        }

        Assert.Equal(FindingLifecycle.MaxHistory, finding.History.Length);
        Assert.Equal(T0, finding.OpenedAt);
        Assert.Equal(T0.AddMinutes(200), finding.History[^1].At);
    }

    [Fact]
    public void The_score_weighs_checks_by_severity_leaves_out_skips_and_waivers_and_counts_warnings_as_passed()
    {
        CheckResult[] checks =
        [
            Check(CheckOutcome.Pass, T0, PolicySeverity.Critical, "a"), // 8
            Check(CheckOutcome.Warn, T0, PolicySeverity.Low, "b"), // 1
            Check(CheckOutcome.Fail, T0, PolicySeverity.Medium, "c"), // 2 against
            Check(CheckOutcome.Error, T0, PolicySeverity.Low, "d"), // 1 against
            Check(CheckOutcome.Skip, T0, PolicySeverity.Critical, "e"),
            Check(CheckOutcome.Fail, T0, PolicySeverity.Critical, "f"), // waived
        ];

        var score = ComplianceScoring.Score(checks, c => c.Subject == "f");

        Assert.Equal(new ComplianceScore(75m, Passed: 1, Failed: 1, Warned: 1, Errored: 1, Skipped: 1, Waived: 1), score);
        Assert.False(score.MeetsTarget);
        Assert.Equal(100m, ComplianceScoring.Score([Check(CheckOutcome.Skip, T0)], _ => false).Percent);
        Assert.True(ComplianceScoring.Score(
            [.. Enumerable.Range(0, 19).Select(i => Check(CheckOutcome.Pass, T0, subject: $"s{i}")), Check(CheckOutcome.Fail, T0)], _ => false).MeetsTarget);
    }

    [Fact]
    public void An_enforcing_policy_that_fails_refuses_the_action_naming_it_and_audit_policies_only_record()
    {
        var residency = PolicyCatalog.Defaults.Single(p => p.Rule == PolicyRules.DataResidency);
        CompliancePolicy[] policies =
        [
            residency with { Id = "eu-only", Mode = PolicyMode.Audit },
            residency with { Id = "gpu-eu", Scope = PolicyScope.Pool("acme/gpu") },
            residency with { Id = "other-tenant", Scope = PolicyScope.Tenant("globex") },
            residency with { Id = "off", Enabled = false },
        ];
        CheckResult Run(CompliancePolicy p) =>
            ComplianceRules.Residency(p, "job/j", "acme", ["eu-west"], "a-9", "us-east", T0);

        var inCpuPool = PolicyEnforcement.Decide(policies, PolicyRules.DataResidency, "acme", "acme", Run);
        Assert.True(inCpuPool.Allowed);
        Assert.Equal(["eu-only"], inCpuPool.Checks.Select(c => c.PolicyId));

        var inGpuPool = PolicyEnforcement.Decide(policies, PolicyRules.DataResidency, "acme", "acme/gpu", Run);
        Assert.False(inGpuPool.Allowed);
        Assert.Equal(["eu-only", "gpu-eu"], inGpuPool.Checks.Select(c => c.PolicyId));
        var refusal = inGpuPool.Refusal();
        Assert.Equal(MeshErrorCode.FailedPrecondition, refusal.Code);
        Assert.Equal("Refused by policy 'gpu-eu' (enforce): Agent a-9 is in region 'us-east'; tenant acme allows only eu-west.", refusal.Message);

        Assert.True(PolicyEnforcement.Decide(policies, PolicyRules.DataClassification, "acme", "acme/gpu", Run).Allowed);
    }
}
