using System.ComponentModel;
using System.Collections.Immutable;
using MeshOs.Abstractions.Healing;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MeshOs.Gateway.Healing;

/// <summary>/v1/healing, the REST adapter of <see cref="HealingService"/>. Operator key only.</summary>
public static class HealingApi
{
    public static IEndpointRouteBuilder MapHealingApi(this IEndpointRouteBuilder app)
    {
        var healing = app.MapGroup("/v1/healing").WithTags("Healing").RequireAuthorization(MeshRoles.OperatorPolicy).ProducesAuthenticatedProblems();
        healing.MapGet("/", ReportAsync).WithName("HealingReport").WithSummary("Pools as healing sees them, recent remediations, scale recommendations.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        healing.MapGet("/remediations", RemediationsAsync).WithName("ListRemediations").WithSummary("Remediations newest first, optionally about one subject.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        return app;
    }

    private static async Task<Ok<HealingReport>> ReportAsync(MeshCaller caller, HealingService healing,
        [Description("How many recent remediations to include, 1–1,000; default 50.")] int? recent = null) =>
        TypedResults.Ok(await healing.ReportAsync(caller, recent));

    private static async Task<Ok<ImmutableArray<Remediation>>> RemediationsAsync(MeshCaller caller, HealingService healing,
        [Description("Only remediations about this agent id or pool.")] string? subject = null,
        [Description("Remediations, 1–10,000; default 100.")] int? limit = null) =>
        TypedResults.Ok(await healing.RemediationsAsync(caller, subject, limit));
}
