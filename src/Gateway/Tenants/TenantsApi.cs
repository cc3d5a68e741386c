using System.ComponentModel;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Tenants;

/// <summary>/v1/tenants, the REST adapter of <see cref="TenantsService"/>: tenants and their API keys. Operator key only.</summary>
public static class TenantsApi
{
    /// <summary>Largest request body on /v1/tenants.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/v1/tenants").WithTags("Tenants").RequireAuthorization(MeshRoles.OperatorPolicy)
            .RequireOperatorScope(OperatorScope.TenantAdmin)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems();
        tenants.MapPost("/", CreateAsync).WithName("CreateTenant").WithSummary("Create a tenant (409 when the id is taken).")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict);
        tenants.MapGet("/", ListAsync).WithName("ListTenants").WithSummary("Tenants in id order, with cursor paging.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        tenants.MapGet("/{tenantId}", GetAsync).WithName("GetTenant").WithSummary("A tenant with its quotas, pools and keys (never their secrets).")
            .ProducesProblems(StatusCodes.Status404NotFound);
        tenants.MapPut("/{tenantId}", UpdateAsync).WithName("UpdateTenant").WithSummary("Change name, kind, quotas, pools, allowed regions or allowed data classes.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        tenants.MapPost("/{tenantId}/disable", DisableAsync).WithName("DisableTenant").WithSummary("Disable: every key of the tenant stops working.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        tenants.MapPost("/{tenantId}/enable", EnableAsync).WithName("EnableTenant").WithSummary("Enable a disabled tenant.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        tenants.MapPost("/{tenantId}/keys", IssueKeyAsync).WithName("IssueApiKey").WithSummary("Issue an API key; the key is shown only in this response.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        tenants.MapDelete("/{tenantId}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeApiKey").WithSummary("Revoke a key at once.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Created<TenantDto>> CreateAsync([FromBody] CreateTenantRequest request, MeshCaller caller, TenantsService tenants)
    {
        var info = await tenants.CreateAsync(caller, request.Id, request.ToChanges());
        return TypedResults.Created($"/v1/tenants/{info.TenantId}", TenantDto.From(info));
    }

    private static async Task<Ok<TenantPageDto>> ListAsync(MeshCaller caller, TenantsService tenants,
        [Description("The nextCursor of the previous page.")] string? cursor = null,
        [Description("Tenants per page, 1–1,000; default 100.")] int? limit = null)
    {
        var page = await tenants.ListAsync(caller, cursor, limit);
        return TypedResults.Ok(new TenantPageDto([.. page.Tenants.Select(TenantDto.From)], page.NextCursor));
    }

    private static async Task<Ok<TenantDto>> GetAsync(string tenantId, MeshCaller caller, TenantsService tenants) =>
        TypedResults.Ok(TenantDto.From(await tenants.GetAsync(caller, tenantId)));

    private static async Task<Ok<TenantDto>> UpdateAsync(string tenantId, [FromBody] UpdateTenantRequest request, MeshCaller caller, TenantsService tenants) =>
        TypedResults.Ok(TenantDto.From(await tenants.UpdateAsync(caller, tenantId, request.ToChanges())));

    private static async Task<Ok<TenantDto>> DisableAsync(string tenantId, MeshCaller caller, TenantsService tenants) =>
        TypedResults.Ok(TenantDto.From(await tenants.SetDisabledAsync(caller, tenantId, true)));

    private static async Task<Ok<TenantDto>> EnableAsync(string tenantId, MeshCaller caller, TenantsService tenants) =>
        TypedResults.Ok(TenantDto.From(await tenants.SetDisabledAsync(caller, tenantId, false)));

    private static async Task<Created<IssuedKeyDto>> IssueKeyAsync(string tenantId, [FromBody] IssueKeyRequest? request, MeshCaller caller, TenantsService tenants)
    {
        var issued = await tenants.IssueKeyAsync(caller, tenantId, request?.Name);
        return TypedResults.Created($"/v1/tenants/{tenantId}/keys/{issued.KeyId}", new IssuedKeyDto(issued.KeyId, issued.Key, issued.CreatedAt));
    }

    private static async Task<Ok<TenantDto>> RevokeKeyAsync(string tenantId, string keyId, MeshCaller caller, TenantsService tenants) =>
        TypedResults.Ok(TenantDto.From(await tenants.RevokeKeyAsync(caller, tenantId, keyId)));
}
