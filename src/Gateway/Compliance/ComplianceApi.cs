using System.Collections.Immutable;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Compliance;

/// <summary>Sets a policy.</summary>
public sealed record PutPolicyRequest
{
    /// <summary>The built-in rule: data-residency, data-classification, agent-version, key-hygiene or production-mfa.</summary>
    [Required]
    public string? Rule { get; init; }

    /// <summary>Audit (record a finding, let the action through) or Enforce (refuse it, naming the policy).</summary>
    [Required]
    public PolicyMode? Mode { get; init; }

    /// <summary>Low, Medium, High or Critical: its weight in the score (1, 2, 4, 8).</summary>
    [Required]
    public PolicySeverity? Severity { get; init; }

    /// <summary>Where it applies: kind mesh (no name), tenant or pool with a name. Default the whole mesh.</summary>
    public PolicyScope? Scope { get; init; }

    /// <summary>The rule's settings (key-hygiene: maxUnusedDays, rotationDays; others none).</summary>
    public Dictionary<string, string>? Settings { get; init; }

    /// <summary>Default true.</summary>
    public bool? Enabled { get; init; }
}

/// <summary>Registers a vulnerability advisory for agent versions.</summary>
public sealed record PutAdvisoryRequest
{
    /// <summary>The CVSS base score, 0.0–10.0: it sets the patch window (critical ≥ 9: 24 h; high ≥ 7: 7 days; medium ≥ 4: 30 days; low: next release).</summary>
    [Required]
    [Range(typeof(decimal), "0", "10")]
    public decimal? Cvss { get; init; }

    /// <summary>The first affected version; absent: every version before fixedIn.</summary>
    public string? IntroducedIn { get; init; }

    /// <summary>The first fixed version.</summary>
    [Required]
    public string? FixedIn { get; init; }

    /// <summary>When the advisory was published (the window starts then); default now.</summary>
    public DateTimeOffset? PublishedAt { get; init; }

    /// <summary>What it is about, at most 500 characters.</summary>
    public string? Summary { get; init; }
}

/// <summary>Accepts an open finding for a while.</summary>
public sealed record WaiveFindingRequest
{
    [Required]
    public string? PolicyId { get; init; }

    /// <summary>The finding's subject, e.g. agent/a-1 or operator-key/0123456789ab.</summary>
    [Required]
    public string? Subject { get; init; }

    /// <summary>Why the risk is accepted (kept in the finding's history and the audit log).</summary>
    [Required]
    public string? Reason { get; init; }

    /// <summary>When the waiver ends, at most 365 days away; the finding opens again then if it still fails.</summary>
    [Required]
    public DateTimeOffset? Until { get; init; }
}

