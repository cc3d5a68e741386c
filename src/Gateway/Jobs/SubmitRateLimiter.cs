using System.Threading.RateLimiting;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Jobs;

/// <summary>
/// Per-tenant token buckets for submits (rate = quota submitsPerSecond, size = submitBurst), shared by REST and gRPC
/// so a tenant cannot double its rate by mixing protocols. A quota change starts a fresh bucket.
/// </summary>
public sealed class SubmitRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<TenantPrincipal> _limiter = PartitionedRateLimiter.Create<TenantPrincipal, string>(
        tenant => RateLimitPartition.GetTokenBucketLimiter($"{tenant.TenantId}@{tenant.Revision}", _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = tenant.Quotas.SubmitBurst,
            TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(tenant.Quotas.SubmitsPerSecond / 10)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, (int)Math.Ceiling(tenant.Quotas.SubmitsPerSecond / 10)) / tenant.Quotas.SubmitsPerSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>Takes <paramref name="count"/> submit tokens; throws <see cref="RateLimitedException"/> (429) with the wait when the bucket is short.</summary>
    public void Acquire(TenantPrincipal tenant, int count = 1)
    {
        if (TryAcquire(tenant, count) is { } refusal)
        {
            throw new RateLimitedException(refusal.RetryAfter, refusal.Message);
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> submit tokens; null when taken, otherwise the refusal. Nothing is thrown: a tenant
    /// flooding far past its rate is refused thousands of times a second, and each refusal should cost as little as
    /// possible of the gateway the other tenants share.
    /// </summary>
    public SubmitRefusal? TryAcquire(TenantPrincipal tenant, int count = 1)
    {
        using var lease = _limiter.AttemptAcquire(tenant, count);
        if (lease.IsAcquired)
        {
            return null;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return new SubmitRefusal(retryAfter, count > tenant.Quotas.SubmitBurst
            ? $"A batch of {count} is larger than the tenant's submit burst of {tenant.Quotas.SubmitBurst}."
            : $"The tenant's submit rate of {tenant.Quotas.SubmitsPerSecond}/s (burst {tenant.Quotas.SubmitBurst}) is exceeded.");
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Why submits were refused by the rate limiter, and after how long a retry can succeed.</summary>
public sealed record SubmitRefusal(TimeSpan RetryAfter, string Message)
{
    /// <summary>The Retry-After value: whole seconds, at least 1.</summary>
    public string RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A submit refused for now (the tenant's rate limit, or the mesh shedding load); carries the time after which a retry
/// can succeed. REST answers 429 with Retry-After, gRPC RESOURCE_EXHAUSTED with a <c>retry-after-ms</c> trailer.
/// </summary>
public sealed class RateLimitedException(TimeSpan retryAfter, string message) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
