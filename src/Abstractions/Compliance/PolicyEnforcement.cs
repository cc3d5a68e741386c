using System.Collections.Immutable;
using MeshOs.Abstractions;

namespace MeshOs.Abstractions.Compliance;

/// <summary>What the policies in force say about one action: the checks made, and the enforcing policy that refuses it.</summary>
public sealed record EnforcementDecision(ImmutableArray<CheckResult> Checks, CheckResult? RefusedBy)
{
    public bool Allowed => RefusedBy is null;

    /// <summary>The refusal a caller gets: FailedPrecondition naming the policy and why.</summary>
    public MeshException Refusal() => RefusedBy is { } refused
        ? MeshException.Precondition($"Refused by policy '{refused.PolicyId}' (enforce): {refused.Message}")
        : throw new InvalidOperationException("The action is allowed.");
}

/// <summary>
/// Runs the enabled policies of one rule that cover a subject (by tenant and pool) and decides: an action is refused
/// when a policy in <see cref="PolicyMode.Enforce"/> fails it (Fail or Error: a check that could not be made does not
/// let the action through). Audit-mode failures only become findings. The first refusing policy in id order is named.
/// </summary>
public static class PolicyEnforcement
{
    public static EnforcementDecision Decide(IEnumerable<CompliancePolicy> policies, string rule, string? tenantId, string? pool,
        Func<CompliancePolicy, CheckResult> check)
    {
        var checks = ImmutableArray.CreateBuilder<CheckResult>();
        CheckResult? refusedBy = null;
        foreach (var policy in policies.Where(p => p.Enabled && p.Rule == rule && p.Scope.Covers(tenantId, pool)).OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            var result = check(policy);
            checks.Add(result);
            if (refusedBy is null && policy.Mode == PolicyMode.Enforce && result.Outcome is CheckOutcome.Fail or CheckOutcome.Error)
            {
                refusedBy = result;
            }
        }

        return new EnforcementDecision(checks.ToImmutable(), refusedBy);
    }
}
