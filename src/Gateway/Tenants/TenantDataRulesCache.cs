using System.Collections.Concurrent;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Tenants;

/// <summary>
/// Each tenant's allowed regions and data classes, as the dispatcher (at every lease) and the submit path read them:
/// from the tenant grain, cached per tenant for <see cref="GatewaySecurityOptions.KeyCacheDuration"/> (the same
/// staleness as a tenant's keys and pool grants). A change made through this gateway applies here at once; one made
/// through another gateway applies here within that duration. A tenant that restricts nothing is cached as such, so a
/// lease of its jobs costs a dictionary look-up.
/// </summary>
public sealed class TenantDataRulesCache
{
    /// <summary>More entries than this and the cache starts over (entries are bounded by tenants with jobs).</summary>
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Func<string, Task<TenantInfo?>> _tenantOf;
    private readonly IOptions<GatewaySecurityOptions> _options;
    private readonly TimeProvider _time;

    public TenantDataRulesCache(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time)
        : this(tenantId => grains.GetGrain<ITenantGrain>(tenantId).GetAsync(), options, time)
    {
    }

    /// <param name="tenantOf">Reads a tenant (null: unknown).</param>
    internal TenantDataRulesCache(Func<string, Task<TenantInfo?>> tenantOf, IOptions<GatewaySecurityOptions> options, TimeProvider time)
    {
        _tenantOf = tenantOf;
        _options = options;
        _time = time;
    }

    /// <summary>The tenant's rules; <see cref="TenantDataRules.Unrestricted"/> for an unknown tenant. Throws when the tenant cannot be read.</summary>
    public async ValueTask<TenantDataRules> GetAsync(string tenantId)
    {
        var now = _time.GetUtcNow();
        if (_entries.TryGetValue(tenantId, out var entry) && entry.ExpiresAt > now)
        {
            return entry.Rules;
        }

        var tenant = await _tenantOf(tenantId).WaitAsync(_options.Value.KeyCheckTimeout, _time);
        var rules = tenant?.DataRules ?? TenantDataRules.Unrestricted;
        if (rules.AllowedRegions.IsEmpty && rules.AllowedDataClasses.IsEmpty)
        {
            rules = TenantDataRules.Unrestricted;
        }

        if (_entries.Count > MaxEntries)
        {
            _entries.Clear();
        }

        _entries[tenantId] = new Entry(rules, now + _options.Value.KeyCacheDuration);
        return rules;
    }

    /// <summary>Forgets a tenant's rules (after a change through this gateway).</summary>
    public void Invalidate(string tenantId) => _entries.TryRemove(tenantId, out _);

    private sealed record Entry(TenantDataRules Rules, DateTimeOffset ExpiresAt);
}
