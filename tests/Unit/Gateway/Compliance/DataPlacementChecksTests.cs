using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Compliance;
using MeshOs.Gateway.Tenants;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Compliance;

/// <summary>
/// The gateway's residency and classification checks around the pure decisions: what they read (nothing for a tenant
/// that restricts nothing), what they report (audit failures and passes, once a minute per policy, tenant and agent)
/// and what they refuse.
/// </summary>
public sealed class DataPlacementChecksTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, TenantInfo> _tenants = new(StringComparer.Ordinal);
    private readonly List<string> _tenantReads = [];
    private readonly List<CheckResult> _reported = [];
    private PolicySet _policies = Policies(PolicyMode.Enforce, PolicyMode.Enforce);
    private int _policyReads;
    private bool _policiesUnreadable;
    private readonly DataPlacementChecks _checks;

    public DataPlacementChecksTests()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new GatewaySecurityOptions());
        var cache = new TenantDataRulesCache(id =>
        {
            _tenantReads.Add(id);
            return Task.FromResult(_tenants.GetValueOrDefault(id));
        }, options, _time);
        _checks = new DataPlacementChecks(cache, () =>
        {
            _policyReads++;
            return _policiesUnreadable
                ? throw new MeshException("The compliance policies cannot be read now.") { Code = MeshErrorCode.Unavailable }
                : ValueTask.FromResult(_policies);
        }, _reported.Add, Microsoft.Extensions.Options.Options.Create(new GatewayComplianceOptions()), _time);
        Tenant("free");
        Tenant("t", regions: ["eu"], classes: ["pii"]);
    }

    private static PolicySet Policies(PolicyMode residency, PolicyMode classification) => new(1,
    [
        new("residency", PolicyRules.DataResidency, residency, PolicySeverity.Critical, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
        new("classification", PolicyRules.DataClassification, classification, PolicySeverity.High, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty),
    ], []);

    private void Tenant(string id, ImmutableArray<string> regions = default, ImmutableArray<string> classes = default) =>
        _tenants[id] = new TenantInfo(id, id, TenantKind.Customer, TenantQuotas.Default, ["platform"], false, _time.GetUtcNow(), _time.GetUtcNow(), [],
            regions.IsDefault ? [] : regions, classes.IsDefault ? [] : classes);

    private static AgentRegistration Agent(string id, string region, params string[] certifications) =>
        new(id, "platform", "platform", ["llm"], 4, "1.0", region, 0m, null, [.. certifications]);

    private static JobSpec Spec(params string[] classes) =>
        new("t", "llm", "platform", "{}", 5, TimeSpan.FromMinutes(1), RetryPolicy.Default, null, [.. classes]);

    [Fact]
    public async Task A_job_of_a_tenant_without_restrictions_and_without_data_classes_reads_no_policy_and_its_tenant_once()
    {
        Assert.Null(await _checks.ForLeaseAsync("free", "platform", []));
        Assert.Null(await _checks.ForLeaseAsync("free", "platform", default));
        await _checks.CheckSubmitAsync("free", Guid.NewGuid(), Spec("pii"));
        await _checks.CheckSubmitAsync("t", Guid.NewGuid(), Spec());

        Assert.Equal(0, _policyReads);
        Assert.Equal(["free"], _tenantReads);
        Assert.Empty(_reported);
    }

    [Fact]
    public async Task Enforced_residency_refuses_the_agent_outside_the_tenants_regions_and_reports_the_pass_of_the_one_inside_once_a_minute()
    {
        var rule = (await _checks.ForLeaseAsync("t", "platform", []))!;

        Assert.False(rule.Allows(Agent("us-agent", "us")));
        Assert.True(rule.Allows(Agent("eu-agent", "eu")));
        Assert.Equal(("residency", "tenant/t/agent/us-agent"), (rule.Refusal!.PolicyId, rule.Refusal.Subject));
        rule.Leased(Agent("eu-agent", "eu"));
        Assert.Equal([("residency", "tenant/t/agent/eu-agent", CheckOutcome.Pass)], _reported.Select(c => (c.PolicyId, c.Subject, c.Outcome)));

        _time.Advance(TimeSpan.FromSeconds(59));
        (await _checks.ForLeaseAsync("t", "platform", []))!.Leased(Agent("eu-agent", "eu"));
        Assert.Single(_reported);

        _time.Advance(TimeSpan.FromSeconds(1));
        (await _checks.ForLeaseAsync("t", "platform", []))!.Leased(Agent("eu-agent", "eu"));
        Assert.Equal(2, _reported.Count);
    }

    [Fact]
    public async Task Audited_residency_lets_the_agent_outside_lease_and_reports_the_failure_at_once_when_the_outcome_changes()
    {
        _policies = Policies(PolicyMode.Audit, PolicyMode.Enforce);
        var us = Agent("us-agent", "us");
        var rule = (await _checks.ForLeaseAsync("t", "platform", []))!;
        Assert.True(rule.Allows(us));
        rule.Leased(us);
        var fail = Assert.Single(_reported);
        Assert.Equal(("residency", "tenant/t/agent/us-agent", "t", CheckOutcome.Fail), (fail.PolicyId, fail.Subject, fail.TenantId, fail.Outcome));

        // The tenant now allows us as well (changed through this gateway): the pass is reported at once.
        Tenant("t", regions: ["eu", "us"]);
        _time.Advance(TimeSpan.FromSeconds(5)); // past the tenant cache
        (await _checks.ForLeaseAsync("t", "platform", []))!.Leased(us);
        Assert.Equal([CheckOutcome.Fail, CheckOutcome.Pass], _reported.Select(c => c.Outcome));
    }

    [Fact]
    public async Task Classification_at_lease_refuses_an_agent_not_certified_for_each_data_class()
    {
        var rule = (await _checks.ForLeaseAsync("free", "platform", ["phi", "pii"]))!;

        Assert.False(rule.Allows(Agent("a", "us", "pii")));
        Assert.True(rule.Allows(Agent("b", "us", "phi", "pii")));
        Assert.Equal(("classification", "Agent a is not certified for phi."), (rule.Refusal!.PolicyId, rule.Refusal.Message));
    }

    [Fact]
    public async Task A_lease_is_not_checked_blind_when_the_policies_cannot_be_read()
    {
        _policiesUnreadable = true;

        var refused = await Assert.ThrowsAsync<MeshException>(async () => await _checks.ForLeaseAsync("t", "platform", []));
        Assert.Equal(MeshErrorCode.Unavailable, refused.Code);
    }

    [Fact]
    public async Task A_submit_with_a_class_the_tenant_does_not_allow_is_refused_naming_the_policy_when_it_enforces_and_reported_when_it_audits()
    {
        var jobId = Guid.NewGuid();
        var refused = await Assert.ThrowsAsync<MeshException>(async () => await _checks.CheckSubmitAsync("t", jobId, Spec("phi", "pii")));
        Assert.Equal(MeshErrorCode.FailedPrecondition, refused.Code);
        Assert.Equal("Refused by policy 'classification' (enforce): The job carries data class(es) phi; tenant t allows only pii.", refused.Message);
        Assert.Empty(_reported);

        _policies = Policies(PolicyMode.Enforce, PolicyMode.Audit);
        await _checks.CheckSubmitAsync("t", jobId, Spec("phi", "pii"));
        var fail = Assert.Single(_reported);
        Assert.Equal(("classification", $"tenant/t/job/{jobId}", CheckOutcome.Fail), (fail.PolicyId, fail.Subject, fail.Outcome));

        await _checks.CheckSubmitAsync("t", jobId, Spec("pii"));
        Assert.Equal(CheckOutcome.Pass, _reported[^1].Outcome);
    }
}
