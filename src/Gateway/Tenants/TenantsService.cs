using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Tenants;

/// <summary>Quota changes: each unset one keeps its value (the default, for a new tenant).</summary>
public sealed record QuotaChanges(int? MaxConcurrentJobs, double? SubmitsPerSecond, int? SubmitBurst, int? MaxPayloadBytes, int? MaxQueuedJobs)
{
    public TenantQuotas ApplyTo(TenantQuotas current) => new(
        MaxConcurrentJobs ?? current.MaxConcurrentJobs,
        SubmitsPerSecond ?? current.SubmitsPerSecond,
        SubmitBurst ?? current.SubmitBurst,
        MaxPayloadBytes ?? current.MaxPayloadBytes,
        MaxQueuedJobs ?? current.MaxQueuedJobs);
}

/// <summary>A tenant's settings as given: each unset one keeps its value (its default, for a new tenant).</summary>
public sealed record TenantChanges(string? Name, TenantKind? Kind, QuotaChanges? Quotas, IReadOnlyList<string>? Pools,
    IReadOnlyList<string>? AllowedRegions = null, IReadOnlyList<string>? AllowedDataClasses = null);

/// <summary>A page of tenants in id order, with the id to continue after (null at the end).</summary>
public sealed record TenantPage(IReadOnlyList<TenantInfo> Tenants, string? NextCursor);

/// <summary>
/// The operator's tenant API, once for every transport: create, list, look, change, disable, enable, issue and revoke
/// API keys. A change that touches keys or the tenant's standing takes effect on this gateway at once (its key cache
/// forgets the tenant) and on the others within <c>MeshOs:Gateway:KeyCacheDuration</c>.
/// </summary>
public sealed class TenantsService(IGrainFactory grains, TenantKeyCache keys, TenantDataRulesCache dataRules, Mutations mutations)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    /// <summary>Creates a tenant: unset quotas take the defaults, unset pools mean the shared <c>platform</c> pool. Conflict when it exists.</summary>
    public Task<TenantInfo> CreateAsync(MeshCaller caller, string? tenantId, TenantChanges settings)
    {
        caller.RequireOperator();
        if (!ApiKeyFormat.IsValidTenantId(tenantId))
        {
            throw MeshException.Invalid("id", "1–63 lowercase letters, digits or dashes, starting with a letter or digit; not 'platform' (reserved).");
        }

        var spec = new TenantSpec(
            settings.Name ?? tenantId,
            settings.Kind ?? TenantKind.Customer,
            (settings.Quotas ?? new QuotaChanges(null, null, null, null, null)).ApplyTo(TenantQuotas.Default),
            settings.Pools is null ? ["platform"] : [.. settings.Pools],
            ComplianceTags.Normalize("allowedRegions", settings.AllowedRegions),
            ComplianceTags.Normalize("allowedDataClasses", settings.AllowedDataClasses));
        return mutations.RunAsync(caller, MeshActions.CreateTenant, MeshTargets.Tenant(tenantId), ChangeSummaries.CreateTenant(spec), async () =>
        {
            var created = await Tenant(tenantId).CreateAsync(spec);
            dataRules.Invalidate(tenantId);
            return created;
        });
    }

    public async Task<TenantPage> ListAsync(MeshCaller caller, string? cursor, int? limit)
    {
        caller.RequireOperator();
        var size = Inputs.Limit(limit, DefaultLimit, MaxLimit);
        var ids = await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync(cursor, size);
        var tenants = await Task.WhenAll(ids.Select(id => Tenant(id).GetAsync()));
        return new TenantPage([.. tenants.OfType<TenantInfo>()], ids.Length == size ? ids[^1] : null);
    }

    public async Task<TenantInfo> GetAsync(MeshCaller caller, string tenantId)
    {
        caller.RequireOperator();
        return await ExistingAsync(tenantId);
    }

    /// <summary>Changes name, kind, quotas, pools, allowed regions or allowed data classes; unset ones keep their value.</summary>
    public Task<TenantInfo> UpdateAsync(MeshCaller caller, string tenantId, TenantChanges changes) =>
        ChangeAsync(caller, MeshActions.UpdateTenant, tenantId, MeshTargets.Tenant(tenantId), ChangeSummaries.UpdateTenant(changes), (tenant, current) => tenant.UpdateAsync(new TenantSpec(
            changes.Name ?? current.Name,
            changes.Kind ?? current.Kind,
            changes.Quotas?.ApplyTo(current.Quotas) ?? current.Quotas,
            changes.Pools is null ? current.Pools : [.. changes.Pools],
            changes.AllowedRegions is null ? current.DataRules.AllowedRegions : ComplianceTags.Normalize("allowedRegions", changes.AllowedRegions),
            changes.AllowedDataClasses is null ? current.DataRules.AllowedDataClasses : ComplianceTags.Normalize("allowedDataClasses", changes.AllowedDataClasses))));

    /// <summary>Disables (every key stops working) or enables the tenant.</summary>
    public Task<TenantInfo> SetDisabledAsync(MeshCaller caller, string tenantId, bool disabled) =>
        ChangeAsync(caller, disabled ? MeshActions.DisableTenant : MeshActions.EnableTenant, tenantId, MeshTargets.Tenant(tenantId), ChangeSummaries.SetDisabled(disabled),
            (tenant, _) => tenant.SetDisabledAsync(disabled));

    /// <summary>Issues an API key; its secret is in the answer only.</summary>
    public Task<IssuedApiKey> IssueKeyAsync(MeshCaller caller, string tenantId, string? name)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.IssueKey, MeshTargets.Tenant(tenantId), ChangeSummaries.IssueKey(name), async () =>
        {
            await ExistingAsync(tenantId);
            return await Tenant(tenantId).IssueKeyAsync(name ?? "default");
        });
    }

    /// <summary>Revokes a key at once on this gateway.</summary>
    public Task<TenantInfo> RevokeKeyAsync(MeshCaller caller, string tenantId, string keyId) =>
        ChangeAsync(caller, MeshActions.RevokeKey, tenantId, MeshTargets.Key(tenantId, keyId), ChangeSummaries.RevokeKey(keyId), (tenant, _) => tenant.RevokeKeyAsync(keyId));

    private ITenantGrain Tenant(string tenantId) => grains.GetGrain<ITenantGrain>(tenantId);

    /// <summary>A change to an existing tenant; its keys cached on this gateway are forgotten, so the change holds here at once.</summary>
    private Task<TenantInfo> ChangeAsync(MeshCaller caller, string action, string tenantId, string target, AuditChange summary,
        Func<ITenantGrain, TenantInfo, Task<TenantInfo>> change)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, action, target, summary, async () =>
        {
            var current = await ExistingAsync(tenantId);
            var changed = await change(Tenant(tenantId), current);
            keys.Invalidate(tenantId);
            dataRules.Invalidate(tenantId);
            return changed;
        });
    }

    private async Task<TenantInfo> ExistingAsync(string tenantId)
    {
        if (!ApiKeyFormat.IsValidTenantId(tenantId))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        return await Tenant(tenantId).GetAsync() ?? throw MeshException.NotFound($"Tenant '{tenantId}'");
    }
}
