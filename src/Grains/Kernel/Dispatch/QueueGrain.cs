using System.Collections.Immutable;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Kernel.LoadShedding;
using MeshOs.Grains.Kernel.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Dispatch;

/// <summary>
/// One queue shard (pool, capability, shard). Holds no durable state of its own: on activation it rebuilds its index
/// from the job store, and every <see cref="DispatchOptions.ReconcileInterval"/> it re-reads the store to index any
/// Pending job an enqueue failed to deliver (a silo died in between). Dispatchers long-poll it with
/// <see cref="TakeAsync"/>.
/// </summary>
internal sealed partial class QueueGrain(
    IJobStore store,
    IOptions<DispatchOptions> dispatchOptions,
    IOptions<AdmissionOptions> admissionOptions,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<QueueGrain> logger) : Grain, IQueueGrain, IRemindable
{
    private const int PageSize = 1_000;
    private static readonly TimeSpan TenantLimitTtl = TimeSpan.FromSeconds(30);

    private readonly DispatchOptions _options = dispatchOptions.Value;
    private readonly QueueIndex _index = new();
    private readonly AdmissionControl _admission = new(admissionOptions.Value);
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly Dictionary<string, TenantLimits> _limits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _reservations = new(StringComparer.Ordinal);
    private QueueKey _key;
    private IGrainTimer? _promoteTimer;
    private bool _registered;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _key = QueueKey.Parse(this.GetPrimaryKeyString());
        await RebuildAsync(cancellationToken);
        this.RegisterGrainTimer(static (self, _) => self.ReconcileAsync(), this,
            new GrainTimerCreationOptions { DueTime = _options.ReconcileInterval, Period = _options.ReconcileInterval, Interleave = true, KeepAlive = true });
        this.RegisterGrainTimer(static (self, _) => self.SweepLeasesAsync(), this,
            new GrainTimerCreationOptions { DueTime = _options.LeaseSweepInterval, Period = _options.LeaseSweepInterval, Interleave = true, KeepAlive = true });
        // Keeps the shard (and so recovery of its jobs) alive across silo failures even when nobody polls it.
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public async Task<Admission> AdmitAsync(string tenantId, int maxQueuedJobs, int maxConcurrentJobs)
    {
        await EnsureRegisteredAsync();
        _limits[tenantId] = new TenantLimits(ShareOf(maxConcurrentJobs), time.GetUtcNow());
        var reserved = _reservations.GetValueOrDefault(tenantId);
        if (_index.PendingOf(tenantId) + reserved >= ShareOf(maxQueuedJobs))
        {
            return Admission.QueueFull;
        }

        if (_index.Count + _reservations.Values.Sum() >= _options.MaxPendingPerShard)
        {
            return Admission.ShardFull;
        }

        if (_admission.ShouldRefuse(time.GetUtcNow(), _index.ReadyCount))
        {
            return Admission.Overloaded;
        }

        _reservations[tenantId] = reserved + 1;
        return Admission.Admitted;
    }

    public Task CancelAdmissionAsync(string tenantId)
    {
        Release(tenantId);
        return Task.CompletedTask;
    }

    public Task EnqueueAsync(QueuedJob job, bool admitted)
    {
        if (admitted)
        {
            Release(job.TenantId);
        }

        var now = time.GetUtcNow();
        if (_index.Add(job, now))
        {
            EnsureKnownLimits(job.TenantId);
            OnJobsAvailable(now);
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(Guid jobId)
    {
        _index.Remove(jobId);
        return Task.CompletedTask;
    }

    public Task<QueueHead?> PeekAsync()
    {
        _index.PromoteDue(time.GetUtcNow());
        return Task.FromResult(_index.Head(ConcurrencyCap));
    }

    public async Task<TakeResult> TakeAsync(string dispatcherId, int max, int minPriority, TimeSpan wait)
    {
        var now = time.GetUtcNow();
        _index.PromoteDue(now);
        max = Math.Clamp(max, 1, 1_000);
        var taken = _index.Take(max, ConcurrencyCap, now, minPriority);
        Measure(now, taken);
        if (taken.Count > 0 || wait <= TimeSpan.Zero)
        {
            return new TakeResult([.. taken], _index.Head(ConcurrencyCap));
        }

        var waiter = new Waiter(dispatcherId, max);
        var node = _waiters.AddLast(waiter);
        var limit = wait < _options.MaxTakeWait ? wait : _options.MaxTakeWait;
        ImmutableArray<TakenJob> jobs;
        try
        {
            // A stopping silo answers its long-polls at once: they would hold its grains' deactivation for seconds.
            jobs = await waiter.Result.Task.WaitAsync(limit, time, lifetime.ApplicationStopping);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Completed by OnJobsAvailable at the same moment? Then the jobs are ours: do not drop them.
            jobs = waiter.Result.Task.IsCompletedSuccessfully ? waiter.Result.Task.Result : [];
            waiter.Result.TrySetResult([]);
        }
        finally
        {
            if (node.List is not null)
            {
                _waiters.Remove(node);
            }
        }

        return new TakeResult(jobs, _index.Head(ConcurrencyCap));
    }

    public Task ReturnAsync(ImmutableArray<TakenJob> jobs)
    {
        var now = time.GetUtcNow();
        _index.Return(jobs, now);
        OnJobsAvailable(now);
        return Task.CompletedTask;
    }

    public Task HoldBackAsync(ImmutableArray<TakenJob> jobs, TimeSpan holdFor)
    {
        var now = time.GetUtcNow();
        _index.Return(jobs, now, holdFor < _options.MaxHoldBack ? holdFor : _options.MaxHoldBack);
        OnJobsAvailable(now); // the tenants' other jobs may have room again; schedules the held jobs' return
        return Task.CompletedTask;
    }

    public Task LeaseEndedAsync(Guid jobId, string tenantId)
    {
        if (_index.EndInFlight(jobId))
        {
            // A tenant that was at its concurrency cap may have work ready again.
            OnJobsAvailable(time.GetUtcNow());
        }

        return Task.CompletedTask;
    }

    public Task<QueueStats> GetStatsAsync() => Task.FromResult(new QueueStats(
        _key.ToString(),
        _index.ReadyCount,
        _index.DelayedCount,
        _waiters.Count,
        _index.PendingByTenant.ToImmutableDictionary(StringComparer.Ordinal),
        _index.InFlightByTenant.ToImmutableDictionary(StringComparer.Ordinal),
        _index.OldestReadySince()));

    private void OnJobsAvailable(DateTimeOffset now)
    {
        _index.PromoteDue(now);
        while (_waiters.First is { } first && _index.ReadyCount > 0)
        {
            var waiter = first.Value;
            _waiters.RemoveFirst();
            if (waiter.Result.Task.IsCompleted)
            {
                continue;
            }

            var taken = _index.Take(waiter.Max, ConcurrencyCap, now);
            Measure(now, taken);
            if (taken.Count == 0)
            {
                _waiters.AddFirst(waiter);
                break;
            }

            if (!waiter.Result.TrySetResult([.. taken]))
            {
                _index.Return(taken, now); // measured already; marked handed back, so not measured again
            }
        }

        ScheduleNextPromotion(now);
    }

    /// <summary>Feeds the admission control with how long the jobs just taken waited.</summary>
    private void Measure(DateTimeOffset now, List<TakenJob> taken)
    {
        if (taken.Count > 0)
        {
            _admission.OnTaken(now, taken);
        }
    }

    private void ScheduleNextPromotion(DateTimeOffset now)
    {
        if (_index.NextDueAt() is not { } due)
        {
            return;
        }

        var delay = due - now;
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        delay += TimeSpan.FromMilliseconds(5);
        if (_promoteTimer is null)
        {
            _promoteTimer = this.RegisterGrainTimer(static (self, _) =>
            {
                self.OnJobsAvailable(self.Now);
                return Task.CompletedTask;
            }, this, new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });
        }
        else
        {
            _promoteTimer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RebuildAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var pending = 0;
        Guid? after = null;
        while (true)
        {
            var page = await store.ListPendingAsync(_key, after, PageSize, cancellationToken);
            foreach (var job in page)
            {
                _index.Add(new QueuedJob(job.JobId, job.TenantId, job.Priority, job.AvailableAt, job.CreatedAt, job.DataClasses), now);
                pending++;
            }

            if (page.Length < PageSize)
            {
                break;
            }

            after = page[^1].JobId;
        }

        var leased = await LoadLeasedAsync(cancellationToken);
        foreach (var job in leased)
        {
            _index.MarkInFlight(job.JobId, job.TenantId, now);
        }

        // Every leased job gets its grain activated: if it died with a silo, the new activation judges its lease.
        await RecoverLeasesAsync(leased);

        LogRebuilt(logger, _key.ToString(), pending, leased.Count);
        ScheduleNextPromotion(now);
    }

    private async Task ReconcileAsync()
    {
        var now = time.GetUtcNow();
        ForgetIdleTenantLimits(now);
        var added = 0;
        Guid? after = null;
        while (true)
        {
            var page = await store.ListPendingAsync(_key, after, PageSize);
            foreach (var job in page)
            {
                if (_index.Contains(job.JobId) || now - job.UpdatedAt < _options.ReconcileMinAge || _index.IsRecentlyTaken(job.JobId, now, _options.ReconcileMinAge))
                {
                    continue;
                }

                if (_index.Add(new QueuedJob(job.JobId, job.TenantId, job.Priority, job.AvailableAt, job.CreatedAt, job.DataClasses), now))
                {
                    added++;
                }
            }

            if (page.Length < PageSize)
            {
                break;
            }

            after = page[^1].JobId;
        }

        if (added > 0)
        {
            LogReconciled(logger, _key.ToString(), added);
            OnJobsAvailable(now);
        }
    }

    /// <summary>
    /// Every <see cref="DispatchOptions.LeaseSweepInterval"/>: has the grain of each job whose lease lapsed in the store
    /// judge it (its silo may have died), and ends the in-flight marks of jobs the store no longer lists as leased
    /// (see <see cref="QueueIndex.EndInFlightNotIn"/>), those taken at least <see cref="DispatchOptions.ReconcileMinAge"/>
    /// before the read (a lease is written within seconds of its take).
    /// </summary>
    private async Task SweepLeasesAsync()
    {
        var now = time.GetUtcNow();
        var leased = await LoadLeasedAsync(CancellationToken.None);
        var ended = _index.EndInFlightNotIn(leased.Select(j => j.JobId).ToHashSet(), now - _options.ReconcileMinAge);
        if (ended > 0)
        {
            LogInFlightEnded(logger, _key.ToString(), ended);
            OnJobsAvailable(time.GetUtcNow());
        }

        await RecoverLeasesAsync([.. leased.Where(j => j.LeaseExpiresAt is { } expiry && expiry < now)]);
    }

    /// <summary>
    /// Has each job's grain check its lease, 200 at a time. One job whose grain cannot be reached (its silo just died)
    /// is logged and met again at the next sweep; it does not keep the others, or the shard's activation, waiting.
    /// </summary>
    private async Task RecoverLeasesAsync(List<LeasedJobRef> jobs)
    {
        foreach (var chunk in jobs.Chunk(200))
        {
            await Task.WhenAll(chunk.Select(async j =>
            {
                try
                {
                    await GrainFactory.GetJobGrain(j.JobId).RecoverLeaseAsync(j.Epoch);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogRecoverFailed(logger, _key.ToString(), j.JobId, ex.GetBaseException().Message);
                }
            }));
        }
    }

    private async Task<List<LeasedJobRef>> LoadLeasedAsync(CancellationToken cancellationToken)
    {
        var all = new List<LeasedJobRef>();
        Guid? after = null;
        while (true)
        {
            var page = await store.ListLeasedAsync(_key, after, PageSize, cancellationToken);
            all.AddRange(page);
            if (page.Length < PageSize)
            {
                return all;
            }

            after = page[^1].JobId;
        }
    }

    private async Task EnsureRegisteredAsync()
    {
        if (!_registered)
        {
            await GrainFactory.GetGrain<IQueueDirectoryGrain>(0).RegisterAsync(_key.Pool, _key.Capability);
            _registered = true;
        }
    }

    private DateTimeOffset Now => time.GetUtcNow();

    private int ConcurrencyCap(string tenantId) =>
        _limits.TryGetValue(tenantId, out var limits) ? limits.MaxConcurrent : ShareOf(TenantQuotas.Default.MaxConcurrentJobs);

    private void EnsureKnownLimits(string tenantId)
    {
        if (_limits.TryGetValue(tenantId, out var known) && time.GetUtcNow() - known.FetchedAt < TenantLimitTtl)
        {
            return;
        }

        _limits[tenantId] = known ?? new TenantLimits(ShareOf(TenantQuotas.Default.MaxConcurrentJobs), time.GetUtcNow());
        RefreshLimitsAsync(tenantId).Ignore();
    }

    private async Task RefreshLimitsAsync(string tenantId)
    {
        if (await GrainFactory.GetGrain<ITenantGrain>(tenantId).GetAsync() is { } tenant)
        {
            _limits[tenantId] = new TenantLimits(ShareOf(tenant.Quotas.MaxConcurrentJobs), time.GetUtcNow());
        }
    }

    /// <summary>
    /// Drops the cached limits of tenants with nothing queued, in flight or reserved here once they are stale: the
    /// cache would otherwise hold every tenant that ever submitted to this shard. They are fetched again on their next job.
    /// </summary>
    private void ForgetIdleTenantLimits(DateTimeOffset now)
    {
        foreach (var (tenantId, limits) in _limits)
        {
            if (now - limits.FetchedAt >= TenantLimitTtl && _index.PendingOf(tenantId) == 0 && _index.InFlightOf(tenantId) == 0
                && !_reservations.ContainsKey(tenantId))
            {
                _limits.Remove(tenantId);
            }
        }
    }

    private int ShareOf(int quota) => Math.Max(1, (quota + _options.ShardsPerQueue - 1) / _options.ShardsPerQueue);

    private void Release(string tenantId)
    {
        var left = _reservations.GetValueOrDefault(tenantId) - 1;
        if (left <= 0)
        {
            _reservations.Remove(tenantId);
        }
        else
        {
            _reservations[tenantId] = left;
        }
    }

    private sealed record TenantLimits(int MaxConcurrent, DateTimeOffset FetchedAt);

    private sealed class Waiter(string dispatcherId, int max)
    {
        public string DispatcherId { get; } = dispatcherId;

        public int Max { get; } = max;

        public TaskCompletionSource<ImmutableArray<TakenJob>> Result { get; } = new(TaskCreationOptions.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue {Queue}: rebuilt from the store, {Pending} pending, {Leased} leased")]
    private static partial void LogRebuilt(ILogger logger, string queue, int pending, int leased);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: job {JobId} could not check its lease ({Reason}); trying again at the next sweep")]
    private static partial void LogRecoverFailed(ILogger logger, string queue, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: {Count} job(s) counted as held by agents were no longer leased in the store (the news of their end was lost); their tenants' slots are free again")]
    private static partial void LogInFlightEnded(ILogger logger, string queue, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue}: reconciliation indexed {Count} pending job(s) that had not been queued")]
    private static partial void LogReconciled(ILogger logger, string queue, int count);
}
