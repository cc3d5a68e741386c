using System.ComponentModel;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Incidents;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Incidents;

/// <summary>
/// /v1/incidents, the REST adapter of <see cref="IncidentsService"/>: list, filter, get, open, acknowledge, assign,
/// annotate, advance, resolve, post-mortem, figures. Operator key only.
/// </summary>
public static class IncidentsApi
{
    /// <summary>Largest request body on /v1/incidents.</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapIncidentsApi(this IEndpointRouteBuilder app)
    {
        var incidents = app.MapGroup("/v1/incidents").WithTags("Incidents").RequireAuthorization(MeshRoles.OperatorPolicy)
            .RequireOperatorScope(OperatorScope.IncidentResponder)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems();
        incidents.MapGet("/", ListAsync).WithName("ListIncidents").WithSummary("Incidents newest first, filtered by severity, state, open, detection time.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        incidents.MapGet("/report", ReportAsync).WithName("IncidentReport").WithSummary("MTTA, MTTR and automation rate, overall and per severity.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        incidents.MapPost("/", OpenAsync).WithName("OpenIncident").WithSummary("Open an incident by hand (a repeated dedup key merges into the open one).")
            .ProducesBodyProblems();
        incidents.MapGet("/{incidentId}", GetAsync).WithName("GetIncident").WithSummary("An incident with its whole timeline.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        incidents.MapPost("/{incidentId}/acknowledge", AcknowledgeAsync).WithName("AcknowledgeIncident")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        incidents.MapPost("/{incidentId}/assign", AssignAsync).WithName("AssignIncident").WithSummary("Name the incident commander.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        incidents.MapPost("/{incidentId}/notes", AnnotateAsync).WithName("AnnotateIncident")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        incidents.MapPost("/{incidentId}/state", AdvanceAsync).WithName("AdvanceIncident").WithSummary("Investigating or Mitigated.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        incidents.MapPost("/{incidentId}/resolve", ResolveAsync).WithName("ResolveIncident")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        incidents.MapPut("/{incidentId}/postmortem", PostMortemAsync).WithName("AttachPostMortem")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<IncidentPageDto>> ListAsync(MeshCaller caller, IncidentsService incidents,
        [Description("Only this severity: P0, P1, P2 or P3.")] string? severity = null,
        [Description("Only this state: Detected, Triaged, Investigating, Mitigated, Resolved or PostMortem.")] string? state = null,
        [Description("true: only incidents not resolved; false: only resolved ones.")] bool? open = null,
        [Description("Only incidents detected at or after this time (RFC 3339).")] DateTimeOffset? detectedFrom = null,
        [Description("Only incidents detected at or before this time (RFC 3339).")] DateTimeOffset? detectedTo = null,
        [Description("The nextCursor of the previous page.")] string? cursor = null,
        [Description("Incidents per page, 1–500; default 50.")] int? limit = null)
    {
        var page = await incidents.ListAsync(caller, new IncidentListInput(
            Inputs.EnumName<IncidentSeverity>(severity, "severity"), Inputs.EnumName<IncidentState>(state, "state"),
            open, detectedFrom, detectedTo, cursor, limit));
        return TypedResults.Ok(new IncidentPageDto(page.Incidents, page.NextCursor));
    }

    private static async Task<Ok<IncidentReportDto>> ReportAsync(MeshCaller caller, IncidentsService incidents,
        [Description("The period's start (RFC 3339). Default: 30 days before its end.")] DateTimeOffset? from = null,
        [Description("The period's end (RFC 3339). Default: now.")] DateTimeOffset? to = null)
    {
        var report = await incidents.ReportAsync(caller, from, to);
        return TypedResults.Ok(new IncidentReportDto(report.From, report.To, FiguresDto.From(report.All), [.. report.BySeverity.Select(FiguresDto.From)]));
    }

    private static async Task<Created<IncidentDto>> OpenAsync([FromBody] OpenIncidentRequest request, MeshCaller caller, IncidentsService incidents)
    {
        var info = await incidents.OpenAsync(caller, new OpenIncidentInput(request.Severity, request.Title, request.Detail, request.DedupKey, request.Actor));
        return TypedResults.Created($"/v1/incidents/{info.IncidentId}", IncidentDto.From(info));
    }

    private static async Task<Ok<IncidentDto>> GetAsync(string incidentId, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.GetAsync(caller, incidentId)));

    private static async Task<Ok<IncidentDto>> AcknowledgeAsync(string incidentId, [FromBody] ActorRequest? request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.AcknowledgeAsync(caller, incidentId, request?.Actor)));

    private static async Task<Ok<IncidentDto>> AssignAsync(string incidentId, [FromBody] AssignRequest request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.AssignAsync(caller, incidentId, request.Commander, request.Actor)));

    private static async Task<Ok<IncidentDto>> AnnotateAsync(string incidentId, [FromBody] NoteRequest request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.AnnotateAsync(caller, incidentId, request.Message, request.Actor)));

    private static async Task<Ok<IncidentDto>> AdvanceAsync(string incidentId, [FromBody] AdvanceRequest request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.AdvanceAsync(caller, incidentId, request.State, request.Note, request.Actor)));

    private static async Task<Ok<IncidentDto>> ResolveAsync(string incidentId, [FromBody] ResolveRequest? request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.ResolveAsync(caller, incidentId, request?.Resolution, request?.Actor)));

    private static async Task<Ok<IncidentDto>> PostMortemAsync(string incidentId, [FromBody] PostMortemRequest request, MeshCaller caller, IncidentsService incidents) =>
        TypedResults.Ok(IncidentDto.From(await incidents.AttachPostMortemAsync(caller, incidentId,
            new PostMortemInput(request.Summary, request.RootCause, request.ActionItems, request.Author))));
}
