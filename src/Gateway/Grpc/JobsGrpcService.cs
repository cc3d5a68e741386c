using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Jobs;
using MeshOs.Grpc.V1;
using CancelJobRequest = MeshOs.Grpc.V1.CancelJobRequest;
using SubmitJobRequest = MeshOs.Grpc.V1.SubmitJobRequest;
using SubmitJobBatchRequest = MeshOs.Grpc.V1.SubmitJobBatchRequest;
using SubmitJobBatchResponse = MeshOs.Grpc.V1.SubmitJobBatchResponse;
using SubmitJobOutcome = MeshOs.Grpc.V1.SubmitJobOutcome;
using Microsoft.AspNetCore.Authorization;
using ProtoJob = MeshOs.Grpc.V1.Job;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Jobs: the tenant job API over gRPC, with the same rules as REST.</summary>
[Authorize(Policy = MeshRoles.TenantPolicy)]
[BindServiceMethod(typeof(JobsGrpcService), nameof(BindService))]
internal sealed class JobsGrpcService(JobSubmitter submitter, SubmitRateLimiter limiter, IGrainFactory grains) : MeshOs.Grpc.V1.Jobs.JobsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Jobs.JobsBase service) =>
        MeshOs.Grpc.V1.Jobs.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<SubmitJobResponse> Submit(SubmitJobRequest request, ServerCallContext context)
    {
        var tenant = Tenant(context);
        try
        {
            limiter.Acquire(tenant);
        }
        catch (RateLimitedException limited)
        {
            context.ResponseTrailers.Add("retry-after-ms", ((long)limited.RetryAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            throw ErrorMapping.ToRpc(limited);
        }

        var outcome = await submitter.SubmitAsync(tenant, ToInput(request));
        return new SubmitJobResponse { Job = outcome.Job.ToProto(), Created = outcome.Created };
    }

    public override async Task<SubmitJobBatchResponse> SubmitBatch(SubmitJobBatchRequest request, ServerCallContext context)
    {
        var tenant = Tenant(context);
        if (request.Jobs.Count is < 1 or > JobSubmitter.MaxBatch)
        {
            throw MeshException.Invalid($"jobs: 1–{JobSubmitter.MaxBatch} per batch.");
        }

        try
        {
            limiter.Acquire(tenant, request.Jobs.Count);
        }
        catch (RateLimitedException limited)
        {
            context.ResponseTrailers.Add("retry-after-ms", ((long)limited.RetryAfter.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            throw ErrorMapping.ToRpc(limited);
        }

        // Entries whose fields cannot even be read (a negative duration, say) fail on their own.
        var converted = request.Jobs.Select(job => (Input: ToInputOrNull(job, out var error), Error: error)).ToList();
        var valid = converted.Where(c => c.Input is not null).Select(c => c.Input!).ToList();
        var outcomes = valid.Count == 0 ? [] : await submitter.SubmitBatchAsync(tenant, valid);
        var response = new SubmitJobBatchResponse();
        var next = 0;
        foreach (var (input, inputError) in converted)
        {
            var (outcome, error) = input is null ? (null, inputError) : outcomes[next++];
            if (outcome is not null)
            {
                response.Results.Add(new SubmitJobOutcome { Job = outcome.Job.ToProto(), Created = outcome.Created });
            }
            else
            {
                var rpc = ErrorMapping.ToRpc(error!);
                response.Results.Add(new SubmitJobOutcome { ErrorCode = (int)rpc.StatusCode, Error = rpc.Status.Detail });
            }
        }

        return response;
    }

    private static SubmitInput? ToInputOrNull(SubmitJobRequest request, out Exception? error)
    {
        try
        {
            error = null;
            return ToInput(request);
        }
        catch (MeshException ex)
        {
            error = ex;
            return null;
        }
    }

    private static SubmitInput ToInput(SubmitJobRequest request)
    {
        var retry = request.Retry;
        return new SubmitInput(
            request.Type, request.Capability, request.Pool,
            request.PayloadJson.Length == 0 ? null : request.PayloadJson,
            request.Priority,
            request.Timeout.ToTimeSpan("timeout"),
            retry is null || retry.MaxAttempts == 0 ? null : retry.MaxAttempts,
            retry?.InitialBackoff.ToTimeSpan("retry.initial_backoff"),
            retry?.MaxBackoff.ToTimeSpan("retry.max_backoff"),
            retry is null || retry.Multiplier == 0 ? null : retry.Multiplier,
            request.IdempotencyKey);
    }

    public override async Task<ProtoJob> Get(GetJobRequest request, ServerCallContext context)
    {
        var id = JobSubmitter.ParseJobId(request.JobId);
        var job = await grains.GetJobGrain(id).GetAsync(Tenant(context).TenantId) ?? throw MeshException.NotFound($"Job '{id}'");
        return job.ToProto();
    }

    public override async Task<ListJobsResponse> List(ListJobsRequest request, ServerCallContext context)
    {
        Abstractions.Jobs.JobStatus? status = null;
        if (request.HasStatus)
        {
            status = Enum.IsDefined(request.Status)
                ? (Abstractions.Jobs.JobStatus)(int)request.Status
                : throw MeshException.Invalid("status: unknown value.");
        }

        var query = JobQueries.Build(
            Tenant(context).TenantId, status, request.Type,
            request.CreatedFrom.ToDateTimeOffset("created_from"), request.CreatedTo.ToDateTimeOffset("created_to"),
            request.Cursor, request.Limit == 0 ? null : request.Limit); // proto3: 0 means unset
        var page = await grains.GetGrain<IJobQueryGrain>(0).ListAsync(query);
        var response = new ListJobsResponse { NextCursor = page.NextCursor ?? string.Empty };
        response.Jobs.AddRange(page.Jobs.Select(j => j.ToProto()));
        return response;
    }

    public override async Task<ProtoJob> Cancel(CancelJobRequest request, ServerCallContext context)
    {
        var id = JobSubmitter.ParseJobId(request.JobId);
        var reason = Inputs.Reason(request.Reason, "cancelled by the tenant");
        var job = await grains.GetJobGrain(id).CancelAsync(Tenant(context).TenantId, reason);
        return job.ToProto();
    }

    public override async Task Watch(WatchJobRequest request, IServerStreamWriter<ProtoJob> responseStream, ServerCallContext context)
    {
        var id = JobSubmitter.ParseJobId(request.JobId);
        var tenantId = Tenant(context).TenantId;
        var grain = grains.GetJobGrain(id);
        var first = await grain.GetAsync(tenantId) ?? throw MeshException.NotFound($"Job '{id}'");
        await foreach (var job in JobWatch.ChangesAsync(grain, tenantId, first, context.CancellationToken))
        {
            await responseStream.WriteAsync(job.ToProto(), context.CancellationToken);
        }
    }

    private static TenantPrincipal Tenant(ServerCallContext context) =>
        context.GetHttpContext().Features.Get<TenantPrincipal>() ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "A tenant API key is required."));
}
