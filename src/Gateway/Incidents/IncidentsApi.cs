using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Incidents;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Incidents;

/// <summary>
/// /v1/incidents (list, filter, get, open, acknowledge, assign, annotate, advance, resolve, post-mortem, figures)
/// and /v1/healing (the self-healing engine's view and remediations). Operator key only.
/// </summary>
public static class IncidentsApi
{
    public static IEndpointRouteBuilder MapIncidentsApi(this IEndpointRouteBuilder app)
    {
        var incidents = app.MapGroup("/v1/incidents").WithTags("Incidents").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(1024 * 1024));
        incidents.MapGet("/", ListAsync).WithName("ListIncidents").WithSummary("Incidents newest first, filtered by severity, state, open, detection time.");
        incidents.MapGet("/report", ReportAsync).WithName("IncidentReport").WithSummary("MTTA, MTTR and automation rate, overall and per severity.");
        incidents.MapPost("/", OpenAsync).WithName("OpenIncident").WithSummary("Open an incident by hand (a repeated dedup key merges into the open one).");
        incidents.MapGet("/{incidentId}", GetAsync).WithName("GetIncident");
        incidents.MapPost("/{incidentId}/acknowledge", AcknowledgeAsync).WithName("AcknowledgeIncident");
        incidents.MapPost("/{incidentId}/assign", AssignAsync).WithName("AssignIncident").WithSummary("Name the incident commander.");
        incidents.MapPost("/{incidentId}/notes", AnnotateAsync).WithName("AnnotateIncident");
        incidents.MapPost("/{incidentId}/state", AdvanceAsync).WithName("AdvanceIncident").WithSummary("Investigating or Mitigated.");
        incidents.MapPost("/{incidentId}/resolve", ResolveAsync).WithName("ResolveIncident");
        incidents.MapPut("/{incidentId}/postmortem", PostMortemAsync).WithName("AttachPostMortem");

