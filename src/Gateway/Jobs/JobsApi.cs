using System.ComponentModel;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Jobs;

/// <summary>
/// /v1/jobs, the REST adapter of <see cref="JobsService"/>: submit (one or a batch), get, list, cancel, and a job's
/// changes as server-sent events. Tenant key only, but for getting one job, which an operator key may do too (each
/// such read is audited as <c>jobs.read</c>).
/// </summary>
public static class JobsApi
{
    /// <summary>Largest submit body accepted at all; the tenant's payload quota is checked after parsing.</summary>
    public const long MaxSubmitBodyBytes = 8 * 1024 * 1024;

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/jobs").WithTags("Jobs").ProducesAuthenticatedProblems();
        var jobs = group.MapGroup("").RequireAuthorization(MeshRoles.TenantPolicy);

        jobs.MapPost("/", SubmitAsync).WithName("SubmitJob")
            .WithSummary("Submit a job; acknowledged once durable.")
            .WithDescription("201 with the new job. The same Idempotency-Key (header or body) with the same request returns the first job (200); "
                + "with another request 422. 403: a pool the tenant may not use. 409: a data class the tenant does not allow, refused by an "
                + "enforcing data-classification policy (the detail names it). 429: the tenant's submit rate (Retry-After) or a queue quota.")
            .WithMetadata(new RequestSizeLimitAttribute(MaxSubmitBodyBytes))
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict, StatusCodes.Status422UnprocessableEntity);
        jobs.MapPost("/batch", SubmitBatchAsync).WithName("SubmitJobBatch")
            .WithSummary("Submit up to 500 jobs at once; each is judged and acknowledged on its own (results in order).")
            .WithDescription("The submit rate takes one token per valid job, in order, as far as the tenant's bucket holds: those jobs are submitted "
                + "and the later ones are refused on their own (error.status 429 with retryAfterSeconds; the answer carries Retry-After). "
                + "A batch that finds the bucket empty is refused as a whole with 429.")
            .WithMetadata(new RequestSizeLimitAttribute(MaxSubmitBodyBytes))
            .ProducesBodyProblems();
        jobs.MapGet("/", ListAsync).WithName("ListJobs").WithSummary("The tenant's jobs, newest first, filtered, with cursor paging.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        group.MapGet("/{jobId}", GetAsync).RequireAuthorization(MeshRoles.OperatorOrTenantPolicy).WithName("GetJob")
            .WithSummary("A job with its status, payload and result; another tenant's job is 404. An operator key reads any job, each read audited as jobs.read.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        jobs.MapPost("/{jobId}/cancel", CancelAsync).WithName("CancelJob").WithSummary("Cancel a job that has not finished (409 once it has).")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        jobs.MapGet("/{jobId}/events", EventsAsync).WithName("JobEvents")
            .WithSummary("Server-sent events: the job at each change, until it finishes. Errors keep their status whatever Accept says.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Created<JobDto>, Ok<JobDto>, ProblemHttpResult>> SubmitAsync(
        [FromBody] SubmitJobRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyHeader,
        MeshCaller caller,
        JobsService jobs,
        HttpContext http)
    {
        var submitted = await jobs.SubmitAsync(caller, request.ToInput(idempotencyHeader), http.RequestAborted);
        if (submitted.Refusal is { } refusal)
        {
            return Refusals.TooManyRequests(http, refusal);
        }

        var outcome = submitted.Outcome!;
        var dto = JobDto.From(outcome.Job);
        return outcome.Created ? TypedResults.Created($"/v1/jobs/{dto.Id}", dto) : TypedResults.Ok(dto);
    }

    private static async Task<Results<Ok<SubmitJobBatchResponse>, ProblemHttpResult>> SubmitBatchAsync(
        [FromBody] SubmitJobBatchRequest request,
        MeshCaller caller,
        JobsService jobs,
        HttpContext http)
    {
        var entries = (request.Jobs ?? throw MeshException.Invalid("jobs", "required, 1–500 jobs."))
            .Select(job => BatchEntry.Read(job, static j => j is null ? throw MeshException.Invalid("jobs", "every entry must be a job object.") : j.ToInput(null)))
            .ToList();
        var submitted = await jobs.SubmitBatchAsync(caller, entries, http.RequestAborted);
        if (submitted.Refusal is { } refusal)
        {
            return Refusals.TooManyRequests(http, refusal);
        }

        if (submitted.RetryAfter is { } wait)
        {
            http.Response.Headers.RetryAfter = SubmitRefusal.Seconds(wait).ToString(CultureInfo.InvariantCulture);
        }

        return TypedResults.Ok(new SubmitJobBatchResponse([.. submitted.Entries!.Select(entry => entry.Outcome is { } outcome
            ? new SubmitJobOutcome(JobDto.From(outcome.Job), outcome.Created, null)
            : new SubmitJobOutcome(null, null, Problem(entry.Error!)))]));
    }

    private static BatchProblem Problem(Exception error)
    {
        var mapped = ErrorMapping.Map(error);
        return new BatchProblem(mapped.HttpStatus, mapped.Title, mapped.Detail,
            error is RateLimitedException limited ? SubmitRefusal.Seconds(limited.RetryAfter) : null);
    }

    private static async Task<Ok<JobDto>> GetAsync(string jobId, MeshCaller caller, JobsService jobs) =>
        TypedResults.Ok(JobDto.From(await jobs.GetAsync(caller, jobId)));

    private static async Task<Ok<JobPageDto>> ListAsync(
        MeshCaller caller,
        JobsService jobs,
        [Description("Only jobs in this status: Pending, Leased, Running, Succeeded, Failed, Cancelled, TimedOut or DeadLettered.")] string? status = null,
        [Description("Only jobs of this type.")] string? type = null,
        [Description("Only jobs created at or after this time (RFC 3339).")] DateTimeOffset? createdFrom = null,
        [Description("Only jobs created at or before this time (RFC 3339).")] DateTimeOffset? createdTo = null,
        [Description("The nextCursor of the previous page.")] string? cursor = null,
        [Description("Jobs per page, 1–500; default 50.")] int? limit = null)
    {
        var filter = new JobFilter(Inputs.EnumName<JobStatus>(status, "status"), type, createdFrom, createdTo, cursor, limit);
        var page = await jobs.ListAsync(caller, filter);
        return TypedResults.Ok(new JobPageDto([.. page.Jobs.Select(JobDto.From)], page.NextCursor));
    }

    private static async Task<Ok<JobDto>> CancelAsync(string jobId, [FromBody] CancelJobRequest? request, MeshCaller caller, JobsService jobs) =>
        TypedResults.Ok(JobDto.From(await jobs.CancelAsync(caller, jobId, request?.Reason)));

    private static async Task<ServerSentEventsResult<JobDto>> EventsAsync(string jobId, MeshCaller caller, JobsService jobs, CancellationToken cancellationToken)
    {
        var changes = await jobs.WatchAsync(caller, jobId, cancellationToken);
        return TypedResults.ServerSentEvents(Events(changes, cancellationToken));

        static async IAsyncEnumerable<SseItem<JobDto>> Events(IAsyncEnumerable<JobRecord> changes, [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var job in changes.WithCancellation(ct))
            {
                yield return new SseItem<JobDto>(JobDto.From(job), "job") { EventId = job.Version.ToString(CultureInfo.InvariantCulture) };
            }
        }
    }
}