/// <summary>/v1/compliance, the REST adapter of <see cref="ComplianceService"/>.</summary>
public static class ComplianceApi
{
    public const long MaxBodyBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapComplianceApi(this IEndpointRouteBuilder app)
    {
        var compliance = app.MapGroup("/v1/compliance").WithTags("Compliance").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems();
        compliance.MapGet("/policies", GetPoliciesAsync).WithName("ListCompliancePolicies")
            .WithSummary("The policies in force (a tenant: those covering it) and, for operators, the advisories, with the set's version.");
        compliance.MapPut("/policies/{policyId}", PutPolicyAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("PutCompliancePolicy")
            .WithSummary("Add or replace a policy (needs a full key).").ProducesBodyProblems();
        compliance.MapDelete("/policies/{policyId}", DeletePolicyAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("DeleteCompliancePolicy")
            .WithSummary("Remove a policy; its open findings resolve (needs a full key).").ProducesProblems(StatusCodes.Status404NotFound);
        compliance.MapGet("/advisories", GetAdvisoriesAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("ListAdvisories")
            .WithSummary("The vulnerability advisories the agent-version policy checks against.");
        compliance.MapPut("/advisories/{advisoryId}", PutAdvisoryAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("PutAdvisory")
            .WithSummary("Add or replace an advisory (needs a full key); agents are checked against it at the next scan (or POST /v1/compliance/scan).")
            .ProducesBodyProblems();
        compliance.MapDelete("/advisories/{advisoryId}", DeleteAdvisoryAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("DeleteAdvisory")
            .WithSummary("Withdraw an advisory (needs a full key).").ProducesProblems(StatusCodes.Status404NotFound);
        compliance.MapGet("/findings", GetFindingsAsync).WithName("ListFindings")
            .WithSummary("Findings with their history (when each opened, resolved, was waived), in (policy, subject) order, a page at a time.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        compliance.MapPost("/findings/waive", WaiveAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("WaiveFinding")
            .WithSummary("Accept an open finding until a time, with a reason (needs a full key).")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        compliance.MapGet("/score", GetScoreAsync).WithName("GetComplianceScore")
            .WithSummary("The compliance score (passed ÷ applicable checks, weighted by severity; target 95%) now and over time, with open findings by severity.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        compliance.MapPost("/scan", ScanAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("ScanCompliance")
            .WithSummary("Run the full scan now (agents against advisories, operator keys) and answer the mesh's report (needs a full key).");
        return app;
    }

    private static async Task<Ok<PolicySet>> GetPoliciesAsync(MeshCaller caller, ComplianceService compliance) =>
        TypedResults.Ok(await compliance.GetPoliciesAsync(caller));

    private static async Task<Ok<CompliancePolicy>> PutPolicyAsync(string policyId, [FromBody] PutPolicyRequest request, MeshCaller caller, ComplianceService compliance) =>
        TypedResults.Ok(await compliance.PutPolicyAsync(caller, policyId,
            new PolicySpec(request.Rule, request.Mode, request.Severity, request.Scope, request.Settings, request.Enabled)));

    private static async Task<NoContent> DeletePolicyAsync(string policyId, MeshCaller caller, ComplianceService compliance)
    {
        await compliance.DeletePolicyAsync(caller, policyId);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<ImmutableArray<VulnerabilityAdvisory>>> GetAdvisoriesAsync(MeshCaller caller, ComplianceService compliance) =>
        TypedResults.Ok(await compliance.GetAdvisoriesAsync(caller));

    private static async Task<Ok<VulnerabilityAdvisory>> PutAdvisoryAsync(string advisoryId, [FromBody] PutAdvisoryRequest request, MeshCaller caller,
        ComplianceService compliance) =>
        TypedResults.Ok(await compliance.PutAdvisoryAsync(caller, advisoryId,
            new AdvisorySpec(request.Cvss, request.IntroducedIn, request.FixedIn, request.PublishedAt, request.Summary)));

    private static async Task<NoContent> DeleteAdvisoryAsync(string advisoryId, MeshCaller caller, ComplianceService compliance)
    {
        await compliance.DeleteAdvisoryAsync(caller, advisoryId);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<FindingPage>> GetFindingsAsync(MeshCaller caller, ComplianceService compliance,
        [Description("Only this tenant's findings (a tenant key: its own, the default).")] string? tenant = null,
        [Description("Only this policy's findings.")] string? policy = null,
        [Description("Only findings in this state: Open, Resolved or Waived.")] string? state = null,
        [Description("Only the finding on this subject, e.g. agent/a-1.")] string? subject = null,
        [Description("The next cursor of the previous page.")] string? cursor = null,
        [Description("Findings per page, 1–1,000; default 100.")] int? limit = null) =>
        TypedResults.Ok(await compliance.GetFindingsAsync(caller,
            new FindingFilter(tenant, policy, Inputs.EnumName<FindingState>(state, "state"), subject, cursor, limit)));

    private static async Task<Ok<ComplianceFinding>> WaiveAsync([FromBody] WaiveFindingRequest request, MeshCaller caller, ComplianceService compliance) =>
        TypedResults.Ok(await compliance.WaiveAsync(caller, request.PolicyId, request.Subject, request.Reason, request.Until));

    private static async Task<Ok<ComplianceReport>> GetScoreAsync(MeshCaller caller, ComplianceService compliance,
        [Description("This tenant's score (a tenant key: its own, the default); absent: the whole mesh.")] string? tenant = null) =>
        TypedResults.Ok(await compliance.GetScoreAsync(caller, tenant));

    private static async Task<Ok<ComplianceReport>> ScanAsync(MeshCaller caller, ComplianceService compliance) =>
        TypedResults.Ok(await compliance.ScanAsync(caller));
}
