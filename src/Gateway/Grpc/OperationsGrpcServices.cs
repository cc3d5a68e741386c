using System.Collections.Immutable;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Incidents;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using ProtoIncident = MeshOs.Grpc.V1.Incident;
using ProtoIncidentFigures = MeshOs.Grpc.V1.IncidentFigures;
using ProtoIncidentReport = MeshOs.Grpc.V1.IncidentReport;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Incidents: the operator incident API over gRPC, the same calls as REST /v1/incidents.</summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[BindServiceMethod(typeof(IncidentsGrpcService), nameof(BindService))]
internal sealed class IncidentsGrpcService(IGrainFactory grains) : MeshOs.Grpc.V1.Incidents.IncidentsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Incidents.IncidentsBase service) =>
        MeshOs.Grpc.V1.Incidents.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<ListIncidentsResponse> List(ListIncidentsRequest request, ServerCallContext context)
    {
        var limit = Inputs.Limit(request.Limit == 0 ? null : request.Limit, 50, 500); // proto3: 0 means unset
        var filter = new IncidentFilter(
            request.HasSeverity ? Severity(request.Severity) : null,
            request.HasStage ? Stage(request.Stage) : null,
            request.HasOpen ? request.Open : null,
            request.DetectedFrom.ToDateTimeOffset("detected_from"),
            request.DetectedTo.ToDateTimeOffset("detected_to"),
            string.IsNullOrEmpty(request.Cursor) ? null : request.Cursor,
            limit);
        var page = await grains.GetGrain<IIncidentDirectoryGrain>(0).ListAsync(filter);
        var response = new ListIncidentsResponse { NextCursor = page.Length == limit ? page[^1].IncidentId : string.Empty };
        foreach (var summary in page)
        {
            if (await Incident(summary.IncidentId).GetAsync() is { } info)
            {
                response.Incidents.Add(ToProto(info, withTimeline: false));
            }
        }

        return response;
    }

    public override async Task<ProtoIncident> Get(IncidentRef request, ServerCallContext context) => ToProto(await ExistingAsync(request.IncidentId));

    public override async Task<ProtoIncident> Open(OpenIncidentRequest request, ServerCallContext context)
    {
        var alert = new Alert(string.IsNullOrEmpty(request.DedupKey) ? "manual:" + Guid.NewGuid().ToString("N") : request.DedupKey,
            Severity(request.Severity), request.Title, Actor(request.Actor), request.Detail);
        return ToProto(await grains.GetGrain<IIncidentDirectoryGrain>(0).RaiseAsync(alert));
    }

    public override async Task<ProtoIncident> Acknowledge(IncidentAction request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        return ToProto(await Incident(request.IncidentId).AcknowledgeAsync(Actor(request.Actor)));
    }

    public override async Task<ProtoIncident> Assign(AssignIncidentRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        return ToProto(await Incident(request.IncidentId).AssignAsync(request.Commander, Actor(request.Actor)));
    }

    public override async Task<ProtoIncident> Annotate(AnnotateIncidentRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        return ToProto(await Incident(request.IncidentId).AnnotateAsync(Actor(request.Actor), request.Message));
    }

    public override async Task<ProtoIncident> Advance(AdvanceIncidentRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        return ToProto(await Incident(request.IncidentId).AdvanceAsync(Stage(request.Stage), Actor(request.Actor), request.Note));
    }

    public override async Task<ProtoIncident> Resolve(ResolveIncidentRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        var resolution = string.IsNullOrEmpty(request.Resolution) ? "resolved by an operator"
            : request.Resolution.Length <= MaxResolutionLength ? request.Resolution
            : throw MeshException.Invalid($"resolution: at most {MaxResolutionLength:N0} characters.");
        return ToProto(await Incident(request.IncidentId).ResolveAsync(Actor(request.Actor), resolution, automatic: false));
    }

    public override async Task<ProtoIncident> AttachPostMortem(PostMortemRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.IncidentId);
        if (request.ActionItems.Count > 100 || request.ActionItems.Any(i => string.IsNullOrWhiteSpace(i) || i.Length > 1_000))
        {
            throw MeshException.Invalid("action_items: at most 100 items of 1–1,000 characters.");
        }

        var postMortem = new PostMortem(request.Summary, request.RootCause, [.. request.ActionItems], Actor(request.Author), DateTimeOffset.UtcNow);
        return ToProto(await Incident(request.IncidentId).AttachPostMortemAsync(postMortem));
    }

    public override async Task<ProtoIncidentReport> Report(IncidentReportRequest request, ServerCallContext context)
    {
        var (from, to) = Inputs.Period(request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"), TimeSpan.FromDays(30), DateTimeOffset.UtcNow);
        var report = await grains.GetGrain<IIncidentDirectoryGrain>(0).GetReportAsync(from, to);
        var reply = new ProtoIncidentReport { All = ToProto(report.All) };
        reply.BySeverity.AddRange(report.BySeverity.Select(ToProto));
        return reply;
    }

    /// <summary>The longest resolution note accepted, as over REST.</summary>
    private const int MaxResolutionLength = 4_000;

    private IIncidentGrain Incident(string incidentId) => grains.GetGrain<IIncidentGrain>(incidentId);

    private async Task<IncidentInfo> ExistingAsync(string incidentId)
    {
        if (!Inputs.IsPlausibleId(incidentId, 100))
        {
            throw MeshException.NotFound("Incident");
        }

        return await Incident(incidentId).GetAsync() ?? throw MeshException.NotFound($"Incident '{incidentId}'");
    }

    private static IncidentSeverity Severity(MeshOs.Grpc.V1.Severity severity) =>
        System.Enum.IsDefined(severity) ? (IncidentSeverity)(int)severity : throw MeshException.Invalid("severity: unknown value.");

    private static IncidentState Stage(IncidentStage stage) =>
        System.Enum.IsDefined(stage) ? (IncidentState)(int)stage : throw MeshException.Invalid("stage: unknown value.");

    private static string Actor(string actor) =>
        string.IsNullOrEmpty(actor) ? "operator" : actor.Length <= 200 ? actor : throw MeshException.Invalid("actor: at most 200 characters.");

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

/// <summary>meshos.v1.Fleet: quarantine, release, drain and restart agents by hand.</summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[BindServiceMethod(typeof(FleetGrpcService), nameof(BindService))]
internal sealed class FleetGrpcService(IGrainFactory grains) : Fleet.FleetBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, Fleet.FleetBase service) => Fleet.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<AgentStatus> GetAgent(AgentRef request, ServerCallContext context) => ToProto(await ExistingAsync(request.AgentId));

    public override async Task<AgentStatus> Quarantine(QuarantineRequest request, ServerCallContext context)
    {
        await ExistingAsync(request.AgentId);
        var probation = request.Probation.ToTimeSpan("probation");
        var info = await Agent(request.AgentId).QuarantineAsync(Inputs.Reason(request.Reason, "quarantined by an operator"), probation > TimeSpan.Zero ? probation : null);
        return ToProto(info);
    }

    public override async Task<AgentStatus> Release(AgentAction request, ServerCallContext context)
    {
        await ExistingAsync(request.AgentId);
        return ToProto(await Agent(request.AgentId).ReleaseAsync(Inputs.Reason(request.Reason, "released by an operator")));
    }

    public override async Task<AgentStatus> Drain(AgentAction request, ServerCallContext context)
    {
        await ExistingAsync(request.AgentId);
        return ToProto(await Agent(request.AgentId).DrainAsync(Inputs.Reason(request.Reason, "drained by an operator")));
    }

    public override async Task<RestartReply> Restart(AgentAction request, ServerCallContext context)
    {
        await ExistingAsync(request.AgentId);
        var path = await Agent(request.AgentId).RestartAsync(Inputs.Reason(request.Reason, "restarted by an operator"));
        return new RestartReply { AgentId = request.AgentId, Path = path == RestartPath.Runtime ? "runtime" : "command" };
    }

    private IAgentGrain Agent(string agentId) => grains.GetGrain<IAgentGrain>(agentId);

    private async Task<AgentInfo> ExistingAsync(string agentId)
    {
        if (!AgentIds.IsValid(agentId))
        {
            throw MeshException.NotFound("Agent");
        }

        return await Agent(agentId).GetAsync() ?? throw MeshException.NotFound($"Agent '{agentId}'");
    }


    private static AgentStatus ToProto(AgentInfo a)
    {
        var status = new AgentStatus
        {
            AgentId = a.Registration.AgentId,
            Owner = a.Registration.Owner,
            Pool = a.Registration.Pool,
            State = a.State.ToString(),
            StateReason = a.StateReason,
            Quarantined = a.Quarantined,
            Connected = a.Connected,
            InFlight = a.InFlight,
        };
        if (a.ProbationUntil is { } until)
        {
            status.ProbationUntil = Timestamp.FromDateTimeOffset(until);
        }

        return status;
    }
}
