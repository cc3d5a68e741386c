using System.Collections.Immutable;

namespace MeshOs.Abstractions.Compliance;

/// <summary>What a policy does when a check fails (Kyverno's validationFailureAction).</summary>
public enum PolicyMode
{
    /// <summary>The failure is recorded as a finding; the action goes ahead.</summary>
    Audit,

    /// <summary>The action is refused (FailedPrecondition naming the policy), and the failure recorded as well.</summary>
    Enforce,
}

/// <summary>How much a failed check matters; also its weight in the compliance score (<see cref="ComplianceWeights"/>).</summary>
public enum PolicySeverity
{
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>The result of one check, as Kyverno's PolicyReport names them.</summary>
public enum CheckOutcome
{
    /// <summary>The subject complies.</summary>
    Pass,

    /// <summary>The subject does not comply.</summary>
    Fail,

    /// <summary>The subject does not comply yet, but is within its allowed time (a vulnerable version before its deadline).</summary>
    Warn,

    /// <summary>The check could not be made (missing data); counted as failed in the score, never as passed.</summary>
    Error,

    /// <summary>The policy does not apply to the subject (no restriction set, out of scope): not counted in the score.</summary>
    Skip,
}

/// <summary>The built-in rules a policy can run.</summary>
public static class PolicyRules
{
    /// <summary>An agent's region is one of the tenant's allowed regions (checked when a job is leased).</summary>
    public const string DataResidency = "data-residency";

    /// <summary>No agent runs a version an advisory marks vulnerable past the advisory's CVSS deadline.</summary>
    public const string AgentVersion = "agent-version";

    /// <summary>A job tagged with a data class (e.g. <c>pii</c>) only goes to agents certified for that class.</summary>
    public const string DataClassification = "data-classification";

    /// <summary>Operator keys are used, rotated, and no broader than their use.</summary>
    public const string KeyHygiene = "key-hygiene";

    /// <summary>Production actions by an operator key need a second factor (TOTP).</summary>
    public const string ProductionMfa = "production-mfa";

    public static readonly ImmutableArray<string> All = [DataResidency, AgentVersion, DataClassification, KeyHygiene, ProductionMfa];
}

/// <summary>Where a policy applies: the whole mesh, one tenant's objects, or one pool's agents and jobs.</summary>
/// <param name="Kind"><c>mesh</c>, <c>tenant</c> or <c>pool</c>.</param>
/// <param name="Name">The tenant id or pool name; null for the mesh.</param>
[GenerateSerializer, Immutable, Alias("meshos.PolicyScope")]
public sealed record PolicyScope([property: Id(0)] string Kind, [property: Id(1)] string? Name)
{
    public const string MeshKind = "mesh";
    public const string TenantKind = "tenant";
    public const string PoolKind = "pool";

    public static PolicyScope Mesh { get; } = new(MeshKind, null);

    public static PolicyScope Tenant(string tenantId) => new(TenantKind, tenantId);

    public static PolicyScope Pool(string pool) => new(PoolKind, pool);

