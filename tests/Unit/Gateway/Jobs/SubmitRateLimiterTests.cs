using System.Collections.Immutable;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Jobs;

namespace MeshOs.Tests.Unit.Gateway.Jobs;

/// <summary>
/// The per-tenant submit buckets. Tenants here refill one token every 10 s (0.1/s), so nothing refills while a test
/// runs and every figure is exact.
/// </summary>
public sealed class SubmitRateLimiterTests : IDisposable
{
    private readonly SubmitRateLimiter _limiter = new();

    private static TenantPrincipal Tenant(int burst, double rate = 0.1) =>
        new("t" + Guid.NewGuid().ToString("N")[..8], TenantKind.Customer, TenantQuotas.Default with { SubmitBurst = burst, SubmitsPerSecond = rate }, ["platform"], 1);

    [Fact]
    public void A_batch_larger_than_the_burst_gets_the_whole_burst_and_a_refusal_for_the_rest()
    {
        var tenant = Tenant(burst: 5);

        var (granted, refusal) = _limiter.TryAcquireUpTo(tenant, 20);

        Assert.Equal(5, granted);
        Assert.NotNull(refusal);
        Assert.Equal(TimeSpan.FromSeconds(10), refusal.RetryAfter);
        Assert.Contains("tokens for 5 of the 20 jobs", refusal.Message, StringComparison.Ordinal);
        Assert.Equal("10", refusal.RetryAfterSeconds);
    }

    [Fact]
    public void An_empty_bucket_grants_nothing_and_says_when_the_next_token_comes()
    {
        var tenant = Tenant(burst: 3);
        Assert.Equal((3, (SubmitRefusal?)null), _limiter.TryAcquireUpTo(tenant, 3));

        var (granted, refusal) = _limiter.TryAcquireUpTo(tenant, 2);

        Assert.Equal(0, granted);
        Assert.Equal(TimeSpan.FromSeconds(10), refusal!.RetryAfter);
        Assert.Contains("0.1/s (burst 3) is exceeded", refusal.Message, StringComparison.Ordinal);
        Assert.NotNull(_limiter.TryAcquire(tenant));
    }

    [Fact]
    public void What_the_bucket_holds_is_granted_in_full_and_single_submits_share_the_bucket()
    {
        var tenant = Tenant(burst: 10);
        Assert.Null(_limiter.TryAcquire(tenant));
        Assert.Null(_limiter.TryAcquire(tenant));

        Assert.Equal((8, (SubmitRefusal?)null), _limiter.TryAcquireUpTo(tenant, 8));
        Assert.Equal(0, _limiter.TryAcquireUpTo(tenant, 1).Granted);
    }

    [Fact]
    public void A_refusal_as_a_batch_entrys_error_keeps_its_wait()
    {
        var refusal = new SubmitRefusal(TimeSpan.FromMilliseconds(1_200), "over the rate");

        var error = refusal.ToException();

        Assert.Equal(TimeSpan.FromMilliseconds(1_200), error.RetryAfter);
        Assert.Equal("over the rate", error.Message);
        Assert.Equal(2, SubmitRefusal.Seconds(error.RetryAfter));
        Assert.Equal(1, SubmitRefusal.Seconds(TimeSpan.Zero));
    }

    public void Dispose() => _limiter.Dispose();
}
