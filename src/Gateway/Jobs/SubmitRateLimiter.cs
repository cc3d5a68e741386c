using System.Globalization;
using System.Threading.RateLimiting;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Jobs;

/// <summary>
/// Per-tenant token buckets for submits (rate = quota submitsPerSecond, size = submitBurst), shared by REST and gRPC
/// so a tenant cannot double its rate by mixing protocols. A quota change starts a fresh bucket. Refusals are returned,
/// never thrown: a tenant flooding far past its rate is refused thousands of times a second, and each refusal should
/// cost as little as possible of the gateway the other tenants share.
/// </summary>
public sealed class SubmitRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<TenantPrincipal> _limiter = PartitionedRateLimiter.Create<TenantPrincipal, string>(
        tenant => RateLimitPartition.GetTokenBucketLimiter($"{tenant.TenantId}@{tenant.Revision}", _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = tenant.Quotas.SubmitBurst,
            TokensPerPeriod = TokensPerPeriod(tenant.Quotas),
            ReplenishmentPeriod = ReplenishmentPeriod(tenant.Quotas),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>Takes one submit token; null when taken, otherwise the refusal with the wait.</summary>
    public SubmitRefusal? TryAcquire(TenantPrincipal tenant)
    {
        using var lease = _limiter.AttemptAcquire(tenant, 1);
        return lease.IsAcquired ? null : new SubmitRefusal(RetryAfter(lease, tenant.Quotas), Exceeded(tenant.Quotas));
    }

    /// <summary>
    /// Takes as many submit tokens as the bucket holds, up to <paramref name="count"/> (a batch: one per job). Returns how
    /// many were taken, and for the rest (or for all, when none was) the refusal with the wait for the next tokens.
    /// </summary>
    public (int Granted, SubmitRefusal? Refusal) TryAcquireUpTo(TenantPrincipal tenant, int count)
    {
        // More than the bucket's size can never be taken at once (the limiter would throw).
        var wanted = Math.Min(count, tenant.Quotas.SubmitBurst);
        while (wanted > 0)
        {
            using var lease = _limiter.AttemptAcquire(tenant, wanted);
            if (lease.IsAcquired)
            {
                break;
            }

            var available = _limiter.GetStatistics(tenant)?.CurrentAvailablePermits ?? 0;
            wanted = (int)Math.Clamp(available, 0, wanted - 1);
        }

        if (wanted == count)
        {
            return (count, null);
        }

        var message = wanted == 0
            ? Exceeded(tenant.Quotas)
            : $"The tenant's submit rate of {Rate(tenant.Quotas)}/s (burst {tenant.Quotas.SubmitBurst}) had tokens for {wanted} of the {count} jobs.";
        // The wait until the bucket's next tokens come (the limiter's own figure is for all the tokens asked at once).
        return (wanted, new SubmitRefusal(ReplenishmentPeriod(tenant.Quotas), message));
    }

    public void Dispose() => _limiter.Dispose();

    private static TimeSpan RetryAfter(RateLimitLease lease, TenantQuotas quotas) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : ReplenishmentPeriod(quotas);

    private static string Exceeded(TenantQuotas quotas) =>
        $"The tenant's submit rate of {Rate(quotas)}/s (burst {quotas.SubmitBurst}) is exceeded.";

    private static string Rate(TenantQuotas quotas) => quotas.SubmitsPerSecond.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Tokens come in steps of about a tenth of a second's worth (at least one).</summary>
    private static int TokensPerPeriod(TenantQuotas quotas) => Math.Max(1, (int)Math.Ceiling(quotas.SubmitsPerSecond / 10));

    private static TimeSpan ReplenishmentPeriod(TenantQuotas quotas) => TimeSpan.FromSeconds(TokensPerPeriod(quotas) / quotas.SubmitsPerSecond);
}

/// <summary>Why submits were refused before any work (the tenant's rate), and after how long a retry can succeed.</summary>
public sealed record SubmitRefusal(TimeSpan RetryAfter, string Message)
{
    /// <summary>The Retry-After value: whole seconds, at least 1.</summary>
    public string RetryAfterSeconds => Seconds(RetryAfter).ToString(CultureInfo.InvariantCulture);

    /// <summary>A wait in whole seconds, rounded up, at least 1 (what Retry-After carries).</summary>
    public static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));

    /// <summary>The refusal as the error of one job (a batch entry refused for want of a token).</summary>
    public RateLimitedException ToException() => new(RetryAfter, Message);
}

/// <summary>
/// A submit refused for now (the tenant's rate limit, or the mesh shedding load); carries the time after which a retry
/// can succeed. REST answers 429 with Retry-After, gRPC RESOURCE_EXHAUSTED with a <c>retry-after-ms</c> trailer.
/// </summary>
public sealed class RateLimitedException(TimeSpan retryAfter, string message) : Exception(message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
