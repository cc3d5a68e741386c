using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Compliance;

/// <summary>A policy as an operator sets it (the id comes from the path).</summary>
public sealed record PolicySpec(string? Rule, PolicyMode? Mode, PolicySeverity? Severity, PolicyScope? Scope,
    IReadOnlyDictionary<string, string>? Settings, bool? Enabled);

/// <summary>An advisory as an operator registers it (the id comes from the path).</summary>
public sealed record AdvisorySpec(decimal? Cvss, string? IntroducedIn, string? FixedIn, DateTimeOffset? PublishedAt, string? Summary);

/// <summary>Which findings to list, as a caller asks.</summary>
public sealed record FindingFilter(string? Tenant, string? Policy, FindingState? State, string? Subject, string? Cursor, int? Limit);

/// <summary>
/// The compliance auditor, once for every transport: policies and advisories (operators change them, with a full key;
/// every change audited with its digest), findings and waivers, the score and its history, a scan on demand.
/// Tenants read the policies that cover them and their own findings and score; operators read everything.
/// A change through this gateway applies here at once, on other gateways within <c>MeshOs:Compliance:PolicyCacheDuration</c>.
/// </summary>
public sealed class ComplianceService(IGrainFactory grains, CompliancePolicies policies, Mutations mutations, TimeProvider time)
{
    public const int DefaultLimit = 100;

    private IComplianceGrain Auditor => grains.GetGrain<IComplianceGrain>(0);

    public async Task<PolicySet> GetPoliciesAsync(MeshCaller caller)
    {
        var set = await Auditor.GetPoliciesAsync();
        if (caller.IsOperator)
        {
            return set;
        }

        var tenant = caller.RequireTenant();
        return set with
        {
            Policies = [.. set.Policies.Where(p => p.Scope.Kind == PolicyScope.MeshKind || p.Scope.Covers(tenant.TenantId, null))],
            Advisories = [],
        };
    }

    public Task<CompliancePolicy> PutPolicyAsync(MeshCaller caller, string policyId, PolicySpec spec)
    {
        caller.RequireOperator();
        var policy = new CompliancePolicy(policyId,
            spec.Rule ?? throw MeshException.Invalid("rule", $"required: one of {string.Join(", ", PolicyRules.All)}."),
            spec.Mode ?? throw MeshException.Invalid("mode", "required: Audit or Enforce."),
            spec.Severity ?? throw MeshException.Invalid("severity", "required: Low, Medium, High or Critical."),
            spec.Scope ?? PolicyScope.Mesh,
            spec.Settings?.ToImmutableDictionary(StringComparer.Ordinal) ?? ImmutableDictionary<string, string>.Empty,
            spec.Enabled ?? true);
        return mutations.RunAsync(caller, MeshActions.PutPolicy, MeshTargets.Policy(policyId), ChangeSummaries.PutPolicy(policy), async () =>
        {
            var stored = await Auditor.PutPolicyAsync(policy);
            policies.Invalidate();
            return stored;
        });
    }

    public Task DeletePolicyAsync(MeshCaller caller, string policyId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.DeletePolicy, MeshTargets.Policy(policyId), ChangeSummaries.Remove(policyId), async () =>
        {
            await Auditor.DeletePolicyAsync(policyId);
            policies.Invalidate();
        });
    }

    public async Task<ImmutableArray<VulnerabilityAdvisory>> GetAdvisoriesAsync(MeshCaller caller)
    {
        caller.RequireOperator();
        return (await Auditor.GetPoliciesAsync()).Advisories;
    }

    public Task<VulnerabilityAdvisory> PutAdvisoryAsync(MeshCaller caller, string advisoryId, AdvisorySpec spec)
    {
        caller.RequireOperator();
        var advisory = new VulnerabilityAdvisory(advisoryId,
            spec.Cvss ?? throw MeshException.Invalid("cvss", "required: the CVSS base score, 0.0–10.0."),
            string.IsNullOrWhiteSpace(spec.IntroducedIn) ? null : spec.IntroducedIn.Trim(),
            spec.FixedIn?.Trim() ?? throw MeshException.Invalid("fixedIn", "required: the first fixed version."),
            spec.PublishedAt ?? time.GetUtcNow(),
            spec.Summary);
        return mutations.RunAsync(caller, MeshActions.PutAdvisory, MeshTargets.Advisory(advisoryId), ChangeSummaries.PutAdvisory(advisory), async () =>
        {
            var stored = await Auditor.PutAdvisoryAsync(advisory);
            policies.Invalidate();
            return stored;
        });
    }

    public Task DeleteAdvisoryAsync(MeshCaller caller, string advisoryId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.DeleteAdvisory, MeshTargets.Advisory(advisoryId), ChangeSummaries.Remove(advisoryId), async () =>
        {
            await Auditor.DeleteAdvisoryAsync(advisoryId);
            policies.Invalidate();
        });
    }

    public Task<FindingPage> GetFindingsAsync(MeshCaller caller, FindingFilter filter)
    {
        if (filter.State is { } state && !Enum.IsDefined(state))
        {
            throw MeshException.Invalid("state", "Open, Resolved or Waived.");
        }

        return Auditor.GetFindingsAsync(new FindingQuery(TenantOf(caller, filter.Tenant), Inputs.Filter(filter.Policy, "policy"), filter.State,
            Inputs.Filter(filter.Subject, "subject"), Inputs.Limit(filter.Limit, DefaultLimit, FindingQuery.MaxLimit), Inputs.Filter(filter.Cursor, "cursor")));
    }

    public Task<ComplianceFinding> WaiveAsync(MeshCaller caller, string? policyId, string? subject, string? reason, DateTimeOffset? until)
    {
        caller.RequireOperator();
        var policy = Inputs.Filter(policyId, "policyId") ?? throw MeshException.Invalid("policyId", "required.");
        var on = Inputs.Filter(subject, "subject") ?? throw MeshException.Invalid("subject", "required.");
        var end = until ?? throw MeshException.Invalid("until", "required: when the waiver ends (at most 365 days away).");
        return mutations.RunAsync(caller, MeshActions.WaiveFinding, MeshTargets.Finding(policy, on), ChangeSummaries.Waive(reason, end),
            () => Auditor.WaiveAsync(policy, on, reason ?? string.Empty, end, caller.KeyId));
    }

    public Task<ComplianceReport> GetScoreAsync(MeshCaller caller, string? tenant) => Auditor.GetScoreAsync(TenantOf(caller, tenant));

    public Task<ComplianceReport> ScanAsync(MeshCaller caller)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.ScanCompliance, "compliance", ChangeSummaries.Scan(), () => Auditor.ScanAsync());
    }

    /// <summary>The tenant a read is about: a tenant key reads its own only; an operator any (null: the mesh).</summary>
    private static string? TenantOf(MeshCaller caller, string? tenant)
    {
        tenant = Inputs.Filter(tenant, "tenant");
        if (caller.IsOperator)
        {
            return tenant;
        }

        var own = caller.RequireTenant().TenantId;
        return tenant is null || tenant == own ? own : throw MeshException.Invalid("tenant", "a tenant key reads its own tenant's compliance only.");
    }
}
