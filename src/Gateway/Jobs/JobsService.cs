using System.Runtime.CompilerServices;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Compliance;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Jobs;

/// <summary>A submit's answer: the job (created, or found by its idempotency key), or a refusal to retry later.</summary>
public readonly record struct Submitted(SubmitOutcome? Outcome, SubmitRefusal? Refusal);

/// <summary>One entry of a batch as its adapter read it: the submission, or why it could not even be read.</summary>
public readonly record struct BatchEntry(SubmitInput? Input, MeshException? Unreadable)
{
    /// <summary>Reads one entry with <paramref name="read"/>; an entry it refuses fails on its own.</summary>
    public static BatchEntry Read<T>(T raw, Func<T, SubmitInput> read)
    {
        try
        {
            return new BatchEntry(read(raw), null);
        }
        catch (MeshException ex)
        {
            return new BatchEntry(null, ex);
        }
    }
}

/// <summary>
/// A batch's answer: each entry's outcome in order (the job, or the error it alone met: invalid, over the rate, …) with
/// the longest wait among entries refused for the rate; or, when the tenant's bucket had no token at all, one refusal.
/// </summary>
public sealed record BatchSubmitted(IReadOnlyList<(SubmitOutcome? Outcome, Exception? Error)>? Entries, TimeSpan? RetryAfter, SubmitRefusal? Refusal);

/// <summary>
/// The tenant job API, once for every transport: submit (one or a batch), get, list, cancel and watch. Callers are
/// tenants; a job of another tenant is NotFound, like one that does not exist. Operators may get any job (audited). REST (<see cref="JobsApi"/>) and gRPC
/// (<c>JobsGrpcService</c>) only read their requests and write these answers.
/// </summary>
public sealed class JobsService(JobSubmitter submitter, SubmitRateLimiter limiter, AdmissionGate admission, IGrainFactory grains, Mutations mutations,
    DataPlacementChecks placement, Cost.BudgetGate budgets)
{
    /// <summary>The most jobs one batch may carry.</summary>
    public const int MaxBatch = 500;

    /// <summary>
    /// Submits one job: admitted by the tenant's rate first (a refusal comes back, not thrown), then validated, then
    /// written durably. <paramref name="cancellationToken"/> is the caller's: it stops the waiting, not a write on its way.
    /// </summary>
    public async Task<Submitted> SubmitAsync(MeshCaller caller, SubmitInput input, CancellationToken cancellationToken)
    {
        var tenant = caller.RequireTenant();
        if (limiter.TryAcquire(tenant) is { } refusal)
        {
            return new Submitted(null, refusal);
        }

        return await AdmitAndSubmitAsync(caller, tenant, JobSubmitter.Validate(tenant, input), cancellationToken);
    }

    /// <summary>
    /// Submits up to <see cref="MaxBatch"/> jobs, each judged on its own: an entry that is unreadable or invalid fails
    /// alone; the valid ones take one submit token each, in order, as far as the tenant's bucket holds, and the valid ones
    /// beyond get a <see cref="RateLimitedException"/> of their own. A batch that finds the bucket empty is refused as a
    /// whole. The admitted jobs are submitted concurrently (the store commits them together).
    /// </summary>
    public async Task<BatchSubmitted> SubmitBatchAsync(MeshCaller caller, IReadOnlyList<BatchEntry> entries, CancellationToken cancellationToken)
    {
        var tenant = caller.RequireTenant();
        if (entries.Count is < 1 or > MaxBatch)
        {
            throw MeshException.Invalid("jobs", $"1–{MaxBatch} per batch.");
        }

        var specs = new JobSpec?[entries.Count];
        var errors = new Exception?[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Unreadable is { } unreadable)
            {
                errors[i] = unreadable;
                continue;
            }

            try
            {
                specs[i] = JobSubmitter.Validate(tenant, entries[i].Input!);
            }
            catch (MeshException ex)
            {
                errors[i] = ex;
            }
        }

        var valid = specs.Count(s => s is not null);
        var (granted, refusal) = valid == 0 ? (0, null) : limiter.TryAcquireUpTo(tenant, valid);
        if (valid > 0 && granted == 0)
        {
            return new BatchSubmitted(null, null, refusal);
        }

        var submits = new Task<Submitted>?[entries.Count];
        var admitted = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (specs[i] is not { } spec)
            {
                continue;
            }

            if (admitted++ < granted)
            {
                submits[i] = AdmitAndSubmitAsync(caller, tenant, spec, cancellationToken);
            }
            else
            {
                errors[i] = refusal!.ToException();
            }
        }

        var outcomes = new (SubmitOutcome? Outcome, Exception? Error)[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            try
            {
                var answer = submits[i] is { } submit ? await submit : default;
                outcomes[i] = submits[i] is null ? (null, errors[i])
                    : answer.Refusal is { } shed ? (null, shed.ToException())
                    : (answer.Outcome, null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                outcomes[i] = (null, ex);
            }
        }

        return new BatchSubmitted(outcomes, granted < valid ? refusal!.RetryAfter : null, null);
    }

    /// <summary>
    /// The caller's job with its payload and result; NotFound for an unknown one or another tenant's. An operator reads
    /// any job, and each such read (refused ones too) is recorded in the audit log as <c>jobs.read</c> before the answer:
    /// payloads are the tenant's data. A tenant reading its own job is not recorded.
    /// </summary>
    public async Task<JobRecord> GetAsync(MeshCaller caller, string? jobId)
    {
        if (caller.IsOperator)
        {
            return await mutations.RunAsync(caller, MeshActions.ReadJobPayload, MeshTargets.Job(jobId), ChangeSummaries.ReadJob(jobId), () => FindAsync(jobId, null));
        }

        return await FindAsync(jobId, caller.RequireTenant().TenantId);
    }

    /// <summary>The job when it exists and, unless <paramref name="tenantId"/> is null, is that tenant's; otherwise NotFound.</summary>
    private async Task<JobRecord> FindAsync(string? jobId, string? tenantId)
    {
        var id = JobSubmitter.ParseJobId(jobId);
        return await grains.GetJobGrain(id).GetAsync(tenantId) ?? throw MeshException.NotFound($"Job '{id}'");
    }

    /// <summary>One page of the caller's jobs, newest first.</summary>
    public Task<JobPage> ListAsync(MeshCaller caller, JobFilter filter) =>
        grains.GetGrain<IJobQueryGrain>(0).ListAsync(JobQueries.Build(caller.RequireTenant().TenantId, filter));

    /// <summary>Cancels the caller's job unless it has finished (FailedPrecondition then); a leased job is cancelled on its agent too.</summary>
    public Task<JobRecord> CancelAsync(MeshCaller caller, string? jobId, string? reason)
    {
        var tenantId = caller.RequireTenant().TenantId;
        return mutations.RunAsync(caller, MeshActions.CancelJob, MeshTargets.Job(jobId), ChangeSummaries.Cancel(reason), () =>
            grains.GetJobGrain(JobSubmitter.ParseJobId(jobId)).CancelAsync(tenantId, Inputs.Reason(reason, "cancelled by the tenant")));
    }

    /// <summary>
    /// The caller's job now and at each change until it finishes. The job is read before this returns, so an unknown
    /// job is NotFound before any answer starts.
    /// </summary>
    public async Task<IAsyncEnumerable<JobRecord>> WatchAsync(MeshCaller caller, string? jobId, CancellationToken cancellationToken)
    {
        var tenantId = caller.RequireTenant().TenantId;
        var id = JobSubmitter.ParseJobId(jobId);
        var grain = grains.GetJobGrain(id);
        var first = await grain.GetAsync(tenantId) ?? throw MeshException.NotFound($"Job '{id}'");
        return JobWatch.ChangesAsync(grain, tenantId, first, cancellationToken);
    }

    /// <summary>
    /// A valid submit through the gateway's admission (<see cref="AdmissionGate"/>): refused there at no cost to the
    /// cluster, or submitted holding its place until the job and its audit record are durable.
    /// </summary>
    private async Task<Submitted> AdmitAndSubmitAsync(MeshCaller caller, TenantPrincipal tenant, JobSpec spec, CancellationToken cancellationToken)
    {
        var pass = await admission.EnterAsync(spec.Pool, spec.Capability, cancellationToken);
        if (pass.Place is not { } place)
        {
            return new Submitted(null, pass.Refusal);
        }

        using (place)
        {
            var jobId = submitter.NewJobId(tenant.TenantId, spec);
            return new Submitted(await mutations.RunAsync(caller, MeshActions.SubmitJob, MeshTargets.Job(jobId), ChangeSummaries.Submit(spec), async () =>
            {
                // Inside the mutation: a submit a budget or the classification policy refuses is in the audit log as refused.
                await budgets.CheckSubmitAsync(tenant.TenantId, spec.Pool, spec.Capability);
                await placement.CheckSubmitAsync(tenant.TenantId, jobId, spec);
                return await submitter.SubmitAsync(tenant, jobId, spec, cancellationToken);
            }), null);
        }
    }
}

