using System.Collections.Immutable;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Tenants;

/// <summary>
/// /v1/tenants/{tenantId}/grants: a tenant's consent that a partner's or the platform's agents serve one of its pools.
/// Operators address any tenant; a tenant key only its own tenant (another id is a 404).
/// </summary>
public static class PoolGrantsApi
{
    public static IEndpointRouteBuilder MapPoolGrantsApi(this IEndpointRouteBuilder app)
    {
        var grants = app.MapGroup("/v1/tenants/{tenantId}/grants").WithTags("Pool grants")
            .RequireAuthorization(MeshRoles.OperatorOrTenantPolicy).RequireOperatorScope(OperatorScope.TenantAdmin)
            .WithMetadata(new RequestSizeLimitAttribute(64 * 1024)).ProducesAuthenticatedProblems();
        grants.MapGet("/", ListAsync).WithName("ListPoolGrants")
            .WithSummary("The tenant's pool grants, active and recently revoked, with who granted or revoked each and when.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        grants.MapPost("/", GrantAsync).WithName("GrantPool")
            .WithSummary("Let agents of `grantee` (a partner tenant, or `platform`) serve one of the tenant's own pools. Idempotent.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status429TooManyRequests);
        grants.MapPost("/revoke", RevokeAsync).WithName("RevokePoolGrant")
            .WithSummary("End a grant: the grantee's agents get no new lease of the pool and those in it are drained.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<ImmutableArray<PoolGrant>>> ListAsync(string tenantId, MeshCaller caller, PoolGrantService service) =>
        TypedResults.Ok(await service.ListAsync(caller, tenantId));

    private static async Task<Ok<PoolGrant>> GrantAsync(string tenantId, [FromBody] PoolGrantRequest request, MeshCaller caller, PoolGrantService service) =>
        TypedResults.Ok(await service.GrantAsync(caller, tenantId, request.Grantee, request.Pool));

    private static async Task<Ok<PoolGrant>> RevokeAsync(string tenantId, [FromBody] PoolGrantRequest request, MeshCaller caller, PoolGrantService service) =>
        TypedResults.Ok(await service.RevokeAsync(caller, tenantId, request.Grantee, request.Pool));
}

/// <summary>A grant or revocation: whose agents (<c>platform</c> or a tenant id) and which of the tenant's pools.</summary>
public sealed record PoolGrantRequest(string? Grantee, string? Pool);
