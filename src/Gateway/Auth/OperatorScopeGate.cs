using System.Security.Claims;
using Grpc.AspNetCore.Server;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Auth;

/// <summary>
/// The operator scope a call needs (least privilege), as endpoint metadata: on a minimal API route or group with
/// <c>.RequireOperatorScope(…)</c>, on a gRPC service or method as an attribute. A REST GET or HEAD needs only
/// <see cref="OperatorScope.ReadOnly"/> (every scope may read); any other call needs what its endpoint declares, and
/// <see cref="OperatorScope.Full"/> when it declares nothing, so a new endpoint is closed to narrow keys until it says otherwise.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class OperatorScopeAttribute(OperatorScope needed) : Attribute
{
    public OperatorScope Needed { get; } = needed;
}

/// <summary>Checks, on every request an operator key makes, that the key's scope allows the endpoint.</summary>
public static class OperatorScopeGate
{
    /// <summary>The claim that carries an operator key's scope (its <see cref="OperatorScopes.Name"/>).</summary>
    public const string ScopeClaim = "meshos:scope";

    public static TBuilder RequireOperatorScope<TBuilder>(this TBuilder builder, OperatorScope needed)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new OperatorScopeAttribute(needed));

    /// <summary>The scope an operator needs for <paramref name="endpoint"/> reached with <paramref name="method"/>.</summary>
    public static OperatorScope Needed(Endpoint endpoint, string method)
    {
        var rest = endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is null;
        if (rest && (HttpMethods.IsGet(method) || HttpMethods.IsHead(method)))
        {
            return OperatorScope.ReadOnly; // every scope may read
        }

        // The most specific declaration wins (a method's over its service's, a route's over its group's).
        return endpoint.Metadata.GetMetadata<OperatorScopeAttribute>()?.Needed ?? OperatorScope.Full;
    }

    /// <summary>
    /// After authorization: an operator key whose scope does not allow the endpoint is refused with 403 (REST problem
    /// details; gRPC PermissionDenied) naming both scopes, and the refusal is audited; an allowed call is counted as a
    /// use of the key for the access review.
    /// </summary>
    public static IApplicationBuilder UseOperatorScopes(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.GetEndpoint() is not { } endpoint || !context.User.IsInRole(MeshRoles.Operator))
        {
            await next(context);
            return;
        }

        // A principal without a readable scope claim holds the least.
        var held = OperatorScopes.TryParse(context.User.FindFirstValue(ScopeClaim), out var parsed) ? parsed : OperatorScope.ReadOnly;
        var needed = Needed(endpoint, context.Request.Method);
        var caller = context.Caller();
        if (OperatorScopes.Allows(held, needed))
        {
            context.RequestServices.GetRequiredService<OperatorKeyUse>().Record(caller.KeyId, needed);
            await next(context);
            return;
        }

        var denied = new MeshException(MeshErrorCode.PermissionDenied,
            $"Operator key '{caller.KeyId}' has scope {held}; this call needs {needed} (or Full).");
        await context.RequestServices.GetRequiredService<Mutations>().RecordRefusalAsync(caller, MeshActions.ScopeDenied,
            MeshTargets.Endpoint(context.Request.Method, context.Request.Path), MeshErrorCode.PermissionDenied);
        if (!GrpcStatusAnswer.IsGrpc(context.Request))
        {
            throw denied; // problem details from the exception handler
        }

        // What the gRPC error interceptor would have said had the call reached the service.
        GrpcStatusAnswer.Write(context, global::Grpc.Core.StatusCode.PermissionDenied, denied.Message);
    });
}
