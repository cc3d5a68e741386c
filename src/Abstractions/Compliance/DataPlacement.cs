using System.Collections.Immutable;

namespace MeshOs.Abstractions.Compliance;

/// <summary>What the residency and classification rules need to know of a tenant (empty lists: unrestricted).</summary>
/// <param name="AllowedRegions">Regions whose agents may run the tenant's jobs.</param>
/// <param name="AllowedDataClasses">Data classes the tenant's jobs may carry.</param>
public sealed record TenantDataRules(ImmutableArray<string> AllowedRegions, ImmutableArray<string> AllowedDataClasses)
{
    public static TenantDataRules Unrestricted { get; } = new([], []);
}

/// <summary>
/// The data-residency and data-classification policies applied where a job's data moves: when it is submitted (its
/// data classes against its tenant's allowed ones) and when it is about to be leased to an agent (the agent's region
/// against the tenant's allowed regions, the agent's certifications against the job's data classes). Pure: the
/// policies, the tenant's rules, the job's and the agent's facts in, an <see cref="EnforcementDecision"/> out.
/// </summary>
public static class DataPlacement
{
    /// <summary>The subject of a lease check: the tenant whose data it is and the agent it would go to.</summary>
    public static string AgentSubject(string tenantId, string agentId) => $"tenant/{tenantId}/agent/{agentId}";

    /// <summary>The subject of a submit check: the tenant and its job.</summary>
    public static string JobSubject(string tenantId, Guid jobId) => $"tenant/{tenantId}/job/{jobId}";

    /// <summary>
    /// Whether any lease check can apply to a job of a tenant with these rules and data classes. When not, every
    /// residency and classification check would skip: the dispatcher reads no policy and checks nothing.
    /// </summary>
    public static bool AppliesAtLease(TenantDataRules tenant, ImmutableArray<string> dataClasses) =>
        !tenant.AllowedRegions.IsDefaultOrEmpty || !dataClasses.IsDefaultOrEmpty;

    /// <summary>Whether the submit check can apply: the job carries data classes and the tenant restricts them.</summary>
    public static bool AppliesAtSubmit(TenantDataRules tenant, ImmutableArray<string> dataClasses) =>
        !tenant.AllowedDataClasses.IsDefaultOrEmpty && !dataClasses.IsDefaultOrEmpty;

    /// <summary>
    /// Residency, then classification, by the policies covering the job's tenant and pool. Refused when an enforcing
    /// policy of either fails the agent (residency named first); the checks of both are in the decision.
    /// </summary>
    public static EnforcementDecision AtLease(PolicySet policies, string tenantId, string pool, TenantDataRules tenant,
        ImmutableArray<string> dataClasses, AgentFacts agent, DateTimeOffset now)
    {
        var subject = AgentSubject(tenantId, agent.AgentId);
        var residency = PolicyEnforcement.Decide(policies.Policies, PolicyRules.DataResidency, tenantId, pool,
            p => ComplianceRules.Residency(p, subject, tenantId, tenant.AllowedRegions, agent.AgentId, agent.Region, now));
        var classification = PolicyEnforcement.Decide(policies.Policies, PolicyRules.DataClassification, tenantId, pool,
            p => ComplianceRules.Classification(p, subject, tenantId, dataClasses, agent, now));
        return new EnforcementDecision(residency.Checks.AddRange(classification.Checks), residency.RefusedBy ?? classification.RefusedBy);
    }

    /// <summary>The classification policies covering the tenant and pool, on the job's data classes against the tenant's allowed ones.</summary>
    public static EnforcementDecision AtSubmit(PolicySet policies, string tenantId, string pool, Guid jobId, TenantDataRules tenant,
        ImmutableArray<string> dataClasses, DateTimeOffset now)
    {
        var subject = JobSubject(tenantId, jobId);
        return PolicyEnforcement.Decide(policies.Policies, PolicyRules.DataClassification, tenantId, pool,
            p => ComplianceRules.SubmittedClasses(p, subject, tenantId, dataClasses, tenant.AllowedDataClasses, now));
    }
}
