using System.Collections.Immutable;
using System.Security.Cryptography;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Tenants;

/// <summary>A tenant's configuration and keys. Rarely written; read on each authentication cache miss.</summary>
internal sealed class TenantGrain(
    [PersistentState("tenant", MeshStorage.GrainStore)] IPersistentState<TenantState> state,
    IOptions<AgentOptions> agentOptions,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, ITenantGrain
{
    private const int MaxKeysPerTenant = 20;

    private string TenantId => this.GetPrimaryKeyString();

    public async Task<TenantInfo> CreateAsync(TenantSpec spec)
    {
        if (!ApiKeyFormat.IsValidTenantId(TenantId))
        {
            throw MeshException.Invalid("A tenant id is 1–63 lowercase letters, digits or dashes, starting with a letter or digit.");
        }

        if (state.State.Exists)
        {
            throw MeshException.Conflict($"Tenant '{TenantId}' already exists.");
        }

        TenantPolicy.Validate(spec);
        var now = time.GetUtcNow();
        state.State = new TenantState
        {
            Exists = true,
            CreatedAt = now,
        };
        Apply(spec, now);
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<ITenantDirectoryGrain>(0).AddAsync(TenantId);
        return ToInfo();
    }

    public async Task<TenantInfo> UpdateAsync(TenantSpec spec)
    {
        EnsureExists();
        TenantPolicy.Validate(spec);
        Apply(spec, time.GetUtcNow());
        await state.WriteStateAsync();
        return ToInfo();
    }

    public Task<TenantInfo?> GetAsync() => Task.FromResult(state.State.Exists ? ToInfo() : null);

    public async Task<TenantInfo> SetDisabledAsync(bool disabled)
    {
        EnsureExists();
        if (state.State.Disabled != disabled)
        {
            state.State.Disabled = disabled;
            Touch();
            await state.WriteStateAsync();
        }

        return ToInfo();
    }

    public async Task<IssuedApiKey> IssueKeyAsync(string name)
    {
        EnsureExists();
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw MeshException.Invalid("A key name is 1–100 characters.");
        }

        if (state.State.Keys.Count(k => k.RevokedAt is null) >= MaxKeysPerTenant)
        {
            throw MeshException.Exhausted($"A tenant has at most {MaxKeysPerTenant} active keys; revoke one first.");
        }

        var (key, keyId, hash) = ApiKeyFormat.Create(TenantId);
        var now = time.GetUtcNow();
        state.State.Keys.Add(new ApiKeyState { KeyId = keyId, Name = name, Hash = hash, CreatedAt = now });
        Touch();
        await state.WriteStateAsync();
        return new IssuedApiKey(keyId, key, now);
    }

    public async Task<TenantInfo> RevokeKeyAsync(string keyId)
    {
        EnsureExists();
        var key = state.State.Keys.FirstOrDefault(k => k.KeyId == keyId) ?? throw MeshException.NotFound($"Key '{keyId}'");
        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow();
            Touch();
            await state.WriteStateAsync();
        }

        return ToInfo();
    }

    public Task<TenantPrincipal?> AuthenticateAsync(string keyId, ImmutableArray<byte> secretHash)
    {
        var s = state.State;
        if (!s.Exists || s.Disabled)
        {
            return Task.FromResult<TenantPrincipal?>(null);
        }

        var key = s.Keys.FirstOrDefault(k => k.KeyId == keyId && k.RevokedAt is null);
        if (key is null || !CryptographicOperations.FixedTimeEquals(key.Hash, secretHash.AsSpan()))
        {
            return Task.FromResult<TenantPrincipal?>(null);
        }

        return Task.FromResult<TenantPrincipal?>(new TenantPrincipal(TenantId, s.Kind, s.Quotas, [.. s.Pools], s.Revision));
    }

    public async Task<PoolGrant> GrantPoolAsync(string grantee, string pool, string actor)
    {
        EnsureExists();
        PoolAccess.ValidateGrant(TenantId, grantee, pool);
        var grants = PoolAccess.Grant([.. state.State.Grants], grantee, pool, actor, time.GetUtcNow());
        if (grants.Length != state.State.Grants.Count)
        {
            state.State.Grants = [.. grants];
            Touch();
            await state.WriteStateAsync();
        }

        return state.State.Grants.Last(g => g.IsActive && g.Grantee == grantee && g.Pool == pool);
    }

    public async Task<PoolGrant> RevokePoolGrantAsync(string grantee, string pool, string actor)
    {
        EnsureExists();
        PoolAccess.ValidateGrant(TenantId, grantee, pool);
        var grants = PoolAccess.Revoke([.. state.State.Grants], grantee, pool, actor, time.GetUtcNow())
            ?? throw MeshException.NotFound($"An active grant of pool '{pool}' to '{grantee}'");
        state.State.Grants = [.. grants];
        Touch();
        await state.WriteStateAsync();
        await PoolGrantRevocation.DrainAsync(GrainFactory, agentOptions.Value.DirectoryShards, grantee, pool, $"access to pool '{pool}' revoked by {actor}");
        return state.State.Grants.Last(g => g.Grantee == grantee && g.Pool == pool && !g.IsActive);
    }

    public Task<ImmutableArray<PoolGrant>> GetPoolGrantsAsync() =>
        Task.FromResult(state.State.Exists ? [.. state.State.Grants] : ImmutableArray<PoolGrant>.Empty);

    private void Apply(TenantSpec spec, DateTimeOffset now)
    {
        var s = state.State;
        s.Name = spec.Name;
        s.Kind = spec.Kind;
        s.Quotas = spec.Quotas;
        s.Pools = [.. spec.Pools.Distinct(StringComparer.Ordinal)];
        s.AllowedRegions = [.. ComplianceTags.Normalize("allowedRegions", spec.AllowedRegions)];
        s.AllowedDataClasses = [.. ComplianceTags.Normalize("allowedDataClasses", spec.AllowedDataClasses)];
        s.UpdatedAt = now;
        s.Revision++;
    }

    private void Touch()
    {
        state.State.UpdatedAt = time.GetUtcNow();
        state.State.Revision++;
    }

    private void EnsureExists()
    {
        if (!state.State.Exists)
        {
            throw MeshException.NotFound($"Tenant '{TenantId}'");
        }
    }

    private TenantInfo ToInfo()
    {
        var s = state.State;
        return new TenantInfo(
            TenantId, s.Name, s.Kind, s.Quotas, [.. s.Pools], s.Disabled, s.CreatedAt, s.UpdatedAt,
            [.. s.Keys.Select(k => new ApiKeyInfo(k.KeyId, k.Name, k.CreatedAt, k.RevokedAt))], [.. s.AllowedRegions], [.. s.AllowedDataClasses]);
    }
}

