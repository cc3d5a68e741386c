using System.Globalization;
using Grpc.Core;

namespace MeshOs.Gateway.Errors;

/// <summary>
/// A gRPC call answered before it reaches its service (by a middleware): a trailers-only response, HTTP 200 with the
/// status and its message in the headers, which is what gRPC clients read as the call's status.
/// </summary>
public static class GrpcStatusAnswer
{
    public static bool IsGrpc(HttpRequest request) => request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;

    public static void Write(HttpContext context, StatusCode status, string message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }
}
