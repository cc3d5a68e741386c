using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;

namespace MeshOs.Gateway.Auth;

/// <summary>What the <c>production-mfa</c> policies say about one operator call: the checks made, and the enforcing policy that refuses it.</summary>
public sealed record ProductionMfaDecision(ImmutableArray<CheckResult> Checks, CheckResult? RefusedBy)
{
    public bool Allowed => RefusedBy is null;

    /// <summary>The refusal the caller gets: PermissionDenied (403) naming the policy and why.</summary>
    public MeshException Refusal() => RefusedBy is { } refused
        ? new MeshException(MeshErrorCode.PermissionDenied, $"Refused by policy '{refused.PolicyId}' (enforce): {refused.Message}")
        : throw new InvalidOperationException("The call is allowed.");
}

/// <summary>
/// Production access with a second factor (TOTP). A <b>production action</b> is a call by an operator key that changes
/// something: every REST or gRPC operator endpoint whose needed scope (<see cref="OperatorScopeGate.Needed"/>) is not
/// <see cref="OperatorScope.ReadOnly"/> (so every POST, PUT, PATCH and DELETE except the few declared read-only, such as
/// audit verification and a key's own TOTP enrolment). Each enabled <c>production-mfa</c> policy covering the mesh
/// checks it: with a valid code in <see cref="OtpHeader"/> it passes; without one, or with a wrong, reused or
/// unenrolled one, it fails: an <see cref="PolicyMode.Enforce"/> policy refuses the call, an
/// <see cref="PolicyMode.Audit"/> one lets it through and the failure becomes a finding on <c>operator-key/{id}</c>.
/// Tenant keys and agents never make production actions.
/// </summary>
public static class ProductionMfa
{
    /// <summary>The header (REST) and metadata key (gRPC) that carries the current TOTP code.</summary>
    public const string OtpHeader = "X-MeshOs-Otp";

    /// <summary>The longest header value looked at; anything longer is a wrong code without asking the grain.</summary>
    public const int MaxCodeLength = 16;

    /// <summary>Whether an operator call needing <paramref name="needed"/> is a production action.</summary>
    public static bool IsProductionAction(OperatorScope needed) => needed != OperatorScope.ReadOnly;

    /// <summary>The subject of the checks (and findings) about an operator key.</summary>
    public static string Subject(string keyId) => "operator-key/" + keyId;

    /// <summary>
    /// Runs every enabled <c>production-mfa</c> policy covering the mesh (operator actions belong to no tenant or pool)
    /// against one call, in policy id order; the first enforcing policy that fails refuses it. No covering policy: no
    /// checks, allowed.
    /// </summary>
    /// <param name="action">The call as the audit log names endpoints, e.g. <c>POST /v1/tenants</c>.</param>
    /// <param name="factor">What checking the presented code found.</param>
    public static ProductionMfaDecision Decide(PolicySet policies, string keyId, string action, TotpOutcome factor, DateTimeOffset now)
    {
        var outcome = factor == TotpOutcome.Accepted ? CheckOutcome.Pass : CheckOutcome.Fail;
        var decision = PolicyEnforcement.Decide(policies.Policies, PolicyRules.ProductionMfa, tenantId: null, pool: null,
            policy => new CheckResult(policy.Id, policy.Severity, Subject(keyId), null, outcome, Message(keyId, action, factor), now));
        return new ProductionMfaDecision(decision.Checks, decision.RefusedBy);
    }

    private static string Message(string keyId, string action, TotpOutcome factor) =>
        $"Production action {action} by operator key '{keyId}' " + factor switch
        {
            TotpOutcome.Accepted => "with a valid TOTP code.",
            TotpOutcome.Missing => $"without a second factor (no {OtpHeader} code).",
            TotpOutcome.Wrong => $"with an {OtpHeader} code that is not the key's current TOTP code.",
            TotpOutcome.Replayed => $"with an {OtpHeader} code that was already used (one code per call: wait for the next).",
            TotpOutcome.NotEnrolled => "but the key has no TOTP enabled (enrol with POST /v1/operator-keys/{id}/mfa).",
            _ => throw new ArgumentOutOfRangeException(nameof(factor), factor, "Not an outcome."),
        };
}
