using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// Carries agents' reports (start, result, release) to job grains. A report that fails for a passing reason (the
/// store or a silo briefly unavailable) is retried here for up to <see cref="RetryBudget"/>, so agents need not
/// resend; a refusal (stale epoch, invalid result) is final. A report about a job the agent's owner could never have
/// been leased (another tenant's job outside the owner's pools, or no job at all) is NotFound, exactly as for a job
/// that does not exist: a refusal must not tell a tenant's agent that another tenant's job exists, nor its state.
/// </summary>
public sealed partial class AgentReporter(IGrainFactory grains, TimeProvider time, ILogger<AgentReporter> logger)
{
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long one try waits for the job grain. A report that reached a silo just before it died gets no answer
    /// until the cluster's 30 s response timeout, while the job's lease runs out; a report stops waiting sooner and is
    /// sent again (the job's new activation answers; a repeated result is recognised as such).
    /// </summary>
    public static readonly TimeSpan TryTimeout = TimeSpan.FromSeconds(3);

    /// <param name="owner">Who runs the agent: <c>platform</c> or the tenant (the agent's registration says).</param>
    public Task StartAsync(string owner, string agentId, Guid jobId, long epoch) =>
        RefusedAsNotFoundAsync(owner, jobId, () => grains.GetJobGrain(jobId).StartAsync(agentId, epoch));

    public Task CompleteAsync(string owner, string agentId, Guid jobId, long epoch, JobResult result) =>
        RefusedAsNotFoundAsync(owner, jobId, () => grains.GetJobGrain(jobId).CompleteAsync(agentId, epoch, result));

    /// <summary>
    /// Releasing a lease the agent does not hold is a no-op (an agent may repeat a release whose answer it lost), so
    /// the job is looked at first: a job the owner could not serve is NotFound rather than silently "released".
    /// </summary>
    public async Task ReleaseAsync(string owner, string agentId, Guid jobId, long epoch, string reason)
    {
        await RequireServableAsync(owner, jobId);
        await WithRetryAsync(jobId, () => grains.GetJobGrain(jobId).ReleaseAsync(agentId, epoch, string.IsNullOrEmpty(reason) ? "released by the agent" : reason));
    }

    /// <summary>
    /// Sends a report (with the mutation's audit entry, <see cref="Audit.AuditCarriage"/>); a stale-lease refusal about
    /// a job the owner could not serve becomes NotFound.
    /// </summary>
    private async Task RefusedAsNotFoundAsync(string owner, Guid jobId, Func<Task> report)
    {
        try
        {
            await Audit.AuditCarriage.CarryAsync(jobId, () => WithRetryAsync(jobId, report));
        }
        catch (MeshException ex) when (ex.Code == MeshErrorCode.StaleEpoch)
        {
            // Only the refusal path pays for the look-up: an accepted report proves the agent held the lease.
            await RequireServableAsync(owner, jobId);
            throw;
        }
    }

    private async Task RequireServableAsync(string owner, Guid jobId)
    {
        JobRecord? job = null;
        await WithRetryAsync(jobId, async () => job = await grains.GetJobGrain(jobId).GetAsync(null));
        if (job is null || !await MayHaveServedAsync(owner, job.Spec.Pool))
        {
            throw MeshException.NotFound($"Job '{jobId}'");
        }
    }

    private async Task<bool> MayHaveServedAsync(string owner, string pool)
    {
        var poolOwner = PoolAccess.OwnerOf(pool);
        if (!PoolAccess.NeedsGrant(owner, pool) || poolOwner == AgentPools.PlatformOwner)
        {
            return !PoolAccess.NeedsGrant(owner, pool);
        }

        return PoolAccess.MayHaveServed(owner, pool, await grains.GetGrain<ITenantGrain>(poolOwner).GetPoolGrantsAsync());
    }

    private async Task WithRetryAsync(Guid jobId, Func<Task> report)
    {
        var deadline = time.GetUtcNow() + RetryBudget;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await report().WaitAsync(TryTimeout, time);
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && time.GetUtcNow() + delay < deadline)
            {
                LogRetry(logger, jobId, ex.GetBaseException().Message);
                await Task.Delay(delay, time);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2_000));
            }
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is MeshException { Code: MeshErrorCode.Unavailable } || Errors.ErrorMapping.IsFailover(ex)
        || ex is MeshException { Reason: MeshErrorReason.ChangedConcurrently };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Report for job {JobId} failed for now ({Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, Guid jobId, string reason);
}
