using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Tenants;

/// <summary>Who asks for a pool-grant operation: an operator (any tenant) or a tenant (only itself).</summary>
/// <param name="TenantId">The calling tenant; null for an operator.</param>
/// <param name="Actor">Recorded with the grant as who consented or revoked.</param>
public sealed record GrantCaller(string? TenantId, string Actor);

/// <summary>
/// A tenant's consent that another owner's agents serve its pools: list, grant, revoke. Transport-neutral; REST (and
/// any later transport) adapts to it. A tenant addresses only itself: another tenant's id is NotFound.
/// </summary>
public sealed class PoolGrantService(IGrainFactory grains, PoolGrantCache cache)
{
    public async Task<ImmutableArray<PoolGrant>> ListAsync(GrantCaller caller, string tenantId)
    {
        var tenant = await TenantAsync(caller, tenantId);
        return await tenant.GetPoolGrantsAsync();
    }

    public async Task<PoolGrant> GrantAsync(GrantCaller caller, string tenantId, string? grantee, string? pool)
    {
        var tenant = await TenantAsync(caller, tenantId);
        var grant = await tenant.GrantPoolAsync(grantee ?? string.Empty, pool ?? string.Empty, caller.Actor);
        cache.Invalidate(tenantId);
        return grant;
    }

    public async Task<PoolGrant> RevokeAsync(GrantCaller caller, string tenantId, string? grantee, string? pool)
    {
        var tenant = await TenantAsync(caller, tenantId);
        cache.Invalidate(tenantId); // before the drains: this gateway's dispatchers stop leasing at once
        var revoked = await tenant.RevokePoolGrantAsync(grantee ?? string.Empty, pool ?? string.Empty, caller.Actor);
        cache.Invalidate(tenantId);
        return revoked;
    }

    private async Task<ITenantGrain> TenantAsync(GrantCaller caller, string tenantId)
    {
        if ((caller.TenantId is not null && caller.TenantId != tenantId) || !ApiKeyFormat.IsValidTenantId(tenantId))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        return await tenant.GetAsync() is null ? throw MeshException.NotFound($"Tenant '{tenantId}'") : tenant;
    }
}
