using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Grains.Compliance;

namespace MeshOs.Tests.Unit.Compliance;

/// <summary>The built-in rules as pure checks: facts and a clock in, an exact outcome and message out.</summary>
public sealed class ComplianceRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static CompliancePolicy Policy(string rule, PolicyMode mode = PolicyMode.Audit, PolicySeverity severity = PolicySeverity.High,
        ImmutableDictionary<string, string>? settings = null) =>
        new("p-" + rule, rule, mode, severity, PolicyScope.Mesh, settings ?? ImmutableDictionary<string, string>.Empty);

    private static AgentFacts Agent(string version = "1.0.0", string region = "eu-west", params string[] certifications) =>
        new("a-1", "acme", "acme", version, region, [.. certifications]);

    [Theory]
    [InlineData("10.0", 24)]
    [InlineData("9.0", 24)]
    [InlineData("8.9", 7 * 24)]
    [InlineData("7.0", 7 * 24)]
    [InlineData("6.9", 30 * 24)]
    [InlineData("4.0", 30 * 24)]
    public void The_patch_window_follows_the_cvss_band(string cvss, int hours) =>
        Assert.Equal(TimeSpan.FromHours(hours), VulnerabilityWindows.For(decimal.Parse(cvss, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void A_low_score_waits_for_the_next_release_and_a_score_outside_0_to_10_is_refused()
    {
        Assert.Null(VulnerabilityWindows.For(3.9m));
        Assert.Null(VulnerabilityWindows.For(0m));
        Assert.Throws<ArgumentOutOfRangeException>(() => VulnerabilityWindows.For(10.1m));
        Assert.Throws<ArgumentOutOfRangeException>(() => VulnerabilityWindows.For(-0.1m));
    }

    [Theory]
    [InlineData("1.2.3", "1.2.4", -1)]
    [InlineData("1.10.0", "1.9.9", 1)]
    [InlineData("v2.0", "2.0.0", 0)]
    [InlineData("2.0.0-rc1", "2.0.0", -1)]
    [InlineData("2.0.0-rc1", "2.0.0-rc2", -1)]
    [InlineData("2.0.0-rc1", "1.9.9", 1)]
    [InlineData("banana", "99.0", 1)] // not orderable: never taken for a patched version
    [InlineData("1.0.", "1.0.0", 1)]
    public void Versions_order_by_their_numbers_with_pre_releases_first(string x, string y, int sign)
    {
        Assert.Equal(sign, Math.Sign(AgentVersionComparer.Instance.Compare(x, y)));
        Assert.Equal(-sign, Math.Sign(AgentVersionComparer.Instance.Compare(y, x)));
    }

    [Fact]
    public void Residency_passes_in_an_allowed_region_whatever_its_case_fails_outside_and_skips_when_unrestricted()
    {
        var policy = Policy(PolicyRules.DataResidency);

        var pass = ComplianceRules.Residency(policy, "job/j1", "acme", ["eu-west", "eu-central"], "a-1", "EU-West", Now);
        var fail = ComplianceRules.Residency(policy, "job/j1", "acme", ["eu-west", "eu-central"], "a-2", "us-east", Now);
        var skip = ComplianceRules.Residency(policy, "job/j1", "acme", [], "a-2", "us-east", Now);

        Assert.Equal(CheckOutcome.Pass, pass.Outcome);
        Assert.Equal(CheckOutcome.Fail, fail.Outcome);
        Assert.Equal("Agent a-2 is in region 'us-east'; tenant acme allows only eu-west, eu-central.", fail.Message);
        Assert.Equal(("p-data-residency", PolicySeverity.High, "job/j1", "acme", Now), (fail.PolicyId, fail.Severity, fail.Subject, fail.TenantId, fail.CheckedAt));
        Assert.Equal(CheckOutcome.Skip, skip.Outcome);
    }

    [Fact]
    public void Classification_needs_every_class_of_the_job_among_the_agents_certifications()
    {
        var policy = Policy(PolicyRules.DataClassification);

        Assert.Equal(CheckOutcome.Skip, ComplianceRules.Classification(policy, "job/j", "acme", [], Agent(), Now).Outcome);
        Assert.Equal(CheckOutcome.Pass, ComplianceRules.Classification(policy, "job/j", "acme", ["pii"], Agent("1.0", "eu", "pii", "pci"), Now).Outcome);
        var fail = ComplianceRules.Classification(policy, "job/j", "acme", ["pii", "phi", "pci"], Agent("1.0", "eu", "pci"), Now);
        Assert.Equal(CheckOutcome.Fail, fail.Outcome);
        Assert.Equal("Agent a-1 is not certified for phi, pii.", fail.Message);
    }

    [Fact]
    public void A_version_no_advisory_affects_passes()
    {
        VulnerabilityAdvisory[] advisories = [new("ADV-1", 9.8m, "1.0.0", "1.2.0", Now.AddDays(-10), null)];

        Assert.Equal(CheckOutcome.Pass, ComplianceRules.AgentVersion(Policy(PolicyRules.AgentVersion), Agent("1.2.0"), advisories, Now).Outcome);
        Assert.Equal(CheckOutcome.Pass, ComplianceRules.AgentVersion(Policy(PolicyRules.AgentVersion), Agent("0.9.9"), advisories, Now).Outcome);
    }

    [Fact]
    public void An_affected_version_warns_until_the_cvss_deadline_then_fails()
    {
        var published = Now.AddDays(-3);
        VulnerabilityAdvisory[] advisories =
        [
            new("ADV-HIGH", 7.5m, null, "1.5.0", published, null), // due published + 7 days
            new("ADV-LOW", 2.0m, null, "1.5.0", published, null), // the next release
        ];
        var policy = Policy(PolicyRules.AgentVersion);

        var warn = ComplianceRules.AgentVersion(policy, Agent("1.4.9"), advisories, Now);
        Assert.Equal(CheckOutcome.Warn, warn.Outcome);
        Assert.Equal(published.AddDays(7), warn.DueAt);
        Assert.Equal("agent/a-1", warn.Subject);
        Assert.Equal("acme", warn.TenantId);

        var overdue = ComplianceRules.AgentVersion(policy, Agent("1.4.9"), advisories, published.AddDays(7));
        Assert.Equal(CheckOutcome.Fail, overdue.Outcome);
        Assert.Equal("Agent a-1 runs 1.4.9, past the patch deadline of ADV-HIGH (CVSS 7.5, high, fixed in 1.5.0, due 2026-12-11 12:00 UTC).", overdue.Message);

        var lowOnly = ComplianceRules.AgentVersion(policy, Agent("1.4.9"), [advisories[1]], Now.AddYears(1));
        Assert.Equal(CheckOutcome.Warn, lowOnly.Outcome);
        Assert.Null(lowOnly.DueAt);
    }

    [Fact]
    public void A_version_that_cannot_be_ordered_is_an_error_not_a_pass()
    {
        var result = ComplianceRules.AgentVersion(Policy(PolicyRules.AgentVersion), Agent("latest"), [], Now);

        Assert.Equal(CheckOutcome.Error, result.Outcome);
    }

    [Fact]
    public void Key_hygiene_fails_idle_and_unrotated_keys_and_warns_full_keys_used_narrowly()
    {
        var policy = Policy(PolicyRules.KeyHygiene);
        OperatorKeyFacts Key(OperatorScope scope, int ageDays, int? idleDays, params OperatorScope[] used) =>
            new("k1", scope, Now.AddDays(-ageDays), idleDays is { } d ? Now.AddDays(-d) : null, [.. used]);

        Assert.Equal(CheckOutcome.Pass, ComplianceRules.KeyHygiene(policy, Key(OperatorScope.IncidentResponder, 30, 1, OperatorScope.IncidentResponder), Now).Outcome);
        var neverUsed = ComplianceRules.KeyHygiene(policy, Key(OperatorScope.ReadOnly, 91, null), Now);
        Assert.Equal(CheckOutcome.Fail, neverUsed.Outcome);
        Assert.Equal("Operator key k1 is never used in the 91 days since it was issued; issued 91 days ago, past the 90-day rotation.", neverUsed.Message);
        var yearly = policy with { Settings = ImmutableDictionary<string, string>.Empty.Add(ComplianceRules.RotationDays, "365") };
        var idle = ComplianceRules.KeyHygiene(yearly, Key(OperatorScope.ReadOnly, 200, 91), Now);
        Assert.Equal(CheckOutcome.Fail, idle.Outcome);
        Assert.Equal("Operator key k1 is unused for 91 days (limit 90).", idle.Message);
        var narrow = ComplianceRules.KeyHygiene(policy, Key(OperatorScope.Full, 10, 1, OperatorScope.ReadOnly, OperatorScope.ReleaseManager), Now);
        Assert.Equal(CheckOutcome.Warn, narrow.Outcome);
        Assert.Equal("Operator key k1 has full access, but its calls needed only 'release-manager': issue a narrower key.", narrow.Message);
        Assert.Equal(CheckOutcome.Pass, ComplianceRules.KeyHygiene(policy,
            Key(OperatorScope.Full, 10, 1, OperatorScope.ReleaseManager, OperatorScope.TenantAdmin), Now).Outcome);

        var lenient = policy with { Settings = ImmutableDictionary<string, string>.Empty.Add(ComplianceRules.RotationDays, "365").Add(ComplianceRules.MaxUnusedDays, "120") };
        Assert.Equal(CheckOutcome.Pass, ComplianceRules.KeyHygiene(lenient, Key(OperatorScope.ReadOnly, 100, 100), Now).Outcome);
    }

    [Fact]
    public void Scopes_allow_reading_to_all_and_everything_to_full_only()
    {
        Assert.True(OperatorScopes.Allows(OperatorScope.ReleaseManager, OperatorScope.ReadOnly));
        Assert.True(OperatorScopes.Allows(OperatorScope.ReleaseManager, OperatorScope.ReleaseManager));
        Assert.False(OperatorScopes.Allows(OperatorScope.ReleaseManager, OperatorScope.TenantAdmin));
        Assert.False(OperatorScopes.Allows(OperatorScope.ReadOnly, OperatorScope.IncidentResponder));
        Assert.True(OperatorScopes.Allows(OperatorScope.Full, OperatorScope.TenantAdmin));
        Assert.All(Enum.GetValues<OperatorScope>(), s => Assert.True(OperatorScopes.TryParse(OperatorScopes.Name(s), out var back) && back == s));
        Assert.False(OperatorScopes.TryParse("admin", out _));
    }

    [Fact]
    public void The_default_policies_are_valid_and_bad_ones_are_refused_naming_the_field()
    {
        Assert.All(PolicyCatalog.Defaults, PolicyCatalog.Validate);
        var good = PolicyCatalog.Defaults.Single(p => p.Rule == PolicyRules.KeyHygiene);

        Assert.Equal("id", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Id = "Bad_Id" })).Field);
        Assert.Equal("rule", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Rule = "nope" })).Field);
        Assert.Equal("scope", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Scope = new PolicyScope("tenant", null) })).Field);
        Assert.Equal("scope", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Scope = new PolicyScope("mesh", "x") })).Field);
        Assert.Equal("settings", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Settings = good.Settings.Add("maxUnusedDay", "3") })).Field);
        Assert.Equal("settings", Assert.Throws<MeshException>(() => PolicyCatalog.Validate(good with { Settings = good.Settings.SetItem(ComplianceRules.RotationDays, "0") })).Field);
        PolicyCatalog.Validate(good with { Scope = PolicyScope.Pool("acme/gpu") });
    }
}
