using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using Orleans.Runtime;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// Carries agents' reports (start, result, release) to job grains. A report that fails for a passing reason (the
/// store or a silo briefly unavailable) is retried here for up to <see cref="RetryBudget"/>, so agents need not
/// resend; a refusal (stale epoch, invalid result) is final.
/// </summary>
public sealed partial class AgentReporter(IGrainFactory grains, ILogger<AgentReporter> logger)
{
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long one try waits for the job grain. A report that reached a silo just before it died gets no answer
    /// until the cluster's 30 s response timeout, while the job's lease runs out; a report stops waiting sooner and is
    /// sent again (the job's new activation answers; a repeated result is recognised as such).
    /// </summary>
    public static readonly TimeSpan TryTimeout = TimeSpan.FromSeconds(3);

    public Task StartAsync(string agentId, Guid jobId, long epoch) =>
        WithRetryAsync(jobId, () => grains.GetJobGrain(jobId).StartAsync(agentId, epoch));

    public Task CompleteAsync(string agentId, Guid jobId, long epoch, JobResult result) =>
        WithRetryAsync(jobId, () => grains.GetJobGrain(jobId).CompleteAsync(agentId, epoch, result));

    public Task ReleaseAsync(string agentId, Guid jobId, long epoch, string reason) =>
        WithRetryAsync(jobId, () => grains.GetJobGrain(jobId).ReleaseAsync(agentId, epoch, string.IsNullOrEmpty(reason) ? "released by the agent" : reason));

    private async Task WithRetryAsync(Guid jobId, Func<Task> report)
    {
        var deadline = DateTimeOffset.UtcNow + RetryBudget;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await report().WaitAsync(TryTimeout);
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && DateTimeOffset.UtcNow + delay < deadline)
            {
                LogRetry(logger, jobId, ex.GetBaseException().Message);
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2_000));
            }
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is MeshException { Code: MeshErrorCode.Unavailable } or SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || (ex is MeshException { Code: MeshErrorCode.FailedPrecondition } m && m.Message.Contains("changed concurrently", StringComparison.Ordinal));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Report for job {JobId} failed for now ({Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, Guid jobId, string reason);
}