    /// <summary>Whether a subject of <paramref name="tenantId"/> (if any) in <paramref name="pool"/> (if any) is in scope.</summary>
    public bool Covers(string? tenantId, string? pool) => Kind switch
    {
        MeshKind => true,
        TenantKind => tenantId == Name,
        PoolKind => pool == Name,
        _ => false,
    };
}

/// <summary>A policy as data: which rule, in which mode, how severe, where, with the rule's settings.</summary>
/// <param name="Id">Operator-chosen, 1–64 of a-z 0-9 -.</param>
/// <param name="Settings">Rule settings by name (e.g. <c>maxUnusedDays</c> for key hygiene); each rule documents its own.</param>
[GenerateSerializer, Immutable, Alias("meshos.CompliancePolicy")]
public sealed record CompliancePolicy(
    [property: Id(0)] string Id,
    [property: Id(1)] string Rule,
    [property: Id(2)] PolicyMode Mode,
    [property: Id(3)] PolicySeverity Severity,
    [property: Id(4)] PolicyScope Scope,
    [property: Id(5)] ImmutableDictionary<string, string> Settings,
    [property: Id(6)] bool Enabled = true);

/// <summary>One check of one policy against one subject.</summary>
/// <param name="Subject">What was checked: <c>agent/{id}</c>, <c>job/{id}</c>, <c>key/{id}</c>…</param>
/// <param name="Message">Why, in words an operator acts on.</param>
/// <param name="DueAt">For a <see cref="CheckOutcome.Warn"/>: when it becomes a failure.</param>
[GenerateSerializer, Immutable, Alias("meshos.CheckResult")]
public sealed record CheckResult(
    [property: Id(0)] string PolicyId,
    [property: Id(1)] PolicySeverity Severity,
    [property: Id(2)] string Subject,
    [property: Id(3)] string? TenantId,
    [property: Id(4)] CheckOutcome Outcome,
    [property: Id(5)] string Message,
    [property: Id(6)] DateTimeOffset CheckedAt,
    [property: Id(7)] DateTimeOffset? DueAt = null);

/// <summary>
/// A vulnerability advisory an operator registers: versions from <see cref="IntroducedIn"/> (inclusive; null: every
/// earlier version) up to <see cref="FixedIn"/> (exclusive) are affected. Its CVSS base score sets the patch window.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.VulnerabilityAdvisory")]
public sealed record VulnerabilityAdvisory(
    [property: Id(0)] string Id,
    [property: Id(1)] decimal Cvss,
    [property: Id(2)] string? IntroducedIn,
    [property: Id(3)] string FixedIn,
    [property: Id(4)] DateTimeOffset PublishedAt,
    [property: Id(5)] string? Summary);

/// <summary>Where a finding stands.</summary>
public enum FindingState
{
    /// <summary>The check fails (or warns) now.</summary>
    Open,

    /// <summary>The check passes again (or the subject is gone).</summary>
    Resolved,

    /// <summary>An operator accepted it, with a reason, until a time; it opens again after that if still failing.</summary>
    Waived,
}

/// <summary>One change of a finding, kept for its history.</summary>
/// <param name="By">Who: an operator key id for a waiver, <c>compliance</c> for the auditor's own checks.</param>
[GenerateSerializer, Immutable, Alias("meshos.FindingChange")]
public sealed record FindingChange(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] FindingState State,
    [property: Id(2)] string Reason,
    [property: Id(3)] string By);

/// <summary>
/// A policy's failure on one subject, with its whole history: when it opened, resolved, was waived, opened again.
/// One finding per (policy, subject); a new failure after a resolution re-opens the same finding.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.ComplianceFinding")]
public sealed record ComplianceFinding(
    [property: Id(0)] string PolicyId,
    [property: Id(1)] string Subject,
    [property: Id(2)] string? TenantId,
    [property: Id(3)] PolicySeverity Severity,
    [property: Id(4)] FindingState State,
    [property: Id(5)] CheckOutcome LastOutcome,
    [property: Id(6)] string Message,
    [property: Id(7)] DateTimeOffset? WaivedUntil,
    [property: Id(8)] ImmutableArray<FindingChange> History)
{
    public DateTimeOffset OpenedAt => History[0].At;
}

/// <summary>The compliance score of a scope: passed weight ÷ applicable weight.</summary>
/// <param name="Percent">0–100, rounded to two decimals; 100 when nothing applies.</param>
[GenerateSerializer, Immutable, Alias("meshos.ComplianceScore")]
public sealed record ComplianceScore(
    [property: Id(0)] decimal Percent,
    [property: Id(1)] int Passed,
    [property: Id(2)] int Failed,
    [property: Id(3)] int Warned,
    [property: Id(4)] int Errored,
    [property: Id(5)] int Skipped,
    [property: Id(6)] int Waived)
{
    /// <summary>The runbook's target.</summary>
    public const decimal Target = 95m;

    public bool MeetsTarget => Percent >= Target;
}

/// <summary>The weight of a check in the score, by its policy's severity.</summary>
public static class ComplianceWeights
{
    public static int Of(PolicySeverity severity) => severity switch
    {
        PolicySeverity.Low => 1,
        PolicySeverity.Medium => 2,
        PolicySeverity.High => 4,
        PolicySeverity.Critical => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(severity), severity, "Not a severity."),
    };
}
