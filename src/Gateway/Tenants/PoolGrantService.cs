using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;

namespace MeshOs.Gateway.Tenants;

/// <summary>
/// A tenant's consent that another owner's agents serve its pools: list, grant, revoke. Transport-neutral; REST (and
/// any later transport) adapts to it. An operator addresses any tenant, a tenant only itself: another tenant's id is
/// NotFound. Grants and revocations are mutations (recorded with the caller as the actor).
/// </summary>
public sealed class PoolGrantService(IGrainFactory grains, PoolGrantCache cache, Mutations mutations)
{
    public async Task<ImmutableArray<PoolGrant>> ListAsync(MeshCaller caller, string tenantId)
    {
        var tenant = await TenantAsync(caller, tenantId);
        return await tenant.GetPoolGrantsAsync();
    }

    public Task<PoolGrant> GrantAsync(MeshCaller caller, string tenantId, string? grantee, string? pool) =>
        mutations.RunAsync(caller, MeshActions.GrantPool, MeshTargets.Tenant(tenantId), ChangeSummaries.PoolGrant(grantee, pool), async () =>
        {
            var tenant = await TenantAsync(caller, tenantId);
            var grant = await tenant.GrantPoolAsync(grantee ?? string.Empty, pool ?? string.Empty, Actor(caller));
            cache.Invalidate(tenantId);
            return grant;
        });

    public Task<PoolGrant> RevokeAsync(MeshCaller caller, string tenantId, string? grantee, string? pool) =>
        mutations.RunAsync(caller, MeshActions.RevokePoolGrant, MeshTargets.Tenant(tenantId), ChangeSummaries.PoolGrant(grantee, pool), async () =>
        {
            var tenant = await TenantAsync(caller, tenantId);
            cache.Invalidate(tenantId); // before the drains: this gateway's dispatchers stop leasing at once
            var revoked = await tenant.RevokePoolGrantAsync(grantee ?? string.Empty, pool ?? string.Empty, Actor(caller));
            cache.Invalidate(tenantId);
            return revoked;
        });

    /// <summary>Who consented or revoked, as the grant records it.</summary>
    private static string Actor(MeshCaller caller) => caller.IsOperator ? "operator" : $"tenant {caller.TenantId} (key {caller.KeyId})";

    private async Task<ITenantGrain> TenantAsync(MeshCaller caller, string tenantId)
    {
        if ((!caller.IsOperator && caller.RequireTenant().TenantId != tenantId) || !ApiKeyFormat.IsValidTenantId(tenantId))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        return await tenant.GetAsync() is null ? throw MeshException.NotFound($"Tenant '{tenantId}'") : tenant;
    }
}
