using Grpc.Core;
using MeshOs.Abstractions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Orleans.Runtime;

namespace MeshOs.Gateway.Errors;

/// <summary>One table from failure to HTTP status and gRPC status, used by REST and gRPC alike.</summary>
public static class ErrorMapping
{
    /// <summary>
    /// A call into the cluster that failed because a silo went away or did not answer in time (not because the grain
    /// refused it): trying again, or falling back, is safe.
    /// </summary>
    public static bool IsFailover(Exception ex) =>
        ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException;

    public readonly record struct Mapped(int HttpStatus, StatusCode GrpcStatus, string Title, string Detail);

    public static Mapped Map(Exception exception) => exception switch
    {
        MeshException mesh => mesh.Code switch
        {
            MeshErrorCode.InvalidArgument => new(400, StatusCode.InvalidArgument, "Invalid request", mesh.Message),
            MeshErrorCode.NotFound => new(404, StatusCode.NotFound, "Not found", mesh.Message),
            MeshErrorCode.Conflict => new(409, StatusCode.AlreadyExists, "Conflict", mesh.Message),
            MeshErrorCode.FailedPrecondition => new(409, StatusCode.FailedPrecondition, "Not allowed in the current state", mesh.Message),
            MeshErrorCode.ResourceExhausted => new(429, StatusCode.ResourceExhausted, "Quota exceeded", mesh.Message),
            MeshErrorCode.Unavailable => new(503, StatusCode.Unavailable, "Service unavailable", mesh.Message),
            MeshErrorCode.PermissionDenied => new(403, StatusCode.PermissionDenied, "Forbidden", mesh.Message),
            MeshErrorCode.StaleEpoch => new(409, StatusCode.Aborted, "Stale lease", mesh.Message),
            MeshErrorCode.IdempotencyKeyReused => new(422, StatusCode.AlreadyExists, "Idempotency key reused", mesh.Message),
            MeshErrorCode.Finished => new(409, StatusCode.FailedPrecondition, "Already ended", mesh.Message),
            MeshErrorCode.Unauthenticated => new(401, StatusCode.Unauthenticated, "Unauthorized", mesh.Message),
            MeshErrorCode.BudgetExceeded => new(402, StatusCode.FailedPrecondition, "Budget exceeded", mesh.Message),
            _ => new(500, StatusCode.Internal, "Internal error", "An unexpected error occurred."),
        },
        Jobs.RateLimitedException limited => new(429, StatusCode.ResourceExhausted, "Too many requests", limited.Message),
        BadHttpRequestException bad => new(bad.StatusCode, StatusCode.InvalidArgument, bad.StatusCode switch
        {
            413 => "Request too large",
            415 => "Unsupported media type",
            _ => "Invalid request",
        }, bad.Message),
        System.Text.Json.JsonException json => new(400, StatusCode.InvalidArgument, "Invalid request", "The body is not valid JSON: " + json.Message),
        // An IOException too, but the sender's fault, not a closed connection.
        Google.Protobuf.InvalidProtocolBufferException protobuf => new(400, StatusCode.InvalidArgument, "Invalid request", "The message is not valid protobuf: " + protobuf.Message),
        SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or OrleansException =>
            new(503, StatusCode.Unavailable, "Service unavailable", "The cluster is unavailable or overloaded; nothing was changed. Retry later."),
        OperationCanceledException => new(499, StatusCode.Cancelled, "Cancelled", "The request was cancelled."),
        System.Data.Common.DbException => new(503, StatusCode.Unavailable, "Service unavailable", "The database is unavailable; nothing was changed. Retry later."),
        IOException => new(499, StatusCode.Cancelled, "Cancelled", "The connection was closed by the client."),
        _ => new(500, StatusCode.Internal, "Internal error", "An unexpected error occurred."),
    };

    /// <summary>Turns a failure into a gRPC status for the caller; a field it names is given its protobuf name.</summary>
    public static RpcException ToRpc(Exception exception)
    {
        var mapped = Map(exception);
        return new RpcException(new Status(mapped.GrpcStatus, GrpcDetail(exception, mapped)));
    }

    /// <summary>The longest status message a gRPC answer carries (it travels in a header: a huge one would break the connection).</summary>
    public const int MaxGrpcDetail = 1_024;

    /// <summary>
    /// The message of a failure as a gRPC caller reads it: a field it names is given its protobuf name; cut to
    /// <see cref="MaxGrpcDetail"/> characters.
    /// </summary>
    public static string GrpcDetail(Exception exception, Mapped mapped)
    {
        var detail = exception is MeshException { Field: { } field } mesh && mesh.Message.StartsWith(field + ":", StringComparison.Ordinal)
            ? Grpc.ProtoNames.Of(field) + mesh.Message[field.Length..]
            : mapped.Detail;
        return detail.Length <= MaxGrpcDetail ? detail : string.Concat(detail.AsSpan(0, MaxGrpcDetail - 1), "…");
    }
}

/// <summary>Answers for refusals that are not exceptions.</summary>
public static class Refusals
{
    /// <summary>
    /// Submits refused by the tenant's rate limit: 429 problem details with Retry-After, as the exception handler would
    /// write for <see cref="Jobs.RateLimitedException"/>, without the cost of throwing (see <see cref="Jobs.SubmitRateLimiter"/>).
    /// </summary>
    public static ProblemHttpResult TooManyRequests(HttpContext http, Jobs.SubmitRefusal refusal)
    {
        var mapped = ErrorMapping.Map(refusal.ToException());
        http.Response.Headers.RetryAfter = refusal.RetryAfterSeconds;
        return TypedResults.Problem(statusCode: mapped.HttpStatus, title: mapped.Title, detail: mapped.Detail);
    }

