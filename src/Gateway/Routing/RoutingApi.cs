using System.ComponentModel;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MeshOs.Gateway.Routing;

/// <summary>/v1/routing, the REST adapter of <see cref="RoutingService"/>.</summary>
public static class RoutingApi
{
    public static IEndpointRouteBuilder MapRoutingApi(this IEndpointRouteBuilder app)
    {
        var routing = app.MapGroup("/v1/routing").WithTags("Routing")
            .RequireAuthorization(MeshRoles.OperatorPolicy).RequireOperatorScope(MeshOs.Abstractions.Compliance.OperatorScope.ReadOnly)
            .ProducesAuthenticatedProblems();
        routing.MapGet("/pools/{pool}", GetPoolAsync).WithName("GetPoolRouting")
            .WithSummary("A pool's adaptive routing: the policy and weights in force on this gateway, each agent's learned success rate, latency (mean and tail), cost per job and concurrency limit, and each agent version's record.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<PoolRoutingView>> GetPoolAsync(string pool, MeshCaller caller, RoutingService routing,
        [Description("Only this agent.")] string? agentId = null) =>
        TypedResults.Ok(await routing.GetPoolAsync(caller, pool, agentId));
}
