using System.Collections.Concurrent;
using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Tenants;

/// <summary>
/// The dispatcher's check at lease time (defence in depth behind the agent grain's check at registration): may an
/// agent of this owner take this pool's jobs right now? Own pools answer at once; another owner's pool asks the pool
/// owner's grants, cached per tenant for <see cref="GatewaySecurityOptions.KeyCacheDuration"/>. A grant revoked through
/// this gateway applies here at once, one revoked through another gateway within that duration (the revoking tenant
/// grain drains the agents at once in any case).
/// </summary>
public sealed class PoolGrantCache
{
    /// <summary>More entries than this and the cache starts over (entries are bounded by tenants with foreign agents).</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Func<string, Task<ImmutableArray<PoolGrant>>> _grantsOf;
    private readonly IOptions<GatewaySecurityOptions> _options;
    private readonly TimeProvider _time;

    public PoolGrantCache(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time)
        : this(tenantId => grains.GetGrain<ITenantGrain>(tenantId).GetPoolGrantsAsync(), options, time)
    {
    }

    /// <param name="grantsOf">Reads a tenant's pool grants.</param>
    internal PoolGrantCache(Func<string, Task<ImmutableArray<PoolGrant>>> grantsOf, IOptions<GatewaySecurityOptions> options, TimeProvider time)
    {
        _grantsOf = grantsOf;
        _options = options;
        _time = time;
    }

    public async ValueTask<bool> MayServeAsync(string agentOwner, string pool)
    {
        if (!PoolAccess.NeedsGrant(agentOwner, pool))
        {
            return true;
        }

        var poolOwner = PoolAccess.OwnerOf(pool);
        if (poolOwner == AgentPools.PlatformOwner)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (!_entries.TryGetValue(poolOwner, out var entry) || entry.ExpiresAt <= now)
        {
            var grants = await _grantsOf(poolOwner).WaitAsync(_options.Value.KeyCheckTimeout, _time);
            if (_entries.Count > MaxEntries)
            {
                _entries.Clear();
            }

            entry = _entries[poolOwner] = new Entry(grants, now + _options.Value.KeyCacheDuration);
        }

        return PoolAccess.MayServe(agentOwner, pool, entry.Grants);
    }

    /// <summary>Forgets a tenant's grants (after a grant or revocation through this gateway).</summary>
    public void Invalidate(string tenantId) => _entries.TryRemove(tenantId, out _);

    private sealed record Entry(ImmutableArray<PoolGrant> Grants, DateTimeOffset ExpiresAt);
}
