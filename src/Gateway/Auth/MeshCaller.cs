using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Auth;

/// <summary>What kind of credential a caller presented.</summary>
public enum CallerKind
{
    /// <summary>No valid credential (only operational endpoints serve such callers).</summary>
    Anonymous,

    /// <summary>The operator key: fleet-wide.</summary>
    Operator,

    /// <summary>A tenant API key: the tenant's own jobs and agents.</summary>
    Tenant,

    /// <summary>The agent enrollment token: platform agents.</summary>
    PlatformAgent,
}

/// <summary>How the call reached the gateway.</summary>
public enum ApiTransport
{
    Rest,
    Grpc,

    /// <summary>From inside the process: the embedded demo, and services acting on their own.</summary>
    Internal,
}

/// <summary>
/// Who is calling, built once per request from what authentication established (REST and gRPC alike, both run in
/// ASP.NET Core): the application services take it instead of transport objects, decide ownership with it, and hand
/// it to <see cref="Audit.Mutations"/> as the actor of every change.
/// </summary>
/// <param name="KeyId">The credential: the tenant key's id, <c>operator</c> or <c>enrollment</c>; empty when anonymous.</param>
/// <param name="Tenant">The tenant of a tenant key, with its quotas and pools as checked for this request.</param>
/// <param name="RequestId">This request's id (the one ASP.NET Core logs).</param>
/// <param name="CorrelationId">The caller's <c>x-correlation-id</c> when it sent a usable one, else the trace id.</param>
public sealed record MeshCaller(
    CallerKind Kind,
    string KeyId,
    TenantPrincipal? Tenant,
    IPAddress? RemoteAddress,
    string RequestId,
    string? CorrelationId,
    ApiTransport Transport)
{
    /// <summary>The header a caller may send to tie its requests together in logs and the audit log.</summary>
    public const string CorrelationHeader = "x-correlation-id";

    public string? TenantId => Tenant?.TenantId;

    /// <summary>An operator key's scope (the least, read-only, when it cannot be read); null for every other caller.</summary>
    public OperatorScope? OperatorScope { get; init; }

    public bool IsOperator => Kind == CallerKind.Operator;

    /// <summary>Who owns the agents this caller runs: <c>platform</c> for the enrollment token, the tenant for its key.</summary>
    public string? AgentOwner => Kind switch
    {
        CallerKind.PlatformAgent => AgentPools.PlatformOwner,
        CallerKind.Tenant => Tenant!.TenantId,
        _ => null,
    };

    /// <summary>The tenant of a tenant caller; PermissionDenied for anyone else.</summary>
    public TenantPrincipal RequireTenant() =>
        Tenant ?? throw new MeshException(MeshErrorCode.PermissionDenied, "This call needs a tenant API key.");

    /// <summary>PermissionDenied unless the caller presented the operator key.</summary>
    public void RequireOperator()
    {
        if (!IsOperator)
        {
            throw new MeshException(MeshErrorCode.PermissionDenied, "This call needs the operator key.");
        }
    }

    /// <summary>The owner of the caller's agents; PermissionDenied for a caller that cannot run agents.</summary>
    public string RequireAgentOwner() =>
        AgentOwner ?? throw new MeshException(MeshErrorCode.PermissionDenied, "This call needs agent credentials (the enrollment token or a tenant API key).");

    /// <summary>A caller inside the process acting as <paramref name="tenant"/> (the embedded demo's jobs), named <paramref name="name"/>.</summary>
    public static MeshCaller Internal(TenantPrincipal tenant, string name) =>
        new(CallerKind.Tenant, name, tenant, null, name, null, ApiTransport.Internal);

    /// <summary>
    /// For minimal API handlers: a <see cref="MeshCaller"/> parameter is bound from the request (and left out of the
    /// OpenAPI document).
    /// </summary>
    public static ValueTask<MeshCaller?> BindAsync(HttpContext context) => ValueTask.FromResult<MeshCaller?>(context.Caller());
}

/// <summary>Builds the <see cref="MeshCaller"/> of a request once and keeps it with the request.</summary>
public static class MeshCallers
{
    private const int MaxCorrelationIdLength = 128;

    /// <summary>The caller of a REST or gRPC request.</summary>
    public static MeshCaller Caller(this HttpContext context)
    {
        if (context.Features.Get<MeshCaller>() is { } known)
        {
            return known;
        }

        var caller = Build(context);
        context.Features.Set(caller);
        return caller;
    }

    /// <summary>The caller of a gRPC call.</summary>
    public static MeshCaller Caller(this ServerCallContext context) => context.GetHttpContext().Caller();

    private static MeshCaller Build(HttpContext context)
    {
        var user = context.User;
        var tenant = context.Features.Get<TenantPrincipal>();
        var kind = user.IsInRole(MeshRoles.Operator) ? CallerKind.Operator
            : tenant is not null && user.IsInRole(MeshRoles.Tenant) ? CallerKind.Tenant
            : user.IsInRole(MeshRoles.Agent) ? CallerKind.PlatformAgent
            : CallerKind.Anonymous;
        var scope = kind != CallerKind.Operator ? (OperatorScope?)null
            : OperatorScopes.TryParse(user.FindFirstValue(OperatorScopeGate.ScopeClaim), out var held) ? held : Abstractions.Compliance.OperatorScope.ReadOnly;
        return new MeshCaller(
            kind,
            user.FindFirstValue(MeshRoles.KeyIdClaim) ?? string.Empty,
            kind == CallerKind.Tenant ? tenant : null,
            context.Connection.RemoteIpAddress,
            context.TraceIdentifier,
            CorrelationId(context),
            context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true ? ApiTransport.Grpc : ApiTransport.Rest)
        {
            OperatorScope = scope,
        };
    }

    /// <summary>The caller's correlation id when it is 1–128 printable ASCII characters; otherwise the trace id.</summary>
    private static string? CorrelationId(HttpContext context)
    {
        var given = context.Request.Headers[MeshCaller.CorrelationHeader].ToString();
        if (given.Length is > 0 and <= MaxCorrelationIdLength && given.All(c => c is >= '!' and <= '~'))
        {
            return given;
        }

        return Activity.Current is { } activity ? activity.TraceId.ToHexString() : null;
    }
}
