using System.Collections.Immutable;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Tenants;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Tenants;

/// <summary>The dispatcher's lease-time check of pool access (defence in depth behind registration).</summary>
public sealed class PoolGrantCacheTests
{
    private static readonly GatewaySecurityOptions Options = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly List<string> _reads = [];
    private ImmutableArray<PoolGrant> _acmeGrants = [];
    private readonly PoolGrantCache _cache;

    public PoolGrantCacheTests() =>
        _cache = new PoolGrantCache(tenantId =>
        {
            _reads.Add(tenantId);
            return Task.FromResult(tenantId == "acme" ? _acmeGrants : []);
        }, Microsoft.Extensions.Options.Options.Create(Options), _time);

    private PoolGrant Grant(string grantee, string pool) => new(grantee, pool, "tenant acme", _time.GetUtcNow(), null, null);

    [Fact]
    public async Task Own_pools_are_answered_without_asking_anyone()
    {
        Assert.True(await _cache.MayServeAsync("acme", "acme/gpu"));
        Assert.True(await _cache.MayServeAsync("platform", "platform"));
        Assert.False(await _cache.MayServeAsync("acme", "platform"));
        Assert.Empty(_reads);
    }

    [Fact]
    public async Task A_revocation_elsewhere_applies_within_the_cache_duration()
    {
        _acmeGrants = [Grant("platform", "acme")];
        Assert.True(await _cache.MayServeAsync("platform", "acme"));

        _acmeGrants = [_acmeGrants[0] with { RevokedAt = _time.GetUtcNow(), RevokedBy = "tenant acme" }];
        _time.Advance(Options.KeyCacheDuration - TimeSpan.FromMilliseconds(1));
        Assert.True(await _cache.MayServeAsync("platform", "acme")); // still the cached answer
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(await _cache.MayServeAsync("platform", "acme"));
        Assert.Equal(["acme", "acme"], _reads);
    }

    [Fact]
    public async Task A_revocation_through_this_gateway_applies_at_once()
    {
        _acmeGrants = [Grant("partner", "acme")];
        Assert.True(await _cache.MayServeAsync("partner", "acme"));

        _acmeGrants = [];
        _cache.Invalidate("acme");
        Assert.False(await _cache.MayServeAsync("partner", "acme"));
    }

    [Fact]
    public async Task Without_a_grant_another_tenants_pool_is_refused()
    {
        Assert.False(await _cache.MayServeAsync("platform", "acme"));
        Assert.False(await _cache.MayServeAsync("partner", "acme/gpu"));
        Assert.Equal(["acme"], _reads); // one read serves both within the cache duration
    }
}
