using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Tests.Unit.Compliance;

/// <summary>
/// Residency and classification where a job's data moves: at lease (the agent's region and certifications) and at
/// submit (the job's data classes against its tenant's), in audit and enforce modes, by tenant and pool scope.
/// </summary>
public sealed class DataPlacementTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TenantDataRules EuOnly = new(["eu"], []);

    private static CompliancePolicy Policy(string id, string rule, PolicyMode mode, PolicyScope? scope = null, bool enabled = true) =>
        new(id, rule, mode, rule == PolicyRules.DataResidency ? PolicySeverity.Critical : PolicySeverity.High, scope ?? PolicyScope.Mesh,
            ImmutableDictionary<string, string>.Empty, enabled);

    private static PolicySet Set(params CompliancePolicy[] policies) => new(1, [.. policies], []);

    private static PolicySet Defaults(PolicyMode residency = PolicyMode.Enforce, PolicyMode classification = PolicyMode.Enforce) => Set(
        Policy("residency", PolicyRules.DataResidency, residency),
        Policy("classification", PolicyRules.DataClassification, classification));

    private static AgentFacts Agent(string id, string region, params string[] certifications) => new(id, "platform", "platform", "1.0", region, [.. certifications]);

    [Fact]
    public void Nothing_applies_at_lease_when_the_tenant_allows_every_region_and_the_job_carries_no_data_class()
    {
        Assert.False(DataPlacement.AppliesAtLease(TenantDataRules.Unrestricted, []));
        Assert.False(DataPlacement.AppliesAtLease(TenantDataRules.Unrestricted, default));
        Assert.False(DataPlacement.AppliesAtLease(new TenantDataRules([], ["pii"]), [])); // allowed classes matter at submit only
        Assert.True(DataPlacement.AppliesAtLease(EuOnly, []));
        Assert.True(DataPlacement.AppliesAtLease(TenantDataRules.Unrestricted, ["pii"]));
    }

    [Fact]
    public void Enforced_residency_refuses_an_agent_outside_the_tenants_regions_and_names_the_policy()
    {
        var us = DataPlacement.AtLease(Defaults(), "t", "platform", EuOnly, [], Agent("us-agent", "us"), Now);
        var eu = DataPlacement.AtLease(Defaults(), "t", "platform", EuOnly, [], Agent("eu-agent", "eu"), Now);

        Assert.False(us.Allowed);
        Assert.Equal(("residency", CheckOutcome.Fail, "tenant/t/agent/us-agent", "t"),
            (us.RefusedBy!.PolicyId, us.RefusedBy.Outcome, us.RefusedBy.Subject, us.RefusedBy.TenantId));
        Assert.Equal("Refused by policy 'residency' (enforce): Agent us-agent is in region 'us'; tenant t allows only eu.", us.Refusal().Message);
        Assert.Equal(MeshErrorCode.FailedPrecondition, us.Refusal().Code);

        Assert.True(eu.Allowed);
        Assert.Equal([("residency", CheckOutcome.Pass), ("classification", CheckOutcome.Skip)],
            eu.Checks.Select(c => (c.PolicyId, c.Outcome)));
    }

    [Fact]
    public void Audited_residency_lets_the_lease_through_with_the_failed_check()
    {
        var decision = DataPlacement.AtLease(Defaults(residency: PolicyMode.Audit), "t", "platform", EuOnly, [], Agent("us-agent", "us"), Now);

        Assert.True(decision.Allowed);
        var fail = Assert.Single(decision.Checks, c => c.Outcome != CheckOutcome.Skip);
        Assert.Equal(new CheckResult("residency", PolicySeverity.Critical, "tenant/t/agent/us-agent", "t", CheckOutcome.Fail,
            "Agent us-agent is in region 'us'; tenant t allows only eu.", Now), fail);
    }

    [Fact]
    public void Classification_at_lease_needs_a_certification_for_every_data_class_of_the_job()
    {
        var uncertified = DataPlacement.AtLease(Defaults(), "t", "platform", TenantDataRules.Unrestricted, ["phi", "pii"], Agent("a", "us", "pii"), Now);
        var certified = DataPlacement.AtLease(Defaults(), "t", "platform", TenantDataRules.Unrestricted, ["phi", "pii"], Agent("b", "us", "phi", "pii"), Now);

        Assert.Equal(("classification", "Agent a is not certified for phi."), (uncertified.RefusedBy!.PolicyId, uncertified.RefusedBy.Message));
        Assert.True(certified.Allowed);
        Assert.Equal([CheckOutcome.Skip, CheckOutcome.Pass], certified.Checks.Select(c => c.Outcome));
    }

    [Fact]
    public void Residency_is_named_first_when_both_rules_refuse()
    {
        var decision = DataPlacement.AtLease(Defaults(), "t", "platform", EuOnly, ["pii"], Agent("a", "us"), Now);

        Assert.Equal("residency", decision.RefusedBy!.PolicyId);
        Assert.Equal([CheckOutcome.Fail, CheckOutcome.Fail], decision.Checks.Select(c => c.Outcome));
    }

    [Fact]
    public void Policies_apply_only_to_the_tenants_and_pools_they_cover_and_only_while_enabled()
    {
        var policies = Set(
            Policy("residency-acme", PolicyRules.DataResidency, PolicyMode.Enforce, PolicyScope.Tenant("acme")),
            Policy("residency-gpu", PolicyRules.DataResidency, PolicyMode.Audit, PolicyScope.Pool("gpu")),
            Policy("residency-off", PolicyRules.DataResidency, PolicyMode.Enforce, enabled: false));
        var us = Agent("us-agent", "us");

        Assert.Equal("residency-acme", DataPlacement.AtLease(policies, "acme", "platform", EuOnly, [], us, Now).RefusedBy?.PolicyId);
        var other = DataPlacement.AtLease(policies, "globex", "platform", EuOnly, [], us, Now);
        Assert.True(other.Allowed);
        Assert.Empty(other.Checks);
        var inGpu = DataPlacement.AtLease(policies, "globex", "gpu", EuOnly, [], us, Now);
        Assert.True(inGpu.Allowed);
        Assert.Equal([("residency-gpu", CheckOutcome.Fail)], inGpu.Checks.Select(c => (c.PolicyId, c.Outcome)));
    }

    [Fact]
    public void At_submit_an_enforcing_classification_policy_refuses_a_class_the_tenant_does_not_allow()
    {
        var jobId = Guid.Parse("0193a0b0-0000-7000-8000-000000000001");
        var tenant = new TenantDataRules([], ["internal", "pii"]);

        var refused = DataPlacement.AtSubmit(Defaults(), "t", "platform", jobId, tenant, ["phi", "pii"], Now);
        var allowed = DataPlacement.AtSubmit(Defaults(), "t", "platform", jobId, tenant, ["pii"], Now);

        Assert.Equal($"Refused by policy 'classification' (enforce): The job carries data class(es) phi; tenant t allows only internal, pii.",
            refused.Refusal().Message);
        Assert.Equal($"tenant/t/job/{jobId}", refused.RefusedBy!.Subject);
        Assert.True(allowed.Allowed);
        Assert.Equal(CheckOutcome.Pass, Assert.Single(allowed.Checks).Outcome);
    }

    [Fact]
    public void At_submit_an_auditing_policy_accepts_with_the_failed_check_and_an_unrestricted_tenant_skips()
    {
        var jobId = Guid.NewGuid();
        var audited = DataPlacement.AtSubmit(Defaults(classification: PolicyMode.Audit), "t", "platform", jobId, new([], ["pii"]), ["phi"], Now);
        var unrestricted = DataPlacement.AtSubmit(Defaults(), "t", "platform", jobId, TenantDataRules.Unrestricted, ["phi"], Now);

        Assert.True(audited.Allowed);
        Assert.Equal(CheckOutcome.Fail, Assert.Single(audited.Checks).Outcome);
        Assert.True(unrestricted.Allowed);
        Assert.Equal(CheckOutcome.Skip, Assert.Single(unrestricted.Checks).Outcome);
        Assert.False(DataPlacement.AppliesAtSubmit(TenantDataRules.Unrestricted, ["phi"]));
        Assert.False(DataPlacement.AppliesAtSubmit(new([], ["pii"]), []));
    }

    [Fact]
    public void Tags_are_kept_distinct_and_ordered_and_a_bad_one_is_refused_naming_the_field()
    {
        Assert.Equal(new[] { "eu", "eu-west" }, ComplianceTags.Normalize("allowedRegions", ["eu-west", "eu", "eu"]));
        Assert.Empty(ComplianceTags.Normalize("allowedRegions", null));
        Assert.Empty(ComplianceTags.Normalize("allowedRegions", default(ImmutableArray<string>)));

        foreach (var bad in new[] { "EU", "", "eu west", "pii!", new string('a', 33) })
        {
            var refused = Assert.Throws<MeshException>(() => ComplianceTags.Normalize("dataClasses", [bad]));
            Assert.Equal((MeshErrorCode.InvalidArgument, "dataClasses"), (refused.Code, refused.Field));
        }

        var tooMany = Assert.Throws<MeshException>(() => ComplianceTags.Normalize("certifications", Enumerable.Range(0, 9).Select(i => $"c{i}")));
        Assert.Equal("certifications: at most 8 names (9 given).", tooMany.Message);
        Assert.Equal(8, ComplianceTags.Normalize("certifications", Enumerable.Range(0, 8).Select(i => $"c{i}")).Length);
        Assert.True(ComplianceTags.IsValid(new string('a', 32)));
    }
}
