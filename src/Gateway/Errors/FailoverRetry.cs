namespace MeshOs.Gateway.Errors;

/// <summary>How long one try of a repeatable cluster call may take, and how long it is tried again after a failover.</summary>
/// <param name="TryTimeout">
/// One try's wait. A call in flight through a silo that dies gets no answer until the cluster client's response
/// timeout (30 s); a try given up sooner is made again through a live silo.
/// </param>
/// <param name="Budget">From the first try: no try starts after it (the last one may run up to <paramref name="TryTimeout"/> past it).</param>
public readonly record struct RetryLimits(TimeSpan TryTimeout, TimeSpan Budget);

/// <summary>
/// Runs a call into the cluster that is safe to repeat (the same job id, an audit entry that may be stored twice) and
/// makes it again, backing off from 50 ms, while it fails because a silo went away or did not answer in time
/// (<see cref="ErrorMapping.IsFailover"/>). Any other failure, and a failover past the budget, reaches the caller.
/// </summary>
public static class FailoverRetry
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Runs <paramref name="call"/>; <c>Retried</c> tells whether more than one try was made.</summary>
    public static async Task<(T Result, bool Retried)> RunAsync<T>(Func<Task<T>> call, RetryLimits limits, TimeProvider time,
        CancellationToken cancellationToken = default)
    {
        var deadline = time.GetUtcNow() + limits.Budget;
        var delay = FirstDelay;
        for (var retried = false; ; retried = true)
        {
            try
            {
                return (await call().WaitAsync(limits.TryTimeout, time, cancellationToken), retried);
            }
            catch (Exception ex) when (ErrorMapping.IsFailover(ex) && time.GetUtcNow() + delay < deadline)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay *= 2;
            }
        }
    }

    /// <inheritdoc cref="RunAsync{T}(Func{Task{T}}, RetryLimits, TimeProvider, CancellationToken)"/>
    public static Task RunAsync(Func<Task> call, RetryLimits limits, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(async () =>
        {
            await call();
            return true;
        }, limits, time, cancellationToken);
}