/// <summary>What a tenant filters its job list by; null means any (limit: the default page size).</summary>
public sealed record JobFilter(JobStatus? Status, string? Type, DateTimeOffset? CreatedFrom, DateTimeOffset? CreatedTo, string? Cursor, int? Limit);

/// <summary>Building and checking list queries.</summary>
public static class JobQueries
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static JobQuery Build(string tenantId, JobFilter filter)
    {
        var size = Inputs.Limit(filter.Limit, DefaultLimit, MaxLimit);
        if (filter.Type is { Length: > 100 })
        {
            throw MeshException.Invalid("type", "at most 100 characters.");
        }

        if (filter.CreatedFrom is { } from && filter.CreatedTo is { } to && from > to)
        {
            throw MeshException.Invalid("createdFrom", "must not be after createdTo.");
        }

        if (filter.Cursor is { Length: > 100 })
        {
            throw MeshException.Invalid("cursor", JobQuery.CursorNotValid);
        }

        return new JobQuery(tenantId, filter.Status, string.IsNullOrEmpty(filter.Type) ? null : filter.Type, filter.CreatedFrom, filter.CreatedTo,
            string.IsNullOrEmpty(filter.Cursor) ? null : filter.Cursor, size);
    }
}

/// <summary>Follows one job's changes through its grain's long-poll, ending after a terminal status.</summary>
public static class JobWatch
{
    private static readonly TimeSpan PollWait = TimeSpan.FromSeconds(20);

    public static async IAsyncEnumerable<JobRecord> ChangesAsync(IJobGrain grain, string tenantId, JobRecord first, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var job = first;
        yield return job;
        while (!job.Status.IsTerminal() && !cancellationToken.IsCancellationRequested)
        {
            var next = await grain.WaitForChangeAsync(tenantId, job.Version, PollWait).WaitAsync(cancellationToken);
            if (next is null)
            {
                yield break;
            }

            if (next.Version > job.Version)
            {
                job = next;
                yield return job;
            }
        }
    }
}
