using System.Collections.Immutable;

namespace MeshOs.Abstractions.Tenants;

/// <summary>One tenant: its configuration, quotas, pools and API keys (stored as hashes only). Key: tenant id.</summary>
[Alias("meshos.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant. Throws <see cref="MeshException"/> (Conflict) when it already exists.</summary>
    [Alias("Create")]
    Task<TenantInfo> CreateAsync(TenantSpec spec);

    /// <summary>Replaces name, kind, quotas and pools. Throws NotFound when the tenant does not exist.</summary>
    [Alias("Update")]
    Task<TenantInfo> UpdateAsync(TenantSpec spec);

    /// <summary>The tenant, or null when it was never created.</summary>
    [Alias("Get")]
    Task<TenantInfo?> GetAsync();

    /// <summary>Disables (every key stops working at once) or re-enables the tenant.</summary>
    [Alias("SetDisabled")]
    Task<TenantInfo> SetDisabledAsync(bool disabled);

    /// <summary>Issues a new API key. The returned key is the only copy; only its hash is kept.</summary>
    [Alias("IssueKey")]
    Task<IssuedApiKey> IssueKeyAsync(string name);

    /// <summary>Revokes a key; it fails authentication from this moment on. Idempotent.</summary>
    [Alias("RevokeKey")]
    Task<TenantInfo> RevokeKeyAsync(string keyId);

    /// <summary>Checks a key's secret hash; null when the key is unknown, revoked or the tenant is disabled.</summary>
    [Alias("Authenticate")]
    Task<TenantPrincipal?> AuthenticateAsync(string keyId, ImmutableArray<byte> secretHash);

    /// <summary>
    /// Records the tenant's consent that agents of <paramref name="grantee"/> (a partner tenant, or <c>platform</c>)
    /// serve its pool <paramref name="pool"/>; <paramref name="actor"/> says who consented. Idempotent: an active grant
    /// is returned as it is. InvalidArgument when the pool is not the tenant's; NotFound when the tenant does not exist.
    /// </summary>
    [Alias("GrantPool")]
    Task<PoolGrant> GrantPoolAsync(string grantee, string pool, string actor);

    /// <summary>
    /// Revokes an active grant: from now on the grantee's agents get no lease of the pool, and those registered in it
    /// are drained (they finish what they hold and leave). NotFound when no such grant is active.
    /// </summary>
    [Alias("RevokePoolGrant")]
    Task<PoolGrant> RevokePoolGrantAsync(string grantee, string pool, string actor);

    /// <summary>The tenant's pool grants, active and revoked (the most recent revoked ones); empty for an unknown tenant.</summary>
    [Alias("GetPoolGrants")]
    Task<ImmutableArray<PoolGrant>> GetPoolGrantsAsync();
}

/// <summary>The list of tenants, for operators. Key: 0 (one per cluster; called only by operator APIs).</summary>
[Alias("meshos.ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a tenant id; idempotent.</summary>
    [Alias("Add")]
    Task AddAsync(string tenantId);

    /// <summary>Tenant ids in ordinal order after <paramref name="afterId"/>, at most <paramref name="limit"/>.</summary>
    [Alias("List")]
    Task<ImmutableArray<string>> ListAsync(string? afterId, int limit);
}
