using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Jobs;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using CancelJobRequest = MeshOs.Grpc.V1.CancelJobRequest;
using ProtoJob = MeshOs.Grpc.V1.Job;
using SubmitJobBatchRequest = MeshOs.Grpc.V1.SubmitJobBatchRequest;
using SubmitJobBatchResponse = MeshOs.Grpc.V1.SubmitJobBatchResponse;
using SubmitJobOutcome = MeshOs.Grpc.V1.SubmitJobOutcome;
using SubmitJobRequest = MeshOs.Grpc.V1.SubmitJobRequest;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.Jobs: the gRPC adapter of <see cref="JobsService"/> (the same rules and answers as REST /v1/jobs). Tenant
/// key only, but for Get, which an operator key (any scope) may call too: each such read is audited as <c>jobs.read</c>.
/// </summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[BindServiceMethod(typeof(JobsGrpcService), nameof(BindService))]
internal sealed class JobsGrpcService(JobsService jobs) : MeshOs.Grpc.V1.Jobs.JobsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Jobs.JobsBase service) =>
        MeshOs.Grpc.V1.Jobs.BindService(StrictRequestBinder.For(binder), service);

    [Authorize(Policy = MeshRoles.TenantPolicy)]
    public override async Task<SubmitJobResponse> Submit(SubmitJobRequest request, ServerCallContext context)
    {
        var submitted = await jobs.SubmitAsync(context.Caller(), ToInput(request), context.CancellationToken);
        return submitted.Refusal is { } refusal
            ? throw Refusals.TooManyRequests(context, refusal)
            : new SubmitJobResponse { Job = submitted.Outcome!.Job.ToProto(), Created = submitted.Outcome.Created };
    }

    [Authorize(Policy = MeshRoles.TenantPolicy)]
    public override async Task<SubmitJobBatchResponse> SubmitBatch(SubmitJobBatchRequest request, ServerCallContext context)
    {
        var submitted = await jobs.SubmitBatchAsync(context.Caller(), [.. request.Jobs.Select(job => BatchEntry.Read(job, ToInput))], context.CancellationToken);
        if (submitted.Refusal is { } refusal)
        {
            throw Refusals.TooManyRequests(context, refusal);
        }

        var response = new SubmitJobBatchResponse();
        foreach (var (outcome, error) in submitted.Entries!)
        {
            response.Results.Add(outcome is not null ? new SubmitJobOutcome { Job = outcome.Job.ToProto(), Created = outcome.Created } : Failed(error!));
        }

        return response;
    }

    private static SubmitJobOutcome Failed(Exception error)
    {
        var mapped = ErrorMapping.Map(error);
        var outcome = new SubmitJobOutcome { ErrorCode = (int)mapped.GrpcStatus, Error = ErrorMapping.GrpcDetail(error, mapped) };
        if (error is RateLimitedException limited)
        {
            outcome.RetryAfter = Duration.FromTimeSpan(limited.RetryAfter);
        }

        return outcome;
    }

    /// <summary>proto3 cannot tell an unset number from 0: a max_attempts or multiplier of 0 means the default.</summary>
    private static SubmitInput ToInput(SubmitJobRequest request)
    {
        var retry = request.Retry;
        return new SubmitInput(
            request.Type, request.Capability, request.Pool,
            request.PayloadJson.Length == 0 ? null : request.PayloadJson,
            request.Priority,
            request.Timeout.ToTimeSpan("timeoutSeconds"),
            retry is null || retry.MaxAttempts == 0 ? null : retry.MaxAttempts,
            retry?.InitialBackoff.ToTimeSpan("initialBackoffSeconds"),
            retry?.MaxBackoff.ToTimeSpan("maxBackoffSeconds"),
            retry is null || retry.Multiplier == 0 ? null : retry.Multiplier,
            request.IdempotencyKey,
            request.DataClasses);
    }

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<ProtoJob> Get(GetJobRequest request, ServerCallContext context) =>
        (await jobs.GetAsync(context.Caller(), request.JobId)).ToProto();

    [Authorize(Policy = MeshRoles.TenantPolicy)]
    public override async Task<ListJobsResponse> List(ListJobsRequest request, ServerCallContext context)
    {
        var filter = new JobFilter(
            request.HasStatus ? Status(request.Status) : null,
            request.Type,
            request.CreatedFrom.ToDateTimeOffset("createdFrom"),
            request.CreatedTo.ToDateTimeOffset("createdTo"),
            request.Cursor,
            request.Limit == 0 ? null : request.Limit); // proto3: 0 means unset
        var page = await jobs.ListAsync(context.Caller(), filter);
        var response = new ListJobsResponse { NextCursor = page.NextCursor ?? string.Empty };
        response.Jobs.AddRange(page.Jobs.Select(j => j.ToProto()));
        return response;
    }

    [Authorize(Policy = MeshRoles.TenantPolicy)]
    public override async Task<ProtoJob> Cancel(CancelJobRequest request, ServerCallContext context) =>
        (await jobs.CancelAsync(context.Caller(), request.JobId, request.Reason)).ToProto();

    [Authorize(Policy = MeshRoles.TenantPolicy)]
    public override async Task Watch(WatchJobRequest request, IServerStreamWriter<ProtoJob> responseStream, ServerCallContext context)
    {
        var changes = await jobs.WatchAsync(context.Caller(), request.JobId, context.CancellationToken);
        await foreach (var job in changes.WithCancellation(context.CancellationToken))
        {
            await responseStream.WriteAsync(job.ToProto(), context.CancellationToken);
        }
    }

    private static Abstractions.Jobs.JobStatus Status(MeshOs.Grpc.V1.JobStatus status) =>
        System.Enum.IsDefined(status) ? (Abstractions.Jobs.JobStatus)(int)status : throw MeshException.Invalid("status", "unknown value.");
}
