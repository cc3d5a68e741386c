using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Auth;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using DomainScope = MeshOs.Abstractions.Compliance.OperatorScope;
using OperatorKeyInfo = MeshOs.Abstractions.Compliance.OperatorKeyInfo;
using OperatorKeysService = MeshOs.Gateway.Compliance.OperatorKeysService;
using ProtoScope = MeshOs.Grpc.V1.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.OperatorKeys, the gRPC adapter of <see cref="OperatorKeysService"/> (REST: /v1/operator-keys).</summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[BindServiceMethod(typeof(OperatorKeysGrpcService), nameof(BindService))]
internal sealed class OperatorKeysGrpcService(OperatorKeysService keys) : OperatorKeys.OperatorKeysBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, OperatorKeys.OperatorKeysBase service) => OperatorKeys.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<IssuedOperatorKey> Issue(IssueOperatorKeyRequest request, ServerCallContext context)
    {
        var issued = await keys.IssueAsync(context.Caller(), request.Name, request.Owner, ToDomain(request.Scope));
        return new IssuedOperatorKey { KeyId = issued.KeyId, Key = issued.Key, Info = ToProto(issued.Info) };
    }

    [OperatorScope(DomainScope.ReadOnly)]
    public override async Task<AccessReview> Review(ReviewOperatorKeysRequest request, ServerCallContext context)
    {
        var review = await keys.ReviewAsync(context.Caller());
        var proto = new AccessReview { At = Timestamp.FromDateTimeOffset(review.At) };
        proto.Keys.AddRange(review.Keys.Select(r => new AccessReviewRow { Key = ToProto(r.Key), Hygiene = r.Hygiene ?? string.Empty }));
        return proto;
    }

    public override async Task<OperatorKey> Revoke(OperatorKeyRef request, ServerCallContext context) =>
        ToProto(await keys.RevokeAsync(context.Caller(), request.KeyId));

    [OperatorScope(DomainScope.ReadOnly)] // a key enrols its own (the service checks); see OperatorKeysApi
    public override async Task<MfaEnrolment> EnrolMfa(OperatorKeyRef request, ServerCallContext context)
    {
        var enrolment = await keys.EnrolMfaAsync(context.Caller(), request.KeyId);
        return new MfaEnrolment { KeyId = enrolment.KeyId, Secret = enrolment.Secret, Uri = enrolment.Uri };
    }

    [OperatorScope(DomainScope.ReadOnly)]
    public override async Task<OperatorKey> ConfirmMfa(ConfirmMfaRequest request, ServerCallContext context) =>
        ToProto(await keys.ConfirmMfaAsync(context.Caller(), request.KeyId, request.Code));

    public override async Task<OperatorKey> RemoveMfa(OperatorKeyRef request, ServerCallContext context) =>
        ToProto(await keys.RemoveMfaAsync(context.Caller(), request.KeyId));

    private static DomainScope ToDomain(ProtoScope scope) => scope switch
    {
        ProtoScope.ReadOnly => DomainScope.ReadOnly,
        ProtoScope.IncidentResponder => DomainScope.IncidentResponder,
        ProtoScope.ReleaseManager => DomainScope.ReleaseManager,
        ProtoScope.TenantAdmin => DomainScope.TenantAdmin,
        ProtoScope.Full => DomainScope.Full,
        ProtoScope.Unspecified => throw MeshException.Invalid("scope", "required: READ_ONLY, INCIDENT_RESPONDER, RELEASE_MANAGER, TENANT_ADMIN or FULL."),
        _ => throw MeshException.Invalid("scope", $"unknown scope {(int)scope}."),
    };

    private static ProtoScope ToProto(DomainScope scope) => scope switch
    {
        DomainScope.ReadOnly => ProtoScope.ReadOnly,
        DomainScope.IncidentResponder => ProtoScope.IncidentResponder,
        DomainScope.ReleaseManager => ProtoScope.ReleaseManager,
        DomainScope.TenantAdmin => ProtoScope.TenantAdmin,
        _ => ProtoScope.Full,
    };

    private static OperatorKey ToProto(OperatorKeyInfo k)
    {
        var proto = new OperatorKey
        {
            KeyId = k.KeyId, Name = k.Name, Owner = k.Owner, Scope = ToProto(k.Scope), CreatedAt = Timestamp.FromDateTimeOffset(k.CreatedAt),
            RevokedAt = k.RevokedAt is { } revoked ? Timestamp.FromDateTimeOffset(revoked) : null,
            LastUsedAt = k.LastUsedAt is { } used ? Timestamp.FromDateTimeOffset(used) : null,
            Mfa = k.Mfa switch
            {
                Abstractions.Compliance.MfaStatus.Enabled => MfaStatus.Enabled,
                Abstractions.Compliance.MfaStatus.Pending => MfaStatus.Pending,
                _ => MfaStatus.None,
            },
        };
        proto.UsedScopes.AddRange(k.UsedScopes.Select(ToProto));
        return proto;
    }
}
