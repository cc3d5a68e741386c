using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Incidents;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Incidents;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using OpenIncidentRequest = MeshOs.Grpc.V1.OpenIncidentRequest;
using PostMortemRequest = MeshOs.Grpc.V1.PostMortemRequest;
using ProtoIncident = MeshOs.Grpc.V1.Incident;
using ProtoIncidentFigures = MeshOs.Grpc.V1.IncidentFigures;
using ProtoIncidentReport = MeshOs.Grpc.V1.IncidentReport;
using OperatorScope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.Incidents, the gRPC adapter of <see cref="IncidentsService"/> (the same calls as REST /v1/incidents).
/// proto3 cannot tell an unset string from an empty one: an empty actor, dedup key or resolution means the default.
/// </summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[OperatorScope(OperatorScope.IncidentResponder)]
[BindServiceMethod(typeof(IncidentsGrpcService), nameof(BindService))]
internal sealed class IncidentsGrpcService(IncidentsService incidents) : MeshOs.Grpc.V1.Incidents.IncidentsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Incidents.IncidentsBase service) =>
        MeshOs.Grpc.V1.Incidents.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(OperatorScope.ReadOnly)]
    public override async Task<ListIncidentsResponse> List(ListIncidentsRequest request, ServerCallContext context)
    {
        var page = await incidents.ListDetailedAsync(context.Caller(), new IncidentListInput(
            request.HasSeverity ? Severity(request.Severity) : null,
            request.HasStage ? Stage(request.Stage) : null,
            request.HasOpen ? request.Open : null,
            request.DetectedFrom.ToDateTimeOffset("detectedFrom"),
            request.DetectedTo.ToDateTimeOffset("detectedTo"),
            request.Cursor,
            request.Limit == 0 ? null : request.Limit)); // proto3: 0 means unset
        var response = new ListIncidentsResponse { NextCursor = page.NextCursor ?? string.Empty };
        response.Incidents.AddRange(page.Incidents.Select(i => ToProto(i, withTimeline: false)));
        return response;
    }

    [OperatorScope(OperatorScope.ReadOnly)]
    public override async Task<ProtoIncident> Get(IncidentRef request, ServerCallContext context) =>
        ToProto(await incidents.GetAsync(context.Caller(), request.IncidentId));

    public override async Task<ProtoIncident> Open(OpenIncidentRequest request, ServerCallContext context) =>
        ToProto(await incidents.OpenAsync(context.Caller(),
            new OpenIncidentInput(Severity(request.Severity), request.Title, request.Detail, Unset(request.DedupKey), Unset(request.Actor))));

    public override async Task<ProtoIncident> Acknowledge(IncidentAction request, ServerCallContext context) =>
        ToProto(await incidents.AcknowledgeAsync(context.Caller(), request.IncidentId, Unset(request.Actor)));

    public override async Task<ProtoIncident> Assign(AssignIncidentRequest request, ServerCallContext context) =>
        ToProto(await incidents.AssignAsync(context.Caller(), request.IncidentId, request.Commander, Unset(request.Actor)));

    public override async Task<ProtoIncident> Annotate(AnnotateIncidentRequest request, ServerCallContext context) =>
        ToProto(await incidents.AnnotateAsync(context.Caller(), request.IncidentId, request.Message, Unset(request.Actor)));

    public override async Task<ProtoIncident> Advance(AdvanceIncidentRequest request, ServerCallContext context) =>
        ToProto(await incidents.AdvanceAsync(context.Caller(), request.IncidentId, Stage(request.Stage), request.Note, Unset(request.Actor)));

    public override async Task<ProtoIncident> Resolve(ResolveIncidentRequest request, ServerCallContext context) =>
        ToProto(await incidents.ResolveAsync(context.Caller(), request.IncidentId, Unset(request.Resolution), Unset(request.Actor)));

    public override async Task<ProtoIncident> AttachPostMortem(PostMortemRequest request, ServerCallContext context) =>
        ToProto(await incidents.AttachPostMortemAsync(context.Caller(), request.IncidentId,
            new PostMortemInput(request.Summary, request.RootCause, [.. request.ActionItems], Unset(request.Author))));

    [OperatorScope(OperatorScope.ReadOnly)]
    public override async Task<ProtoIncidentReport> Report(IncidentReportRequest request, ServerCallContext context)
    {
        var report = await incidents.ReportAsync(context.Caller(), request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"));
        var reply = new ProtoIncidentReport { All = ToProto(report.All) };
        reply.BySeverity.AddRange(report.BySeverity.Select(ToProto));
        return reply;
    }

    private static string? Unset(string value) => value.Length == 0 ? null : value;

    private static IncidentSeverity Severity(MeshOs.Grpc.V1.Severity severity) =>
        System.Enum.IsDefined(severity) ? (IncidentSeverity)(int)severity : throw MeshException.Invalid("severity", "unknown value.");

    private static IncidentState Stage(IncidentStage stage) =>
        System.Enum.IsDefined(stage) ? (IncidentState)(int)stage : throw MeshException.Invalid("state", "unknown value.");

    private static ProtoIncidentFigures ToProto(Abstractions.Incidents.IncidentFigures f)
    {
        var proto = new ProtoIncidentFigures
        {
            Scope = f.Scope,
            Opened = f.Opened,
            Resolved = f.Resolved,
            ResolvedAutomatically = f.ResolvedAutomatically,
            AutomationRate = f.AutomationRate,
        };
        if (f.MeanTimeToAcknowledge is { } mtta)
        {
            proto.MeanTimeToAcknowledge = Duration.FromTimeSpan(mtta);
        }

        if (f.MeanTimeToResolve is { } mttr)
        {
            proto.MeanTimeToResolve = Duration.FromTimeSpan(mttr);
        }

        return proto;
    }

    private static ProtoIncident ToProto(IncidentInfo i, bool withTimeline = true)
    {
        var proto = new ProtoIncident
        {
            IncidentId = i.IncidentId,
            DedupKey = i.DedupKey,
            Title = i.Title,
            Source = i.Source,
            Severity = (MeshOs.Grpc.V1.Severity)(int)i.Severity,
            PeakSeverity = (MeshOs.Grpc.V1.Severity)(int)i.PeakSeverity,
            Stage = (IncidentStage)(int)i.State,
            Commander = i.Commander ?? string.Empty,
            EscalationTier = i.EscalationTier,
            DetectedAt = Timestamp.FromDateTimeOffset(i.DetectedAt),
            ResolvedAutomatically = i.ResolvedAutomatically,
            AlertCount = i.AlertCount,
            PostMortemSummary = i.PostMortem?.Summary ?? string.Empty,
            PostMortemRootCause = i.PostMortem?.RootCause ?? string.Empty,
        };
        if (i.AcknowledgedAt is { } ack)
        {
            proto.AcknowledgedAt = Timestamp.FromDateTimeOffset(ack);
            proto.TimeToAcknowledge = Duration.FromTimeSpan(ack - i.DetectedAt);
        }

        if (i.ResolvedAt is { } resolved)
        {
            proto.ResolvedAt = Timestamp.FromDateTimeOffset(resolved);
            proto.TimeToResolve = Duration.FromTimeSpan(resolved - i.DetectedAt);
        }

        if (i.PostMortem is { } pm)
        {
            proto.PostMortemActionItems.AddRange(pm.ActionItems);
        }

        if (withTimeline)
        {
            proto.Timeline.AddRange(i.Timeline.Select(t => new MeshOs.Grpc.V1.TimelineEntry
            {
                At = Timestamp.FromDateTimeOffset(t.At),
                Kind = t.Kind,
                Actor = t.Actor,
                Message = t.Message,
            }));
        }

        return proto;
    }
}
