using MeshOs.Abstractions;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Tenants;

/// <summary>/v1/tenants: the operator API for tenants and their API keys.</summary>
public static class TenantsApi
{
    public static IEndpointRouteBuilder MapTenantsApi(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/v1/tenants").WithTags("Tenants").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(64 * 1024));
        tenants.MapPost("/", CreateAsync).WithName("CreateTenant").WithSummary("Create a tenant.");
        tenants.MapGet("/", ListAsync).WithName("ListTenants").WithSummary("Tenants in id order, with cursor paging.");
        tenants.MapGet("/{tenantId}", GetAsync).WithName("GetTenant");
        tenants.MapPut("/{tenantId}", UpdateAsync).WithName("UpdateTenant").WithSummary("Change name, kind, quotas or pools.");
        tenants.MapPost("/{tenantId}/disable", (string tenantId, IGrainFactory grains, TenantKeyCache keys) => SetDisabledAsync(tenantId, true, grains, keys))
            .WithName("DisableTenant").WithSummary("Disable: every key of the tenant stops working.");
        tenants.MapPost("/{tenantId}/enable", (string tenantId, IGrainFactory grains, TenantKeyCache keys) => SetDisabledAsync(tenantId, false, grains, keys))
            .WithName("EnableTenant");
        tenants.MapPost("/{tenantId}/keys", IssueKeyAsync).WithName("IssueApiKey").WithSummary("Issue an API key; the key is shown only in this response.");
        tenants.MapDelete("/{tenantId}/keys/{keyId}", RevokeKeyAsync).WithName("RevokeApiKey").WithSummary("Revoke a key at once.");
        return app;
    }

    private static async Task<Created<TenantDto>> CreateAsync([FromBody] CreateTenantRequest request, IGrainFactory grains)
    {
        if (!ApiKeyFormat.IsValidTenantId(request.Id))
        {
            throw MeshException.Invalid("id: 1–63 lowercase letters, digits or dashes, starting with a letter or digit; not 'platform' (reserved).");
        }

        var spec = new TenantSpec(
            request.Name ?? request.Id,
            request.Kind ?? TenantKind.Customer,
            (request.Quotas ?? new QuotasDto(null, null, null, null, null)).ApplyTo(TenantQuotas.Default),
            request.Pools is null ? ["platform"] : [.. request.Pools]);
        var info = await grains.GetGrain<ITenantGrain>(request.Id).CreateAsync(spec);
        return TypedResults.Created($"/v1/tenants/{info.TenantId}", TenantDto.From(info));
    }

    private static async Task<Ok<TenantPageDto>> ListAsync(IGrainFactory grains, string? cursor = null, int? limit = null)
    {
        var size = limit ?? 100;
        if (size is < 1 or > 1_000)
        {
            throw MeshException.Invalid("limit: 1–1,000.");
        }

        var ids = await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync(cursor, size);
        var tenants = await Task.WhenAll(ids.Select(id => grains.GetGrain<ITenantGrain>(id).GetAsync()));
        return TypedResults.Ok(new TenantPageDto(
            [.. tenants.OfType<TenantInfo>().Select(TenantDto.From)],
            ids.Length == size ? ids[^1] : null));
    }

    private static async Task<Ok<TenantDto>> GetAsync(string tenantId, IGrainFactory grains) =>
        TypedResults.Ok(TenantDto.From(await ExistingAsync(tenantId, grains)));

    private static async Task<Ok<TenantDto>> UpdateAsync(string tenantId, [FromBody] UpdateTenantRequest request, IGrainFactory grains, TenantKeyCache keys)
    {
        var current = await ExistingAsync(tenantId, grains);
        var spec = new TenantSpec(
            request.Name ?? current.Name,
            request.Kind ?? current.Kind,
            request.Quotas?.ApplyTo(current.Quotas) ?? current.Quotas,
            request.Pools is null ? current.Pools : [.. request.Pools]);
        var info = await grains.GetGrain<ITenantGrain>(tenantId).UpdateAsync(spec);
        keys.Invalidate(tenantId);
        return TypedResults.Ok(TenantDto.From(info));
    }

    private static async Task<Ok<TenantDto>> SetDisabledAsync(string tenantId, bool disabled, IGrainFactory grains, TenantKeyCache keys)
    {
        await ExistingAsync(tenantId, grains);
        var info = await grains.GetGrain<ITenantGrain>(tenantId).SetDisabledAsync(disabled);
        keys.Invalidate(tenantId);
        return TypedResults.Ok(TenantDto.From(info));
    }

    private static async Task<Created<IssuedKeyDto>> IssueKeyAsync(string tenantId, [FromBody] IssueKeyRequest? request, IGrainFactory grains)
    {
        await ExistingAsync(tenantId, grains);
        var issued = await grains.GetGrain<ITenantGrain>(tenantId).IssueKeyAsync(request?.Name ?? "default");
        return TypedResults.Created($"/v1/tenants/{tenantId}/keys/{issued.KeyId}", new IssuedKeyDto(issued.KeyId, issued.Key, issued.CreatedAt));
    }

    private static async Task<Ok<TenantDto>> RevokeKeyAsync(string tenantId, string keyId, IGrainFactory grains, TenantKeyCache keys)
    {
        await ExistingAsync(tenantId, grains);
        var info = await grains.GetGrain<ITenantGrain>(tenantId).RevokeKeyAsync(keyId);
        keys.Invalidate(tenantId);
        return TypedResults.Ok(TenantDto.From(info));
    }

    private static async Task<TenantInfo> ExistingAsync(string tenantId, IGrainFactory grains)
    {
        if (!ApiKeyFormat.IsValidTenantId(tenantId))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        return await grains.GetGrain<ITenantGrain>(tenantId).GetAsync() ?? throw MeshException.NotFound($"Tenant '{tenantId}'");
    }
}
