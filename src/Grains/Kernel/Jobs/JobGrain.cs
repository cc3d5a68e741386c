using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Kernel.Dispatch;
using MeshOs.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>
/// One job: the single writer of its record. Every change is written to the job store (group commit) before the call
/// that caused it returns. The lease epoch is the fencing token: it only grows, and it is durable before an agent
/// sees it, so no report from an older lease can ever be taken for the current one. A call's audit entry, when the
/// gateway carries it (<see cref="AuditCarry"/>), is written in the same transaction as the change it records.
/// </summary>
[CollectionAgeLimit(Minutes = 10)]
[Orleans.Placement.PreferLocalPlacement] // a job is mostly called by the gateway that took its submit and leases it out: keep it there
internal sealed partial class JobGrain(
    IJobStore store,
    IOptions<JobOptions> jobOptions,
    IOptions<DispatchOptions> dispatchOptions,
    IOptions<LoadShedding.AdmissionOptions> admissionOptions,
    QueueReferences queues,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<JobGrain> logger) : Grain, IJobGrain, IAuditCarrier
{
    private readonly JobOptions _options = jobOptions.Value;
    private readonly int _shards = dispatchOptions.Value.ShardsPerQueue;
    private readonly List<TaskCompletionSource> _watchers = [];
    private JobRecord? _job;
    private Task? _loading;
    private bool _loaded;
    private bool _enqueuePending;
    private bool _runningUnsaved;
    private DateTimeOffset? _persistRunningAt;
    private IQueueGrain? _queue;
    private DateTimeOffset _leaseExpiresAt;
    private IGrainTimer? _deadline;

    /// <summary>
    /// Audit entries of changes kept in memory (a start: see <see cref="StartAsync"/>), written with the job's next write
    /// (or appended on their own when the activation ends first): an entry is durable no later than its change.
    /// </summary>
    private readonly List<AuditDraft> _heldAudit = [];

    /// <summary>How soon a deadline that could not be acted on (the store failed) is tried again.</summary>
    private static readonly TimeSpan DeadlineRetry = TimeSpan.FromSeconds(2);

    private Guid JobId => this.GetPrimaryKey();

    bool IAuditCarrier.Carries(string target) =>
        target.Length == 40 && target.StartsWith("job/", StringComparison.Ordinal) && Guid.TryParse(target.AsSpan(4), out var id) && id == JobId;

    public async Task<SubmitOutcome> SubmitAsync(string tenantId, JobSpec spec, int maxQueuedJobs, int maxConcurrentJobs)
    {
        if (_loaded && _job is not null)
        {
            return Duplicate(_job, tenantId, spec);
        }

        var now = time.GetUtcNow();
        var shard = QueueKey.ShardOf(JobId, _shards);
        var queue = QueueOf(spec, shard);
        switch (await queue.AdmitAsync(tenantId, maxQueuedJobs, maxConcurrentJobs))
        {
            case Admission.QueueFull:
                throw MeshException.Exhausted($"The tenant has {maxQueuedJobs} jobs queued already (quota maxQueuedJobs).");
            case Admission.ShardFull:
                throw MeshException.Exhausted($"Queue {spec.Pool}/{spec.Capability} is full (MeshOs:Dispatch:MaxPendingPerShard); retry later.");
            case Admission.Overloaded:
                throw MeshException.Overloaded($"Queue {spec.Pool}/{spec.Capability} is at capacity (its jobs wait longer than MeshOs:Admission:ShardQueueDelay); nothing was written, retry later.",
                    admissionOptions.Value.RetryAfter);
        }

        var record = new JobRecord(
            JobId, tenantId, spec, shard, JobStatus.Pending, Attempts: 0, Version: 1,
            CreatedAt: now, UpdatedAt: now, AvailableAt: now, AgentId: null, Epoch: 0, LeaseExpiresAt: null,
            StartedAt: null, CompletedAt: null, ResultJson: null, Error: null, Usage: JobUsage.None, LeasedAt: null);

        JobRecord? existing;
        try
        {
            existing = AuditCarry.Current is { } carry && store.RecordsAudit
                ? await store.InsertAsync(record, [carry.Draft])
                : await store.InsertAsync(record);
        }
        catch (Exception ex) when (ex is not MeshException)
        {
            queue.CancelAdmissionAsync(tenantId).Ignore();
            Invalidate();
            LogStoreFailed(logger, JobId, "submit", ex.GetBaseException().Message);
            throw MeshException.Unavailable("The job store is unavailable; the job was not accepted. Retry later.");
        }

        if (existing is not null)
        {
            queue.CancelAdmissionAsync(tenantId).Ignore();
            SetLoaded(existing);
            return Duplicate(existing, tenantId, spec);
        }

        SetLoaded(record);
        if (store.RecordsAudit)
        {
            AuditCarry.Current?.MarkRecorded(); // inserted, with its entry
        }

        KernelMetrics.JobSubmitted();
        await EnqueueAsync(admitted: true);
        return new SubmitOutcome(record, Created: true);
    }

    public async Task<JobRecord?> GetAsync(string? tenantId)
    {
        await EnsureLoadedAsync();
        return Visible(tenantId);
    }

    public async Task<JobRecord?> WaitForChangeAsync(string? tenantId, long afterVersion, TimeSpan wait)
    {
        await EnsureLoadedAsync();
        if (Visible(tenantId) is not { } job || job.Version > afterVersion || job.Status.IsTerminal())
        {
            return Visible(tenantId);
        }

        var changed = new TaskCompletionSource(TaskCreationOptions.None);
        _watchers.Add(changed);
        try
        {
            // A stopping silo answers at once (the watcher asks again elsewhere) instead of holding its deactivation.
            await changed.Task.WaitAsync(Clamp(wait, TimeSpan.Zero, TimeSpan.FromSeconds(25)), time, lifetime.ApplicationStopping);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }
        finally
        {
            _watchers.Remove(changed);
        }

        return Visible(tenantId);
    }

    public async Task<JobRecord> CancelAsync(string? tenantId, string reason)
    {
        await EnsureLoadedAsync();
        var job = Visible(tenantId) ?? throw MeshException.NotFound($"Job '{JobId}'");
        if (job.Status.IsTerminal())
        {
            throw MeshException.Precondition($"The job is already {job.Status}.");
        }

        var now = time.GetUtcNow();
        var wasLeased = job.Status.IsLeased();
        var cancelled = job with
        {
            Status = JobStatus.Cancelled,
            CompletedAt = now,
            Error = string.IsNullOrWhiteSpace(reason) ? "cancelled" : reason,
        };
        cancelled = await WriteAsync(cancelled, AttemptEvent(job, cancelled, AttemptOutcome.Cancelled, now, wasLeased));
        if (wasLeased && job.AgentId is { } agentId)
        {
            GrainFactory.GetGrain<IAgentGrain>(agentId).SendCommandAsync(new AgentCommand(AgentCommandKind.CancelJob, JobId, cancelled.Error!, job.Epoch)).Ignore();
            Queue.LeaseEndedAsync(JobId, job.TenantId).Ignore();
        }
        else
        {
            Queue.RemoveAsync(JobId).Ignore();
        }

        return cancelled;
    }

    public async Task<LeaseGrant?> LeaseAsync(string agentId, string? agentVersion, TimeSpan leaseDuration, Abstractions.Routing.RoutingDecision? routing = null)
    {
        await EnsureLoadedAsync();
        var now = time.GetUtcNow();
        if (_job is not { Status: JobStatus.Pending } job)
        {
            return null;
        }

        var duration = leaseDuration <= TimeSpan.Zero ? _options.LeaseDuration : Clamp(leaseDuration, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(30));
        var leased = job with
        {
            Status = JobStatus.Leased,
            Attempts = job.Attempts + 1,
            AgentId = agentId,
            AgentVersion = agentVersion,
            Epoch = job.Epoch + 1,
            LeaseExpiresAt = now + duration,
            LeasedAt = now,
            StartedAt = null,
            Routing = routing,
        };
        leased = await WriteAsync(leased, []);
        _leaseExpiresAt = now + duration;
        _enqueuePending = false;
        ScheduleDeadline();
        KernelMetrics.LeaseGranted(now - job.AvailableAt);
        return new LeaseGrant(JobId, job.TenantId, leased.Epoch, _leaseExpiresAt, leased.Attempts,
            job.Spec.Type, job.Spec.Capability, job.Spec.PayloadJson, job.Spec.Timeout);
    }

    public async Task<bool> RenewAsync(string agentId, long epoch)
    {
        await EnsureLoadedAsync();
        if (_job is { } finished && finished.Status.IsTerminal() && finished.Status is not (JobStatus.Cancelled or JobStatus.TimedOut)
            && finished.AgentId == agentId && finished.Epoch == epoch)
        {
            return true; // its result may have been accepted: nothing to revoke (the agent may not have seen the ack yet)
        }

        if (!IsCurrentLease(agentId, epoch))
        {
            return false;
        }

        _leaseExpiresAt = time.GetUtcNow() + _options.LeaseDuration;
        ScheduleDeadline();
        return true;
    }

    public async Task StartAsync(string agentId, long epoch)
    {
        await EnsureLoadedAsync();
        if (_job is { Status: JobStatus.Running } running && IsCurrentLease(agentId, epoch))
        {
            return;
        }

        var job = RequireCurrentLease(agentId, epoch);
        var now = time.GetUtcNow();

        // Running is kept in memory first and written only if the job is still running after RunningPersistDelay:
        // most jobs finish sooner, and their completion write carries everything. Until then the store says Leased,
        // which recovery treats the same way (the lease decides), so nothing is lost by waiting.
        _job = job with { Status = JobStatus.Running, StartedAt = now, Version = job.Version + 1, UpdatedAt = now };
        _runningUnsaved = true;
        if (store.RecordsAudit && AuditCarry.Current is { } carry)
        {
            // Its entry waits with the change: both are written with the job's next write.
            _heldAudit.Add(carry.Draft);
            carry.MarkRecorded();
        }
        NotifyWatchers();
        ScheduleDeadline();
        if (_options.RunningPersistDelay <= TimeSpan.Zero)
        {
            await PersistRunningAsync();
        }
        else
        {
            _persistRunningAt = now + _options.RunningPersistDelay;
            ScheduleDeadline(); // the one deadline timer also covers this
        }
    }

    private async Task PersistRunningAsync()
    {
        if (_runningUnsaved && _job is { Status: JobStatus.Running } running)
        {
            await WriteAsync(running, [], bumpVersion: false); // the version shown to watchers when it started
        }
    }

    public async Task<JobRecord> CompleteAsync(string agentId, long epoch, JobResult result)
    {
        await EnsureLoadedAsync();
        result = JobResultPolicy.Validate(result, _options.MaxResultBytes);
        if (_job is { } done && done.Status.IsTerminal() && done.Epoch == epoch && done.AgentId == agentId)
        {
            // The lease this agent held has ended: with this very result (a repeat whose answer was lost), or some
            // other way (timed out, cancelled, dead-lettered, another result), which the agent must learn.
            return JobLifecycle.IsRecordedResult(done, result) ? done : throw Ended(done);
        }

        var job = RequireCurrentLease(agentId, epoch);

        var now = time.GetUtcNow();
        if (job.Status == JobStatus.Leased && result.StartedAt is { } reportedStart && job.LeasedAt is { } leasedAt)
        {
            // The start came with the result (the gateway held it): keep when it ran, within the lease's bounds.
            job = job with { StartedAt = reportedStart < leasedAt ? leasedAt : reportedStart > now ? now : reportedStart };
        }

        if (result.Succeeded)
        {
            var succeeded = job with
            {
                Status = JobStatus.Succeeded,
                CompletedAt = now,
                ResultJson = result.ResultJson,
                Error = null,
                Usage = Add(job.Usage, result.Usage),
            };
            succeeded = await WriteAsync(succeeded, AttemptEvent(job, succeeded, AttemptOutcome.Succeeded, now, true, result.Usage));
            Queue.LeaseEndedAsync(JobId, job.TenantId).Ignore();
            return succeeded;
        }

        return await EndAttemptAsync(job, AttemptOutcome.Failed, result.Retryable, result.Error ?? "failed", result.Usage);
    }

    public async Task ReleaseAsync(string agentId, long epoch, string reason)
    {
        await EnsureLoadedAsync();
        if (!IsCurrentLease(agentId, epoch))
        {
            return;
        }

        var job = _job!;
        var now = time.GetUtcNow();
        var pending = job with
        {
            Status = JobStatus.Pending,
            Attempts = Math.Max(0, job.Attempts - 1),
            AvailableAt = now,
            AgentId = null,
            AgentVersion = null,
            LeaseExpiresAt = null,
            StartedAt = null,
        };
        await WriteAsync(pending, AttemptEvent(job, pending, AttemptOutcome.Released, now, true));
        Queue.LeaseEndedAsync(JobId, job.TenantId).Ignore();
        await EnqueueAsync(admitted: false);
    }

    public async Task RevokeLeaseAsync(long epoch, string reason)
    {
        await EnsureLoadedAsync();
        if (_job is not { } job || !job.Status.IsLeased() || job.Epoch != epoch)
        {
            return;
        }

        if (job.AgentId is { } agentId)
        {
            GrainFactory.GetGrain<IAgentGrain>(agentId).SendCommandAsync(new AgentCommand(AgentCommandKind.CancelJob, JobId, reason, epoch)).Ignore();
        }

        await EndAttemptAsync(job, AttemptOutcome.LeaseLost, retryable: true, $"lease revoked: {reason}", JobUsage.None);
    }

    public async Task RecoverLeaseAsync(long storedEpoch)
    {
        await EnsureLoadedAsync();
        if (_job is not { } job || job.Epoch < storedEpoch)
        {
            // The store moved on without this activation (a duplicate leased the job while the cluster healed): the
            // copy here would answer "Pending" or "leased to another agent" for good. Re-reading it arms the deadline.
            LogStaleCopy(logger, JobId, _job?.Epoch ?? 0, storedEpoch);
            Invalidate();
            await EnsureLoadedAsync();
            return;
        }

        if (job.Status.IsLeased())
        {
            ScheduleDeadline(); // renewals live in memory: the deadline here is the one that counts; make sure it is armed
        }
        else if (job.Status == JobStatus.Pending)
        {
            await EnqueueAsync(admitted: false);
        }
    }

    private async Task<JobRecord> EndAttemptAsync(JobRecord job, string outcome, bool retryable, string error, JobUsage usage)
    {
        var now = time.GetUtcNow();
        var decision = JobLifecycle.AfterUnsuccessfulAttempt(job, outcome, retryable, now, Random.Shared.NextDouble());
        var next = job with
        {
            Status = decision.Status,
            AvailableAt = decision.AvailableAt,
            Error = error,
            Usage = Add(job.Usage, usage),
            CompletedAt = decision.Status.IsTerminal() ? now : null,
            LeaseExpiresAt = decision.Status.IsTerminal() ? job.LeaseExpiresAt : null,
            AgentId = decision.Status.IsTerminal() ? job.AgentId : null,
            AgentVersion = decision.Status.IsTerminal() ? job.AgentVersion : null,
            StartedAt = decision.Status.IsTerminal() ? job.StartedAt : null,
        };
        next = await WriteAsync(next, AttemptEvent(job, next, outcome, now, true, usage));
        if (outcome is AttemptOutcome.LeaseLost or AttemptOutcome.TimedOut)
        {
            KernelMetrics.LeaseLost();
        }

        Queue.LeaseEndedAsync(JobId, job.TenantId).Ignore();
        if (next.Status == JobStatus.Pending)
        {
            await EnqueueAsync(admitted: false);
        }

        return next;
    }

    private async Task OnDeadlineAsync()
    {
        try
        {
            await OnDeadlineCoreAsync();
        }
        catch (MeshException ex) when (ex.Code is MeshErrorCode.Unavailable or MeshErrorCode.FailedPrecondition)
        {
            // The store failed (or the copy in memory was stale): the deadline still stands, try again shortly rather
            // than leave a lapsed lease for nobody to notice.
            LogDeadlineRetry(logger, JobId, ex.Message);
            ArmDeadline(DeadlineRetry);
        }
    }

    private async Task OnDeadlineCoreAsync()
    {
        if (!_loaded)
        {
            // A failed write dropped the copy in memory; reloading a leased job arms the deadline again.
            await EnsureLoadedAsync();
            return;
        }

        if (_job is not { } job || !job.Status.IsLeased())
        {
            return;
        }

        var now = time.GetUtcNow();
        if (_persistRunningAt is { } persistAt && now >= persistAt)
        {
            _persistRunningAt = null;
            await PersistRunningAsync();
            job = _job!;
        }

        if (job.Status == JobStatus.Running && job.StartedAt is { } started && now >= started + job.Spec.Timeout)
        {
            if (job.AgentId is { } agentId)
            {
                GrainFactory.GetGrain<IAgentGrain>(agentId).SendCommandAsync(new AgentCommand(AgentCommandKind.CancelJob, JobId, "timed out", job.Epoch)).Ignore();
            }

            LogDeadline(logger, JobId, "timed out", job.Epoch);
            await EndAttemptAsync(job, AttemptOutcome.TimedOut, retryable: true, $"timed out after {job.Spec.Timeout}", JobUsage.None);
        }
        else if (now >= _leaseExpiresAt)
        {
            LogDeadline(logger, JobId, "lease expired", job.Epoch);
            await EndAttemptAsync(job, AttemptOutcome.LeaseLost, retryable: true, "lease expired: the agent stopped renewing it", JobUsage.None);
        }
        else
        {
            ScheduleDeadline();
        }
    }

    private async Task<JobRecord> WriteAsync(JobRecord next, ImmutableArray<MeshEvent> events, bool bumpVersion = true)
    {
        var versioned = bumpVersion ? next with { Version = _job!.Version + 1, UpdatedAt = time.GetUtcNow() } : next;
        bool written;
        var carry = store.RecordsAudit ? AuditCarry.Current : null;
        var held = _heldAudit.Count;
        AuditDraft[] audit = carry is null ? [.. _heldAudit] : [.. _heldAudit, carry.Draft];
        try
        {
            written = audit.Length > 0
                ? await store.UpdateAsync(versioned, events, audit)
                : await store.UpdateAsync(versioned, events);
        }
        catch (Exception ex) when (ex is not MeshException)
        {
            Invalidate();
            LogStoreFailed(logger, JobId, next.Status.ToString(), ex.GetBaseException().Message);
            throw MeshException.Unavailable("The job store is unavailable; nothing was changed. Retry later.");
        }

        if (!written)
        {
            // Someone else's newer write reached the store (this activation's copy was stale): re-read and refuse.
            Invalidate();
            throw MeshException.ChangedConcurrently("The job changed concurrently; read it again.");
        }

        _job = versioned;
        _runningUnsaved = false;
        _persistRunningAt = null;
        _heldAudit.RemoveRange(0, held);
        carry?.MarkRecorded();
        foreach (var e in events)
        {
            if (e.PayloadAs<JobAttemptEnded>() is { } attempt)
            {
                KernelMetrics.AttemptEnded(attempt.Status, attempt.RunTime);
            }
        }

        NotifyWatchers();
        if (versioned.Status.IsTerminal())
        {
            _deadline?.Dispose();
            _deadline = null;
            if (_options.LingerAfterFinish <= TimeSpan.Zero)
            {
                // Readers after this point re-activate the job from the store; keeping thousands of finished jobs in
                // memory costs more than the occasional re-read.
                DeactivateOnIdle();
            }
            else
            {
                this.RegisterGrainTimer(static (self, _) => { self.DeactivateOnIdle(); return Task.CompletedTask; }, this,
                    new GrainTimerCreationOptions { DueTime = _options.LingerAfterFinish, Period = Timeout.InfiniteTimeSpan, KeepAlive = false });
            }
        }

        return versioned;
    }

    private async Task EnqueueAsync(bool admitted)
    {
        var job = _job!;
        try
        {
            await Queue.EnqueueAsync(new QueuedJob(JobId, job.TenantId, job.Spec.Priority, job.AvailableAt, job.UpdatedAt, job.Spec.DataClasses), admitted);
            _enqueuePending = false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The job is durable: the queue's reconciliation will index it; retry sooner from here.
            _enqueuePending = true;
            LogEnqueueFailed(logger, JobId, ex.GetBaseException().Message);
            this.RegisterGrainTimer(static (self, _) => self._enqueuePending && self._job is { Status: JobStatus.Pending } ? self.EnqueueAsync(false) : Task.CompletedTask,
                this, new GrainTimerCreationOptions { DueTime = TimeSpan.FromSeconds(2), Period = Timeout.InfiniteTimeSpan, KeepAlive = true });
        }
    }

    private Task EnsureLoadedAsync()
    {
        if (_loaded)
        {
            return Task.CompletedTask;
        }

        if (_loading is { } inProgress)
        {
            return inProgress;
        }

        // Shared while it runs. A load that finished at once (a store that refused at once, say) has already run its
        // finally: keeping its task would hand the same failure to every later call.
        var load = LoadAsync();
        if (!load.IsCompleted)
        {
            _loading = load;
        }

        return load;
    }

    private async Task LoadAsync()
    {
        try
        {
            JobRecord? job;
            try
            {
                job = await store.GetAsync(JobId);
            }
            catch (Exception ex) when (ex is not MeshException)
            {
                throw MeshException.Unavailable("The job store is unavailable. Retry later. (" + ex.GetBaseException().Message + ")");
            }

            SetLoaded(job);
            if (job is { } j && j.Status.IsLeased())
            {
                // This activation replaces one that died with its silo: the agent may still be renewing; give it time.
                var stored = j.LeaseExpiresAt ?? time.GetUtcNow();
                var grace = time.GetUtcNow() + _options.RecoveryGrace;
                _leaseExpiresAt = stored > grace ? stored : grace;
                ScheduleDeadline();
            }
        }
        finally
        {
            _loading = null;
        }
    }

    /// <summary>Entries held with a change the activation ends before writing are appended on their own.</summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_heldAudit.Count > 0 && ServiceProvider.GetService<IAuditLog>() is { } log)
        {
            try
            {
                await log.AppendAsync([.. _heldAudit], cancellationToken);
                _heldAudit.Clear();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogHeldAuditLost(logger, JobId, _heldAudit.Count, ex.GetBaseException().Message);
            }
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    private void SetLoaded(JobRecord? job)
    {
        _job = job;
        _loaded = true;
    }

    private void Invalidate()
    {
        _loaded = false;
        _job = null;
    }

    private void ScheduleDeadline()
    {
        if (_job is not { } job || JobLifecycle.NextDeadline(job, _leaseExpiresAt) is not { } deadline)
        {
            return;
        }

        if (_persistRunningAt is { } persistAt && persistAt < deadline)
        {
            deadline = persistAt;
        }

        var due = deadline - time.GetUtcNow();
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        ArmDeadline(due + TimeSpan.FromMilliseconds(5));
    }

    private void ArmDeadline(TimeSpan due)
    {
        if (_deadline is null)
        {
            _deadline = this.RegisterGrainTimer(static (self, _) => self.OnDeadlineAsync(), this,
                new GrainTimerCreationOptions { DueTime = due, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });
        }
        else
        {
            _deadline.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private bool IsCurrentLease(string agentId, long epoch) =>
        _job is { } job && job.Status.IsLeased() && job.Epoch == epoch && job.AgentId == agentId;

    private JobRecord RequireCurrentLease(string agentId, long epoch)
    {
        if (_job is null)
        {
            throw MeshException.NotFound($"Job '{JobId}'");
        }

        if (_job.Status.IsTerminal() && _job.Epoch == epoch && _job.AgentId == agentId)
        {
            KernelMetrics.StaleReport();
            throw Ended(_job);
        }

        if (!IsCurrentLease(agentId, epoch))
        {
            KernelMetrics.StaleReport();
            LogStale(logger, JobId, agentId, epoch, _job.Epoch, _job.Status);
            throw new MeshException(MeshErrorCode.StaleEpoch,
                $"Lease {epoch} of job {JobId} is no longer current (the job is {_job.Status} at epoch {_job.Epoch}); the report was refused.");
        }

        return _job;
    }

    /// <summary>The refusal of a report under a lease whose job has ended: names the status it ended in.</summary>
    private MeshException Ended(JobRecord job)
    {
        LogEnded(logger, JobId, job.AgentId ?? "?", job.Epoch, job.Status);
        return MeshException.Finished($"Job {JobId} already ended {job.Status} (epoch {job.Epoch}); the report was refused.", job.Status.ToString());
    }

    private JobRecord? Visible(string? tenantId) =>
        _job is { } job && (tenantId is null || job.TenantId == tenantId) ? job : null;

    private SubmitOutcome Duplicate(JobRecord existing, string tenantId, JobSpec spec)
    {
        if (existing.TenantId != tenantId)
        {
            throw MeshException.Conflict("A job with this id belongs to another tenant.");
        }

        // The stored spec is the request's fingerprint: every field of the submit, defaults filled in.
        if (existing.Spec != spec)
        {
            throw new MeshException(MeshErrorCode.IdempotencyKeyReused,
                $"The idempotency key '{existing.Spec.IdempotencyKey}' already names job {existing.JobId}, submitted with another request; "
                + "send the same request to get that job, or use a new key for a new job.");
        }

        KernelMetrics.DuplicateSubmit();
        return new SubmitOutcome(existing, Created: false);
    }

    private void NotifyWatchers()
    {
        foreach (var watcher in _watchers.ToArray())
        {
            watcher.TrySetResult();
        }
    }

    private IQueueGrain Queue => _queue ??= QueueOf(_job!.Spec, _job.Shard);

    private IQueueGrain QueueOf(JobSpec spec, int shard) => _queue ??= queues.Get(spec.Pool, spec.Capability, shard);

    private static ImmutableArray<MeshEvent> AttemptEvent(JobRecord before, JobRecord after, string outcome, DateTimeOffset now, bool hadLease, JobUsage? usage = null)
    {
        var leasedAt = hadLease ? before.LeasedAt : null;
        var queueWait = leasedAt is { } l ? l - before.AvailableAt : now - before.AvailableAt;
        var runTime = leasedAt is { } l2 ? now - (before.StartedAt ?? l2) : TimeSpan.Zero;
        return
        [
            new MeshEvent(0, now, new JobAttemptEnded(
                before.JobId, before.TenantId, before.Spec.Type, before.Spec.Pool, before.Spec.Capability,
                hadLease ? before.AgentId : null, before.Attempts, outcome, after.Status, after.Status.IsTerminal(),
                queueWait < TimeSpan.Zero ? TimeSpan.Zero : queueWait, runTime < TimeSpan.Zero ? TimeSpan.Zero : runTime, usage ?? JobUsage.None,
                hadLease ? before.AgentVersion : null),
                TenantId: before.TenantId, CorrelationId: before.JobId.ToString()),
        ];
    }

    private static JobUsage Add(JobUsage a, JobUsage b) => new(a.TokensIn + b.TokensIn, a.TokensOut + b.TokensOut, a.Cost + b.Cost);

    private static TimeSpan Clamp(TimeSpan value, TimeSpan min, TimeSpan max) => value < min ? min : value > max ? max : value;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: job store write failed during {Operation}: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, Guid jobId, string operation, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId}: {Count} audit entr(ies) held with an unwritten change could not be appended as the activation ended: {Reason}")]
    private static partial void LogHeldAuditLost(ILogger logger, Guid jobId, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: could not be queued ({Reason}); retrying")]
    private static partial void LogEnqueueFailed(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its deadline could not be acted on ({Reason}); trying again shortly")]
    private static partial void LogDeadlineRetry(ILogger logger, Guid jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: the copy in memory (epoch {Epoch}) is older than the store's lease (epoch {StoredEpoch}); re-reading it")]
    private static partial void LogStaleCopy(ILogger logger, Guid jobId, long epoch, long storedEpoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: {What} (epoch {Epoch})")]
    private static partial void LogDeadline(ILogger logger, Guid jobId, string what, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: refused report from {AgentId} for epoch {Epoch}: the job already ended {Status}")]
    private static partial void LogEnded(ILogger logger, Guid jobId, string agentId, long epoch, JobStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: refused report from {AgentId} for epoch {Epoch}; current epoch {Current}, status {Status}")]
    private static partial void LogStale(ILogger logger, Guid jobId, string agentId, long epoch, long current, JobStatus status);
}