    /// <summary>
    /// The same refusal for a gRPC caller: RESOURCE_EXHAUSTED, with the wait in the <c>retry-after-ms</c> trailer.
    /// </summary>
    public static RpcException TooManyRequests(ServerCallContext context, Jobs.SubmitRefusal refusal)
    {
        AddRetryAfter(context, refusal.RetryAfter);
        return ErrorMapping.ToRpc(refusal.ToException());
    }

    /// <summary>The gRPC form of Retry-After: the <c>retry-after-ms</c> trailer, whole milliseconds rounded up.</summary>
    public static void AddRetryAfter(ServerCallContext context, TimeSpan wait) =>
        context.ResponseTrailers.Add("retry-after-ms", ((long)Math.Ceiling(wait.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>
/// Writes every failure of a REST call with its mapped status: RFC 7807 problem details where the client accepts JSON
/// (or anything: no Accept, <c>*/*</c>), the problem as plain text otherwise (an EventSource sends
/// <c>Accept: text/event-stream</c>). A request the endpoint could not read is explained by field and JSON path.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var mapped = ErrorMapping.Map(exception);
        if (exception is BadHttpRequestException bad)
        {
            mapped = mapped with { Detail = BindingErrors.Describe(httpContext, bad) };
        }

        if (mapped.HttpStatus >= 500)
        {
            LogServerError(logger, httpContext.Request.Method, httpContext.Request.Path, exception);
        }

        var response = httpContext.Response;
        response.StatusCode = mapped.HttpStatus;
        if (exception is Jobs.RateLimitedException limited)
        {
            response.Headers.RetryAfter = Jobs.SubmitRefusal.Seconds(limited.RetryAfter).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (mapped.HttpStatus is 503 or 429)
        {
            response.Headers.RetryAfter = "1";
        }

        var problem = new ProblemDetails { Status = mapped.HttpStatus, Title = mapped.Title, Detail = mapped.Detail };
        if (exception is MeshException { Code: MeshErrorCode.BudgetExceeded, State: { } budget })
        {
            problem.Type = BudgetExceededType;
            problem.Extensions["budget"] = budget;
        }
        else if (exception is MeshException { State: { } state })
        {
            problem.Extensions["state"] = state;
        }

        if (AcceptsJson(httpContext.Request)
            && await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, Exception = exception, ProblemDetails = problem }))
        {
            return true;
        }

        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync($"{mapped.Title}: {mapped.Detail}", cancellationToken);
        return true;
    }

    /// <summary>The problem type of a refusal by a budget's hard limit (RFC 9457 <c>type</c>).</summary>
    public const string BudgetExceededType = "urn:meshos:problem:budget-exceeded";

    private static readonly string[] JsonRanges = ["*/*", "application/*", "application/json", "application/problem+json"];

    /// <summary>Whether the Accept header admits JSON: absent, or a range covering application/json or application/problem+json with q &gt; 0.</summary>
    internal static bool AcceptsJson(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0)
        {
            return true;
        }

        foreach (var range in accept)
        {
            if (range.Quality is 0)
            {
                continue;
            }

            if (JsonRanges.Contains(range.MediaType.Value ?? string.Empty, StringComparer.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogServerError(ILogger logger, string method, string path, Exception exception);
}

/// <summary>Maps failures of gRPC calls to proper statuses (InvalidArgument, NotFound, Unavailable, …).</summary>
internal sealed partial class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : global::Grpc.Core.Interceptors.Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(new CheckedRequestStream<TRequest>(requestStream, context.CancellationToken), responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(new CheckedRequestStream<TRequest>(requestStream, context.CancellationToken), context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Translate(ex, context);
        }
    }

    private RpcException Translate(Exception ex, ServerCallContext context)
    {
        if (ex is Jobs.RateLimitedException limited)
        {
            Refusals.AddRetryAfter(context, limited.RetryAfter);
        }

        var rpc = ErrorMapping.ToRpc(ex);
        if (rpc.StatusCode == StatusCode.Internal)
        {
            LogServerError(logger, context.Method, ex);
        }

        return rpc;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC {Method} failed")]
    private static partial void LogServerError(ILogger logger, string method, Exception exception);

    /// <summary>
    /// A request stream whose broken framing is the caller's fault. grpc-dotnet reports a message cut short, a compressed
    /// flag without an encoding, or a length past 2 GiB as Internal, or throws IOException or InvalidDataException
    /// (Unknown); while the call is alive, these are InvalidArgument. A cancelled call keeps its cancellation.
    /// </summary>
    private sealed class CheckedRequestStream<T>(IAsyncStreamReader<T> inner, CancellationToken call) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Internal or StatusCode.Unknown && !call.IsCancellationRequested)
            {
                throw Malformed(ex.Status.Detail);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException && !call.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw Malformed(ex.Message);
            }
        }

        private static RpcException Malformed(string detail) => new(new Status(StatusCode.InvalidArgument, "The request stream is malformed: " + detail));
    }
}
