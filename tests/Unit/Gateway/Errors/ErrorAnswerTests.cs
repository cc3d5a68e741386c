using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Grpc;
using MeshOs.Gateway.Jobs;
using Microsoft.AspNetCore.Http;

namespace MeshOs.Tests.Unit.Gateway.Errors;

/// <summary>How failures reach callers: the status pair per code, field names per transport, and who gets JSON.</summary>
public sealed class ErrorAnswerTests
{
    public static TheoryData<MeshErrorCode, int, StatusCode> Codes() => new()
    {
        { MeshErrorCode.InvalidArgument, 400, StatusCode.InvalidArgument },
        { MeshErrorCode.NotFound, 404, StatusCode.NotFound },
        { MeshErrorCode.Conflict, 409, StatusCode.AlreadyExists },
        { MeshErrorCode.FailedPrecondition, 409, StatusCode.FailedPrecondition },
        { MeshErrorCode.ResourceExhausted, 429, StatusCode.ResourceExhausted },
        { MeshErrorCode.Unavailable, 503, StatusCode.Unavailable },
        { MeshErrorCode.PermissionDenied, 403, StatusCode.PermissionDenied },
        { MeshErrorCode.StaleEpoch, 409, StatusCode.Aborted },
        { MeshErrorCode.IdempotencyKeyReused, 422, StatusCode.AlreadyExists },
        { MeshErrorCode.Finished, 409, StatusCode.FailedPrecondition },
        { MeshErrorCode.Unauthenticated, 401, StatusCode.Unauthenticated },
        { MeshErrorCode.BudgetExceeded, 402, StatusCode.FailedPrecondition },
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public void Every_code_has_its_http_and_grpc_status(MeshErrorCode code, int http, StatusCode grpc)
    {
        var mapped = ErrorMapping.Map(new MeshException(code, "m"));

        Assert.Equal((http, grpc, "m"), (mapped.HttpStatus, mapped.GrpcStatus, mapped.Detail));
    }

    [Fact]
    public void A_rate_refusal_is_429_resource_exhausted()
    {
        var mapped = ErrorMapping.Map(new RateLimitedException(TimeSpan.FromSeconds(2), "slow down"));

        Assert.Equal((429, StatusCode.ResourceExhausted, "Too many requests"), (mapped.HttpStatus, mapped.GrpcStatus, mapped.Title));
    }

    [Theory]
    [InlineData("priority", "priority")]
    [InlineData("timeoutSeconds", "timeout")]
    [InlineData("maxAttempts", "retry.max_attempts")]
    [InlineData("initialBackoffSeconds", "retry.initial_backoff")]
    [InlineData("payload", "payload_json")]
    [InlineData("createdFrom", "created_from")]
    [InlineData("quotas.submitBurst", "quotas.submit_burst")]
    [InlineData("probationMinutes", "probation")]
    [InlineData("state", "stage")]
    [InlineData("costPerHour", "cost_per_hour")]
    public void A_field_is_named_over_grpc_by_its_protobuf_name(string rest, string proto) =>
        Assert.Equal(proto, ProtoNames.Of(rest));

    [Fact]
    public void A_grpc_status_names_the_field_the_way_the_caller_sent_it_and_rest_keeps_the_json_name()
    {
        var error = MeshException.Invalid("timeoutSeconds", "1 second to 1 day.");

        Assert.Equal("timeoutSeconds: 1 second to 1 day.", ErrorMapping.Map(error).Detail);
        Assert.Equal("timeout: 1 second to 1 day.", ErrorMapping.ToRpc(error).Status.Detail);
        Assert.Equal("no field here", ErrorMapping.ToRpc(MeshException.Invalid("no field here")).Status.Detail);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("*/*", true)]
    [InlineData("application/json", true)]
    [InlineData("Application/Problem+JSON", true)]
    [InlineData("text/plain, application/*;q=0.2", true)]
    [InlineData("text/event-stream", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/json;q=0, text/html", false)]
    [InlineData("application/xml", false)]
    public void Problem_details_are_written_only_where_json_is_accepted(string? accept, bool json)
    {
        var context = new DefaultHttpContext();
        if (accept is not null)
        {
            context.Request.Headers.Accept = accept;
        }

        Assert.Equal(json, ProblemExceptionHandler.AcceptsJson(context.Request));
    }
}
