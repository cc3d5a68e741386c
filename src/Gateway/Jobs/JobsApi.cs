using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Jobs;

/// <summary>The tenant job API under /v1/jobs: submit, get, list, cancel, and job events as server-sent events.</summary>
public static class JobsApi
{
    /// <summary>Largest submit body accepted at all; the tenant's payload quota is checked after parsing.</summary>
    public const long MaxSubmitBodyBytes = 8 * 1024 * 1024;

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/v1/jobs").WithTags("Jobs").RequireAuthorization(MeshRoles.TenantPolicy);

        jobs.MapPost("/", SubmitAsync).WithName("SubmitJob")
            .WithSummary("Submit a job; acknowledged once durable. A repeated Idempotency-Key returns the first job (200).")
            .WithMetadata(new RequestSizeLimitAttribute(MaxSubmitBodyBytes));
        jobs.MapPost("/batch", SubmitBatchAsync).WithName("SubmitJobBatch")
            .WithSummary("Submit up to 500 jobs at once; each is judged and acknowledged on its own (results in order).")
            .WithMetadata(new RequestSizeLimitAttribute(MaxSubmitBodyBytes));
        jobs.MapGet("/", ListAsync).WithName("ListJobs").WithSummary("The tenant's jobs, newest first, filtered, with cursor paging.");
        jobs.MapGet("/{jobId}", GetAsync).WithName("GetJob").WithSummary("A job with its status and result.");
        jobs.MapPost("/{jobId}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a job that has not finished.");
        jobs.MapGet("/{jobId}/events", EventsAsync).WithName("JobEvents").WithSummary("Server-sent events: the job at each change, until it finishes.");
        return app;
    }

    private static async Task<Results<Created<JobDto>, Ok<JobDto>, ProblemHttpResult>> SubmitAsync(
        [FromBody] SubmitJobRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyHeader,
        HttpContext http,
        JobSubmitter submitter,
        SubmitRateLimiter limiter)
    {
        var tenant = Tenant(http);
        if (limiter.TryAcquire(tenant) is { } refusal)
        {
            return Refusals.RateLimited(http, refusal);
        }

        var outcome = await submitter.SubmitAsync(tenant, ToInput(request, idempotencyHeader));
        var dto = JobDto.From(outcome.Job);
        return outcome.Created ? TypedResults.Created($"/v1/jobs/{dto.Id}", dto) : TypedResults.Ok(dto);
    }

    private static async Task<Results<Ok<SubmitJobBatchResponse>, ProblemHttpResult>> SubmitBatchAsync(
        [FromBody] SubmitJobBatchRequest request,
        HttpContext http,
        JobSubmitter submitter,
        SubmitRateLimiter limiter)
    {
        var tenant = Tenant(http);
        var jobs = request.Jobs ?? throw MeshException.Invalid("jobs: required.");
        if (jobs.Count is < 1 or > JobSubmitter.MaxBatch)
        {
            throw MeshException.Invalid($"jobs: 1–{JobSubmitter.MaxBatch} per batch.");
        }

        if (limiter.TryAcquire(tenant, jobs.Count) is { } refusal)
        {
            return Refusals.RateLimited(http, refusal);
        }

        var converted = jobs.Select(job =>
        {
            try
            {
                return (Input: ToInput(job, null), Error: (Exception?)null);
            }
            catch (MeshException ex)
            {
                return (Input: (SubmitInput?)null, Error: (Exception?)ex);
            }
        }).ToList();
        var valid = converted.Where(c => c.Input is not null).Select(c => c.Input!).ToList();
        var outcomes = valid.Count == 0 ? [] : await submitter.SubmitBatchAsync(tenant, valid);
        var results = new List<SubmitJobOutcome>(jobs.Count);
        var next = 0;
        foreach (var (input, inputError) in converted)
        {
            var (outcome, error) = input is null ? (null, inputError) : outcomes[next++];
            if (outcome is not null)
            {
                results.Add(new SubmitJobOutcome(JobDto.From(outcome.Job), outcome.Created, null));
            }
            else
            {
                var mapped = Errors.ErrorMapping.Map(error!);
                results.Add(new SubmitJobOutcome(null, null, new BatchProblem(mapped.HttpStatus, mapped.Title, mapped.Detail)));
            }
        }

        return TypedResults.Ok(new SubmitJobBatchResponse(results));
    }

    private static SubmitInput ToInput(SubmitJobRequest? request, string? idempotencyHeader) => request is null
        ? throw MeshException.Invalid("jobs: every entry must be a job object.")
        : new(
        request.Type, request.Capability, request.Pool,
        Inputs.JsonText(request.Payload, "payload"),
        request.Priority,
        Seconds(request.TimeoutSeconds, "timeoutSeconds"),
        request.MaxAttempts,
        Seconds(request.InitialBackoffSeconds, "initialBackoffSeconds"),
        Seconds(request.MaxBackoffSeconds, "maxBackoffSeconds"),
        request.BackoffMultiplier,
        request.IdempotencyKey ?? idempotencyHeader);

    private static async Task<Ok<JobDto>> GetAsync(string jobId, ClaimsPrincipal user, IGrainFactory grains)
    {
        var id = JobSubmitter.ParseJobId(jobId);
        var job = await grains.GetJobGrain(id).GetAsync(user.TenantId()) ?? throw MeshException.NotFound($"Job '{id}'");
        return TypedResults.Ok(JobDto.From(job));
    }

    private static async Task<Ok<JobPageDto>> ListAsync(
        ClaimsPrincipal user,
        IGrainFactory grains,
        string? status = null,
        string? type = null,
        DateTimeOffset? createdFrom = null,
        DateTimeOffset? createdTo = null,
        string? cursor = null,
        int? limit = null)
    {
        var parsedStatus = Inputs.EnumName<JobStatus>(status, "status");

        var query = JobQueries.Build(user.TenantId(), parsedStatus, type, createdFrom, createdTo, cursor, limit);
        var page = await grains.GetGrain<IJobQueryGrain>(0).ListAsync(query);
        return TypedResults.Ok(new JobPageDto([.. page.Jobs.Select(JobDto.From)], page.NextCursor));
    }

    private static async Task<Ok<JobDto>> CancelAsync(string jobId, [FromBody] CancelJobRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var id = JobSubmitter.ParseJobId(jobId);
        var job = await grains.GetJobGrain(id).CancelAsync(user.TenantId(), Inputs.Reason(request?.Reason, "cancelled by the tenant"));
        return TypedResults.Ok(JobDto.From(job));
    }

    private static async Task<ServerSentEventsResult<JobDto>> EventsAsync(string jobId, ClaimsPrincipal user, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var id = JobSubmitter.ParseJobId(jobId);
        var grain = grains.GetJobGrain(id);
        var first = await grain.GetAsync(user.TenantId()) ?? throw MeshException.NotFound($"Job '{id}'");
        return TypedResults.ServerSentEvents(Watch(grain, user.TenantId(), first, cancellationToken));

        static async IAsyncEnumerable<SseItem<JobDto>> Watch(IJobGrain grain, string tenantId, JobRecord first, [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var job in JobWatch.ChangesAsync(grain, tenantId, first, ct))
            {
                yield return new SseItem<JobDto>(JobDto.From(job), "job") { EventId = job.Version.ToString(CultureInfo.InvariantCulture) };
            }
        }
    }

    private static TenantPrincipal Tenant(HttpContext http) =>
        http.Features.Get<TenantPrincipal>() ?? throw new InvalidOperationException("Tenant endpoints require a tenant principal.");

    private static TimeSpan? Seconds(double? value, string name)
    {
        if (value is null)
        {
            return null;
        }

        if (!double.IsFinite(value.Value) || value.Value < 0 || value.Value > 10 * 86_400)
        {
            throw MeshException.Invalid($"{name}: out of range.");
        }

        return TimeSpan.FromSeconds(value.Value);
    }
}

/// <summary>Building and checking list queries, shared by REST and gRPC.</summary>
public static class JobQueries
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static JobQuery Build(string tenantId, JobStatus? status, string? type, DateTimeOffset? from, DateTimeOffset? to, string? cursor, int? limit)
    {
        var size = limit ?? DefaultLimit;
        if (size is < 1 or > MaxLimit)
        {
            throw MeshException.Invalid($"limit: 1–{MaxLimit}.");
        }

        if (type is { Length: > 100 })
        {
            throw MeshException.Invalid("type: at most 100 characters.");
        }

        if (from is { } f && to is { } t && f > t)
        {
            throw MeshException.Invalid("createdFrom must not be after createdTo.");
        }

        if (cursor is { Length: > 100 })
        {
            throw MeshException.Invalid("The cursor is not valid; pass the next_cursor of a previous page.");
        }

        return new JobQuery(tenantId, status, string.IsNullOrEmpty(type) ? null : type, from, to, string.IsNullOrEmpty(cursor) ? null : cursor, size);
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