        var healing = app.MapGroup("/v1/healing").WithTags("Healing").RequireAuthorization(MeshRoles.OperatorPolicy);
        healing.MapGet("/", (IGrainFactory grains, int? recent) => grains.GetGrain<IHealingSupervisorGrain>("default").GetReportAsync(Inputs.Limit(recent, 50, 1_000, "recent")))
            .WithName("HealingReport").WithSummary("Pools as healing sees them, recent remediations, scale recommendations.");
        healing.MapGet("/remediations", (IGrainFactory grains, string? subject, int? limit) =>
                grains.GetGrain<IHealingSupervisorGrain>("default").GetRemediationsAsync(subject, Inputs.Limit(limit, 100, 10_000)))
            .WithName("ListRemediations");
        return app;
    }

    private static async Task<Ok<IncidentPageDto>> ListAsync(IGrainFactory grains, string? severity = null, string? state = null,
        bool? open = null, DateTimeOffset? detectedFrom = null, DateTimeOffset? detectedTo = null, string? cursor = null, int? limit = null)
    {
        var size = Inputs.Limit(limit, 50, 500);
        var filter = new IncidentFilter(Inputs.EnumName<IncidentSeverity>(severity, "severity"), Inputs.EnumName<IncidentState>(state, "state"),
            open, detectedFrom, detectedTo, cursor, size);
        var page = await Directory(grains).ListAsync(filter);
        return TypedResults.Ok(new IncidentPageDto(page, page.Length == size ? page[^1].IncidentId : null));
    }

    private static async Task<Ok<IncidentReportDto>> ReportAsync(IGrainFactory grains, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var (start, end) = Inputs.Period(from, to, TimeSpan.FromDays(30), DateTimeOffset.UtcNow);

        var report = await Directory(grains).GetReportAsync(start, end);
        return TypedResults.Ok(new IncidentReportDto(report.From, report.To, FiguresDto.From(report.All), [.. report.BySeverity.Select(FiguresDto.From)]));
    }

    private static async Task<Created<IncidentDto>> OpenAsync([FromBody] OpenIncidentRequest request, IGrainFactory grains)
    {
        var severity = request.Severity ?? throw MeshException.Invalid("severity: P0, P1, P2 or P3.");
        var title = request.Title ?? throw MeshException.Invalid("title: required.");
        var info = await Directory(grains).RaiseAsync(new Alert(
            request.DedupKey ?? "manual:" + Guid.NewGuid().ToString("N"), severity, title, Actor(request.Actor), request.Detail ?? string.Empty));
        return TypedResults.Created($"/v1/incidents/{info.IncidentId}", IncidentDto.From(info));
    }

    private static async Task<Ok<IncidentDto>> GetAsync(string incidentId, IGrainFactory grains) =>
        TypedResults.Ok(IncidentDto.From(await Existing(incidentId, grains)));

    private static async Task<Ok<IncidentDto>> AcknowledgeAsync(string incidentId, [FromBody] ActorRequest? request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).AcknowledgeAsync(Actor(request?.Actor))));
    }

    private static async Task<Ok<IncidentDto>> AssignAsync(string incidentId, [FromBody] AssignRequest request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).AssignAsync(request.Commander ?? string.Empty, Actor(request.Actor))));
    }

    private static async Task<Ok<IncidentDto>> AnnotateAsync(string incidentId, [FromBody] NoteRequest request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).AnnotateAsync(Actor(request.Actor), request.Message ?? string.Empty)));
    }

    private static async Task<Ok<IncidentDto>> AdvanceAsync(string incidentId, [FromBody] AdvanceRequest request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        var state = request.State ?? throw MeshException.Invalid("state: Investigating or Mitigated.");
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).AdvanceAsync(state, Actor(request.Actor), request.Note)));
    }

    private static async Task<Ok<IncidentDto>> ResolveAsync(string incidentId, [FromBody] ResolveRequest? request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        var resolution = request?.Resolution is { Length: > 0 and <= 4_000 } r ? r : (request?.Resolution is null ? "resolved by an operator" : throw MeshException.Invalid("resolution: at most 4,000 characters."));
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).ResolveAsync(Actor(request?.Actor), resolution, automatic: false)));
    }

    private static async Task<Ok<IncidentDto>> PostMortemAsync(string incidentId, [FromBody] PostMortemRequest request, IGrainFactory grains)
    {
        await Existing(incidentId, grains);
        var items = (request.ActionItems ?? []).ToImmutableArray();
        if (items.Length > 100 || items.Any(i => string.IsNullOrWhiteSpace(i) || i.Length > 1_000))
        {
            throw MeshException.Invalid("actionItems: at most 100 items of 1–1,000 characters.");
        }

        var postMortem = new PostMortem(request.Summary ?? string.Empty, request.RootCause ?? string.Empty, items, Actor(request.Author), DateTimeOffset.UtcNow);
        return TypedResults.Ok(IncidentDto.From(await Incident(grains, incidentId).AttachPostMortemAsync(postMortem)));
    }

    private static IIncidentDirectoryGrain Directory(IGrainFactory grains) => grains.GetGrain<IIncidentDirectoryGrain>(0);

    private static IIncidentGrain Incident(IGrainFactory grains, string incidentId) => grains.GetGrain<IIncidentGrain>(incidentId);

    private static async Task<IncidentInfo> Existing(string incidentId, IGrainFactory grains)
    {
        if (!Inputs.IsPlausibleId(incidentId, 100))
        {
            throw MeshException.NotFound("Incident");
        }

        return await Incident(grains, incidentId).GetAsync() ?? throw MeshException.NotFound($"Incident '{incidentId}'");
    }

    private static string Actor(string? actor) =>
        actor is null ? "operator" : actor.Length is > 0 and <= 200 ? actor : throw MeshException.Invalid("actor: 1–200 characters.");
}
