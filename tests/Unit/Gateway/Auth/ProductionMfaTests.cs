using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Auth;

public sealed class ProductionMfaTests
{
    private const string Action = "POST /v1/tenants";

    private readonly DateTimeOffset _now = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 18, 0, 0, TimeSpan.Zero)).GetUtcNow();

    private static CompliancePolicy Mfa(string id, PolicyMode mode, PolicySeverity severity = PolicySeverity.Critical, PolicyScope? scope = null, bool enabled = true) =>
        new(id, PolicyRules.ProductionMfa, mode, severity, scope ?? PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty, enabled);

    private static PolicySet Set(params CompliancePolicy[] policies) => new(1, [.. policies], []);

    [Theory]
    [InlineData(OperatorScope.ReadOnly, false)]
    [InlineData(OperatorScope.IncidentResponder, true)]
    [InlineData(OperatorScope.ReleaseManager, true)]
    [InlineData(OperatorScope.TenantAdmin, true)]
    [InlineData(OperatorScope.Full, true)]
    public void A_production_action_is_an_operator_call_that_needs_more_than_read_only(OperatorScope needed, bool production) =>
        Assert.Equal(production, ProductionMfa.IsProductionAction(needed));

    [Theory]
    [InlineData(TotpOutcome.Missing, "without a second factor (no X-MeshOs-Otp code).")]
    [InlineData(TotpOutcome.Wrong, "with an X-MeshOs-Otp code that is not the key's current TOTP code.")]
    [InlineData(TotpOutcome.Replayed, "with an X-MeshOs-Otp code that was already used (one code per call: wait for the next).")]
    [InlineData(TotpOutcome.NotEnrolled, "but the key has no TOTP enabled (enrol with POST /v1/operator-keys/{id}/mfa).")]
    public void In_enforce_mode_a_call_without_a_valid_code_is_refused_with_permission_denied_naming_the_policy(TotpOutcome factor, string why)
    {
        var decision = ProductionMfa.Decide(Set(Mfa("production-mfa", PolicyMode.Enforce)), "0123456789ab", Action, factor, _now);

        var check = new CheckResult("production-mfa", PolicySeverity.Critical, "operator-key/0123456789ab", null, CheckOutcome.Fail,
            $"Production action POST /v1/tenants by operator key '0123456789ab' {why}", _now);
        Assert.Equal([check], decision.Checks.ToArray());
        Assert.Equal(check, decision.RefusedBy);
        Assert.False(decision.Allowed);
        var refusal = decision.Refusal();
        Assert.Equal(MeshErrorCode.PermissionDenied, refusal.Code);
        Assert.Equal($"Refused by policy 'production-mfa' (enforce): Production action POST /v1/tenants by operator key '0123456789ab' {why}", refusal.Message);
    }

    [Fact]
    public void In_audit_mode_a_call_without_a_valid_code_goes_ahead_with_a_failed_check_of_the_policys_severity()
    {
        var decision = ProductionMfa.Decide(Set(Mfa("production-mfa", PolicyMode.Audit, PolicySeverity.High)), "operator", Action, TotpOutcome.Missing, _now);

        Assert.True(decision.Allowed);
        var check = Assert.Single(decision.Checks);
        Assert.Equal(("production-mfa", PolicySeverity.High, "operator-key/operator", CheckOutcome.Fail), (check.PolicyId, check.Severity, check.Subject, check.Outcome));
        Assert.Throws<InvalidOperationException>(() => decision.Refusal());
    }

    [Theory]
    [InlineData(PolicyMode.Audit)]
    [InlineData(PolicyMode.Enforce)]
    public void A_valid_code_passes_in_either_mode(PolicyMode mode)
    {
        var decision = ProductionMfa.Decide(Set(Mfa("production-mfa", mode)), "0123456789ab", Action, TotpOutcome.Accepted, _now);

        Assert.True(decision.Allowed);
        Assert.Equal(
            new CheckResult("production-mfa", PolicySeverity.Critical, "operator-key/0123456789ab", null, CheckOutcome.Pass,
                "Production action POST /v1/tenants by operator key '0123456789ab' with a valid TOTP code.", _now),
            Assert.Single(decision.Checks));
    }

    [Fact]
    public void Only_enabled_mesh_wide_production_mfa_policies_apply_each_checked_in_id_order_and_the_first_enforcing_one_refuses()
    {
        var set = Set(
            Mfa("z-enforce", PolicyMode.Enforce),
            Mfa("a-audit", PolicyMode.Audit, PolicySeverity.Medium),
            Mfa("m-enforce", PolicyMode.Enforce),
            Mfa("off", PolicyMode.Enforce, enabled: false),
            Mfa("tenant-only", PolicyMode.Enforce, scope: PolicyScope.Tenant("acme")),
            Mfa("pool-only", PolicyMode.Enforce, scope: PolicyScope.Pool("gpu")),
            new CompliancePolicy("hygiene", PolicyRules.KeyHygiene, PolicyMode.Enforce, PolicySeverity.High, PolicyScope.Mesh, ImmutableDictionary<string, string>.Empty));

        var decision = ProductionMfa.Decide(set, "0123456789ab", Action, TotpOutcome.Missing, _now);

        Assert.Equal(["a-audit", "m-enforce", "z-enforce"], decision.Checks.Select(c => c.PolicyId).ToArray());
        Assert.Equal("m-enforce", decision.RefusedBy?.PolicyId);
    }

    [Fact]
    public void With_no_production_mfa_policy_in_force_nothing_is_checked_and_the_call_goes_ahead()
    {
        var decision = ProductionMfa.Decide(Set(Mfa("off", PolicyMode.Enforce, enabled: false)), "0123456789ab", Action, TotpOutcome.Missing, _now);
        Assert.Equal((true, 0), (decision.Allowed, decision.Checks.Length));
    }
}
