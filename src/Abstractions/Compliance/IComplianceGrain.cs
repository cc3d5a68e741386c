using System.Collections.Immutable;

namespace MeshOs.Abstractions.Compliance;

/// <summary>
/// The compliance auditor: the policies and advisories in force, the findings with their history, and the score. Key: 0
/// (one per cluster). Checks are made where the action happens (submit, lease, the operator MFA gate: each reads
/// <see cref="GetPoliciesAsync"/> through a short cache and reports what it found) and by the auditor's own periodic
/// scan of agents and operator keys; every check updates the finding of its (policy, subject) and the latest result
/// the score counts.
/// </summary>
[Alias("meshos.IComplianceGrain")]
public interface IComplianceGrain : IGrainWithIntegerKey
{
    /// <summary>The policies and advisories in force, with a version that grows on every change (caches compare it).</summary>
    [Alias("GetPolicies"), AlwaysInterleave]
    Task<PolicySet> GetPoliciesAsync();

    /// <summary>Adds or replaces a policy (by id). Invalid naming the field for a bad policy.</summary>
    [Alias("PutPolicy")]
    Task<CompliancePolicy> PutPolicyAsync(CompliancePolicy policy);

    /// <summary>Removes a policy; its open findings are resolved ("policy removed"). NotFound for an unknown id.</summary>
    [Alias("DeletePolicy")]
    Task DeletePolicyAsync(string policyId);

    /// <summary>Adds or replaces a vulnerability advisory (by id). Invalid naming the field for a bad one.</summary>
    [Alias("PutAdvisory")]
    Task<VulnerabilityAdvisory> PutAdvisoryAsync(VulnerabilityAdvisory advisory);

    /// <summary>Withdraws an advisory. NotFound for an unknown id.</summary>
    [Alias("DeleteAdvisory")]
    Task DeleteAdvisoryAsync(string advisoryId);

    /// <summary>
    /// Checks made elsewhere (at submit, at lease, at the operator gate). Fire-and-forget: callers batch them and never
    /// wait for the auditor on their own path.
    /// </summary>
    [Alias("Report"), OneWay]
    Task ReportAsync(ImmutableArray<CheckResult> checks);

    /// <summary>Findings matching <paramref name="query"/> in (policy, subject) order, a page at a time. Invalid for a bad limit.</summary>
    [Alias("Findings"), AlwaysInterleave]
    Task<FindingPage> GetFindingsAsync(FindingQuery query);

    /// <summary>Accepts an open finding until a time, with a reason. NotFound, Invalid or FailedPrecondition (not open).</summary>
    [Alias("Waive")]
    Task<ComplianceFinding> WaiveAsync(string policyId, string subject, string reason, DateTimeOffset until, string by);

    /// <summary>The score of one tenant (null: the whole mesh) now, and its history.</summary>
    [Alias("Score"), AlwaysInterleave]
    Task<ComplianceReport> GetScoreAsync(string? tenantId);

    /// <summary>Runs the periodic full scan now (agents' versions, operator keys, residency of fleets) and answers the mesh's report.</summary>
    [Alias("Scan")]
    Task<ComplianceReport> ScanAsync();
}

/// <summary>The policies and advisories in force.</summary>
/// <param name="Version">Grows on every change; 0 before the first.</param>
[GenerateSerializer, Immutable, Alias("meshos.PolicySet")]
public sealed record PolicySet(
    [property: Id(0)] long Version,
    [property: Id(1)] ImmutableArray<CompliancePolicy> Policies,
    [property: Id(2)] ImmutableArray<VulnerabilityAdvisory> Advisories)
{
    /// <summary>The enabled policies of <paramref name="rule"/> covering a subject of <paramref name="tenantId"/> in <paramref name="pool"/>.</summary>
    public IEnumerable<CompliancePolicy> Covering(string rule, string? tenantId, string? pool) =>
        Policies.Where(p => p.Enabled && p.Rule == rule && p.Scope.Covers(tenantId, pool));
}

/// <summary>Which findings to list.</summary>
/// <param name="State">Only findings in this state; null: every state.</param>
/// <param name="After">The cursor of the previous page (its last finding's key); null for the first page.</param>
[GenerateSerializer, Immutable, Alias("meshos.FindingQuery")]
public sealed record FindingQuery(
    [property: Id(0)] string? TenantId,
    [property: Id(1)] string? PolicyId,
    [property: Id(2)] FindingState? State,
    [property: Id(3)] string? Subject,
    [property: Id(4)] int Limit,
    [property: Id(5)] string? After)
{
    /// <summary>Findings per page at most.</summary>
    public const int MaxLimit = 1_000;
}

/// <summary>A page of findings; <see cref="Next"/> is the cursor of the next page, null at the end.</summary>
[GenerateSerializer, Immutable, Alias("meshos.FindingPage")]
public sealed record FindingPage(
    [property: Id(0)] ImmutableArray<ComplianceFinding> Findings,
    [property: Id(1)] string? Next);

/// <summary>One point of a score's history.</summary>
[GenerateSerializer, Immutable, Alias("meshos.ScorePoint")]
public sealed record ScorePoint(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] decimal Percent);

/// <summary>A scope's compliance now (with the target) and over time, and its open findings by severity.</summary>
/// <param name="TenantId">The tenant; null for the whole mesh.</param>
[GenerateSerializer, Immutable, Alias("meshos.ComplianceReport")]
public sealed record ComplianceReport(
    [property: Id(0)] string? TenantId,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] ComplianceScore Score,
    [property: Id(3)] ImmutableDictionary<PolicySeverity, int> OpenFindings,
    [property: Id(4)] ImmutableArray<ScorePoint> History,
    [property: Id(5)] DateTimeOffset? LastScanAt);

/// <summary>
/// Feeds the auditor from the event log (consumer <c>compliance</c>): agents are checked as they register and change
/// state, between the auditor's periodic scans. Key: <c>default</c>.
/// </summary>
[Alias("meshos.IComplianceWatcherGrain")]
public interface IComplianceWatcherGrain : Events.IMeshEventConsumer;