[GenerateSerializer, Alias("meshos.TenantState")]
public sealed class TenantState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = string.Empty;
    [Id(2)] public TenantKind Kind { get; set; }
    [Id(3)] public TenantQuotas Quotas { get; set; } = TenantQuotas.Default;
    [Id(4)] public List<string> Pools { get; set; } = [];
    [Id(5)] public bool Disabled { get; set; }
    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
    [Id(7)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(8)] public long Revision { get; set; }
    [Id(9)] public List<ApiKeyState> Keys { get; set; } = [];

    /// <summary>Pool grants to other owners' agents, active and recently revoked (see <see cref="PoolAccess"/>).</summary>
    [Id(10)] public List<PoolGrant> Grants { get; set; } = [];

    /// <summary>Regions whose agents may run the tenant's jobs; empty: any (see <see cref="TenantSpec.AllowedRegions"/>).</summary>
    [Id(11)] public List<string> AllowedRegions { get; set; } = [];

    /// <summary>Data classes the tenant's jobs may carry; empty: any (see <see cref="TenantSpec.AllowedDataClasses"/>).</summary>
    [Id(12)] public List<string> AllowedDataClasses { get; set; } = [];
}

[GenerateSerializer, Alias("meshos.ApiKeyState")]
public sealed class ApiKeyState
{
    [Id(0)] public string KeyId { get; set; } = string.Empty;
    [Id(1)] public string Name { get; set; } = string.Empty;
    [Id(2)] public byte[] Hash { get; set; } = [];
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    [Id(4)] public DateTimeOffset? RevokedAt { get; set; }
}
