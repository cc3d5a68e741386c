using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Audit;
using DomainScope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.Audit, the gRPC adapter of <see cref="AuditService"/> (REST: /v1/audit): query and export for operators
/// and tenants (their own entries), verify for operators. Every scope of operator key may call it, as every scope may
/// read over REST.
/// </summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[OperatorScope(DomainScope.ReadOnly)]
[BindServiceMethod(typeof(AuditGrpcService), nameof(BindService))]
internal sealed class AuditGrpcService(AuditService audit) : MeshOs.Grpc.V1.Audit.AuditBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Audit.AuditBase service) =>
        MeshOs.Grpc.V1.Audit.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<AuditPage> Query(AuditQueryRequest request, ServerCallContext context)
    {
        var filter = Filter(request.Actor, request.Tenant, request.Action, request.Target, request.From, request.To) with
        {
            Cursor = request.Cursor,
            Limit = request.Limit == 0 ? null : request.Limit, // proto3: 0 means unset
        };
        var page = await audit.QueryAsync(context.Caller(), filter);
        var proto = new AuditPage { NextCursor = page.NextCursor ?? string.Empty };
        proto.Entries.AddRange(page.Entries.Select(ToProto));
        return proto;
    }

    public override async Task Export(AuditExportRequest request, IServerStreamWriter<AuditEntry> responseStream, ServerCallContext context)
    {
        var entries = audit.Export(context.Caller(), Filter(request.Actor, request.Tenant, request.Action, request.Target, request.From, request.To),
            context.CancellationToken);
        await foreach (var entry in entries)
        {
            await responseStream.WriteAsync(ToProto(entry), context.CancellationToken);
        }
    }

    [Authorize(Policy = MeshRoles.OperatorPolicy)]
    public override async Task<AuditVerdict> Verify(AuditVerifyRequest request, ServerCallContext context)
    {
        var verdict = await audit.VerifyAsync(context.Caller(), request.HasFrom ? request.From : null, request.HasTo ? request.To : null);
        return new AuditVerdict
        {
            Intact = verdict.Intact,
            From = verdict.From,
            To = verdict.To,
            EntriesChecked = verdict.EntriesChecked,
            CheckpointsChecked = verdict.CheckpointsChecked,
            BrokenSeq = verdict.BrokenSeq ?? 0,
            Problem = verdict.Problem switch
            {
                null => AuditProblem.None,
                Domain.AuditProblem.Altered => AuditProblem.Altered,
                Domain.AuditProblem.Missing => AuditProblem.Missing,
                Domain.AuditProblem.TruncatedTail => AuditProblem.TruncatedTail,
                _ => AuditProblem.BadCheckpoint,
            },
            Detail = verdict.Detail ?? string.Empty,
        };
    }

    /// <summary>The filter as REST gives it: proto3 cannot tell an unset string from an empty one, so empty means any.</summary>
    private static AuditFilter Filter(string actor, string tenant, string action, string target, Timestamp? from, Timestamp? to) =>
        new(Unset(actor), Unset(tenant), Unset(action), Unset(target), from.ToDateTimeOffset("from"), to.ToDateTimeOffset("to"), null, null);

    private static string? Unset(string value) => value.Length == 0 ? null : value;

    private static AuditEntry ToProto(Domain.AuditEntry entry)
    {
        var draft = entry.Draft;
        return new AuditEntry
        {
            Seq = entry.Seq,
            At = Timestamp.FromDateTimeOffset(entry.At),
            Actor = new AuditActor
            {
                Kind = draft.Actor.Kind,
                KeyId = draft.Actor.KeyId,
                TenantId = draft.Actor.TenantId ?? string.Empty,
                Address = draft.Actor.Address ?? string.Empty,
            },
            Action = draft.Action,
            Target = draft.Target,
            Tenant = draft.Tenant ?? string.Empty,
            Outcome = draft.Outcome switch
            {
                Domain.AuditOutcome.Succeeded => AuditOutcome.Succeeded,
                Domain.AuditOutcome.Refused => AuditOutcome.Refused,
                _ => AuditOutcome.Failed,
            },
            ErrorCode = draft.ErrorCode ?? string.Empty,
            RequestId = draft.RequestId ?? string.Empty,
            CorrelationId = draft.CorrelationId ?? string.Empty,
            Transport = draft.Transport ?? string.Empty,
            ChangeDigest = draft.ChangeDigest ?? string.Empty,
            PrevHash = entry.PrevHash,
            Hash = entry.Hash,
        };
    }
}
