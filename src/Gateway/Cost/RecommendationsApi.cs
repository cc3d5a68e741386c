using System.Collections.Immutable;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Cost;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Cost;

/// <summary>Dismisses a recommendation.</summary>
public sealed record DismissRecommendationRequest
{
    /// <summary>Why (1–500 characters); kept on the recommendation and in the audit log.</summary>
    [Required]
    public string? Reason { get; init; }
}

/// <summary>Sets a pool's autoscale policy.</summary>
public sealed record PutAutoscaleRequest
{
    /// <summary>The pool.</summary>
    [Required]
    public string? Pool { get; init; }

    /// <summary>Apply the pool's scale-down and scale-up recommendations automatically.</summary>
    [Required]
    public bool? Enabled { get; init; }

    /// <summary>Never fewer agents than this (0–100,000).</summary>
    [Required]
    public int? MinAgents { get; init; }

    /// <summary>Never more agents than this (1–100,000, at least minAgents).</summary>
    [Required]
    public int? MaxAgents { get; init; }

    /// <summary>Seconds after an action before the next automatic one (0–604,800).</summary>
    [Required]
    public int? CooldownSeconds { get; init; }
}

/// <summary>/v1/cost/recommendations and /v1/cost/autoscale, the REST adapter of <see cref="RecommendationsService"/>.</summary>
public static class RecommendationsApi
{
    public static IEndpointRouteBuilder MapRecommendationsApi(this IEndpointRouteBuilder app)
    {
        var cost = app.MapGroup("/v1/cost").WithTags("Cost recommendations")
            .RequireAuthorization(MeshRoles.OperatorPolicy).RequireOperatorScope(OperatorScope.IncidentResponder)
            .WithMetadata(new RequestSizeLimitAttribute(16 * 1024)).ProducesAuthenticatedProblems();
        cost.MapGet("/recommendations", ListAsync).WithName("ListRecommendations")
            .WithSummary("Cost recommendations (scale down, scale up, cheaper pool, retire) with their evidence and estimated monthly saving, newest first.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        cost.MapPost("/recommendations/{recommendationId}/apply", ApplyAsync).WithName("ApplyRecommendation")
            .WithSummary("Apply an open recommendation: scale orders go to the pool's runtime (within an enabled autoscale policy's bounds); audited and published.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        cost.MapPost("/recommendations/{recommendationId}/dismiss", DismissAsync).WithName("DismissRecommendation")
            .WithSummary("Dismiss an open recommendation with a reason; the same proposal is not made again for MeshOs:Cost:Recommendations:DismissedFor.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        cost.MapGet("/autoscale", GetPolicyAsync).WithName("GetAutoscalePolicy")
            .WithSummary("A pool's autoscale policy (disabled when none was set).")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        cost.MapPut("/autoscale", PutPolicyAsync).WithName("PutAutoscalePolicy")
            .WithSummary("Set a pool's autoscale policy: enabled, min and max agents, cooldown between automatic actions.")
            .ProducesBodyProblems();
        return app;
    }

    private static async Task<Ok<ImmutableArray<Recommendation>>> ListAsync(MeshCaller caller, RecommendationsService recommendations,
        [Description("Only this pool.")] string? pool = null,
        [Description("ScaleDown, ScaleUp, MoveToCheaperPool or RetireAgent.")] string? kind = null,
        [Description("Open, Applied, Dismissed or Superseded.")] string? status = null) =>
        TypedResults.Ok(await recommendations.ListAsync(caller, pool, kind, status));

    private static async Task<Ok<Recommendation>> ApplyAsync(string recommendationId, MeshCaller caller, RecommendationsService recommendations) =>
        TypedResults.Ok(await recommendations.ApplyAsync(caller, recommendationId));

    private static async Task<Ok<Recommendation>> DismissAsync(string recommendationId, [FromBody] DismissRecommendationRequest request, MeshCaller caller,
        RecommendationsService recommendations) =>
        TypedResults.Ok(await recommendations.DismissAsync(caller, recommendationId, request.Reason));

    private static async Task<Ok<AutoscalePolicy>> GetPolicyAsync(MeshCaller caller, RecommendationsService recommendations,
        [Description("The pool.")] string? pool = null) =>
        TypedResults.Ok(await recommendations.GetPolicyAsync(caller, pool));

    private static async Task<Ok<AutoscalePolicy>> PutPolicyAsync([FromBody] PutAutoscaleRequest request, MeshCaller caller, RecommendationsService recommendations) =>
        TypedResults.Ok(await recommendations.PutPolicyAsync(caller,
            new AutoscaleInput(request.Pool, request.Enabled, request.MinAgents, request.MaxAgents, request.CooldownSeconds)));
}
