using System.Collections.Immutable;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Auth;

public sealed class TenantKeyCacheTests
{
    private static readonly TenantPrincipal Acme = new("acme", TenantKind.Customer, TenantQuotas.Default, ["acme"], 1);
    private static readonly GatewaySecurityOptions Options = new();
    private static readonly TimeSpan RealPatience = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly string _key;
    private readonly byte[] _hash;
    private readonly Queue<TaskCompletionSource<TenantPrincipal?>> _answers = new();
    private readonly List<(string TenantId, string KeyId, ImmutableArray<byte> Hash)> _checks = [];
    private readonly TenantKeyCache _cache;

    public TenantKeyCacheTests()
    {
        var (key, _, hash) = ApiKeyFormat.Create("acme");
        _key = key;
        _hash = hash;
        _cache = new TenantKeyCache(Check, Microsoft.Extensions.Options.Options.Create(Options), _time, NullLogger<TenantKeyCache>.Instance);
    }

    /// <summary>The tenant's answer to the next check: set it to answer, leave it to hang like a dead silo.</summary>
    private TaskCompletionSource<TenantPrincipal?> NextAnswer()
    {
        var answer = new TaskCompletionSource<TenantPrincipal?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _answers.Enqueue(answer);
        return answer;
    }

    private Task<TenantPrincipal?> Check(string tenantId, string keyId, ImmutableArray<byte> hash)
    {
        lock (_checks)
        {
            _checks.Add((tenantId, keyId, hash));
            return _answers.Dequeue().Task;
        }
    }

    private Task<TenantPrincipal?> Authenticate() => _cache.AuthenticateAsync(_key, CancellationToken.None).AsTask();

    private async Task VerifyOnceAsync(TenantPrincipal? answer)
    {
        NextAnswer().SetResult(answer);
        Assert.Equal(answer, await Authenticate().WaitAsync(RealPatience));
    }

    [Fact]
    public async Task A_key_is_checked_with_its_tenant_key_id_and_secret_hash_then_trusted_for_the_cache_duration()
    {
        await VerifyOnceAsync(Acme);
        _time.Advance(Options.KeyCacheDuration - TimeSpan.FromMilliseconds(1));
        Assert.Equal(Acme, await Authenticate());

        var (tenantId, keyId, hash) = _checks.Single();
        Assert.True(ApiKeyFormat.TryParse(_key, out _, out var parsedKeyId, out _));
        Assert.Equal(("acme", parsedKeyId), (tenantId, keyId));
        Assert.Equal(_hash, hash.ToArray());

        _time.Advance(TimeSpan.FromMilliseconds(1));
        await VerifyOnceAsync(Acme);
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task Concurrent_requests_with_an_unchecked_key_share_one_check()
    {
        var answer = NextAnswer();
        var requests = Enumerable.Range(0, 5).Select(_ => Authenticate()).ToList();
        Assert.All(requests, r => Assert.False(r.IsCompleted));

        answer.SetResult(Acme);
        Assert.All(await Task.WhenAll(requests).WaitAsync(RealPatience), p => Assert.Equal(Acme, p));
        Assert.Single(_checks);
    }

    [Fact]
    public async Task A_verified_key_whose_recheck_gets_no_answer_is_accepted_after_the_stale_wait()
    {
        await VerifyOnceAsync(Acme);
        _time.Advance(Options.KeyCacheDuration + TimeSpan.FromSeconds(10));
        NextAnswer(); // hangs: the tenant's silo died

        var request = Authenticate();
        _time.Advance(TenantKeyCache.StaleWait - TimeSpan.FromMilliseconds(1));
        Assert.False(request.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(Acme, await request.WaitAsync(RealPatience));

        // A second request joins the check still under way instead of starting another.
        var second = Authenticate();
        _time.Advance(TenantKeyCache.StaleWait);
        Assert.Equal(Acme, await second.WaitAsync(RealPatience));
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task A_recheck_that_answers_revoked_within_the_stale_wait_refuses_the_key()
    {
        await VerifyOnceAsync(Acme);
        _time.Advance(Options.KeyCacheDuration);
        await VerifyOnceAsync(null);
        Assert.Null(await Authenticate());
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task Past_the_stale_grace_a_request_waits_for_the_check_and_fails_when_it_times_out()
    {
        await VerifyOnceAsync(Acme);
        _time.Advance(Options.KeyCacheDuration + Options.KeyStaleGrace);
        NextAnswer();

        var request = Authenticate();
        _time.Advance(TenantKeyCache.StaleWait);
        Assert.False(request.IsCompleted);
        _time.Advance(Options.KeyCheckTimeout - TenantKeyCache.StaleWait);
        await Assert.ThrowsAsync<TimeoutException>(() => request.WaitAsync(RealPatience));
    }

    [Fact]
    public async Task A_key_never_verified_is_not_accepted_when_its_check_gets_no_answer()
    {
        NextAnswer();
        var request = Authenticate();
        _time.Advance(Options.KeyCheckTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(request.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Assert.ThrowsAsync<TimeoutException>(() => request.WaitAsync(RealPatience));

        // Nothing was remembered: the next request checks again.
        await VerifyOnceAsync(Acme);
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task A_key_found_invalid_is_never_accepted_stale()
    {
        await VerifyOnceAsync(null);
        _time.Advance(Options.KeyCacheDuration);
        NextAnswer();

        var request = Authenticate();
        _time.Advance(TenantKeyCache.StaleWait);
        Assert.False(request.IsCompleted);
        _time.Advance(Options.KeyCheckTimeout);
        await Assert.ThrowsAsync<TimeoutException>(() => request.WaitAsync(RealPatience));
    }

    [Fact]
    public async Task An_invalidation_during_a_check_keeps_its_answer_out_of_the_cache()
    {
        var answer = NextAnswer();
        var request = Authenticate();
        _cache.Invalidate("acme");
        answer.SetResult(Acme);
        Assert.Equal(Acme, await request.WaitAsync(RealPatience));

        await VerifyOnceAsync(null);
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task A_request_after_an_invalidation_does_not_join_the_check_started_before_it()
    {
        var before = NextAnswer();
        var first = Authenticate();
        _cache.Invalidate("acme");
        var after = NextAnswer();
        var second = Authenticate();
        Assert.Equal(2, _checks.Count);

        after.SetResult(null);
        before.SetResult(Acme);
        Assert.Equal(Acme, await first.WaitAsync(RealPatience));
        Assert.Null(await second.WaitAsync(RealPatience));
    }

    [Fact]
    public async Task An_invalidated_tenant_is_checked_again_and_not_served_stale()
    {
        await VerifyOnceAsync(Acme);
        _cache.Invalidate("acme");
        NextAnswer();

        var request = Authenticate();
        _time.Advance(TenantKeyCache.StaleWait);
        Assert.False(request.IsCompleted);
        Assert.Equal(2, _checks.Count);
    }

    [Fact]
    public async Task A_malformed_key_is_refused_without_a_check()
    {
        Assert.Null(await _cache.AuthenticateAsync("not-a-key", CancellationToken.None));
        Assert.Empty(_checks);
    }
}
