using System.Collections.Immutable;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Kpi;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Kpi;

/// <summary>Schedules a maintenance window.</summary>
public sealed record ScheduleMaintenanceRequest
{
    /// <summary>Scheduled (starts at least 7 days ahead, announced to tenants) or Emergency (starts now or later, at most 2 h).</summary>
    [Required]
    public string? Kind { get; init; }

    /// <summary>Start, UTC, whole minutes.</summary>
    [Required]
    public DateTimeOffset? Start { get; init; }

    /// <summary>End (exclusive), UTC, whole minutes.</summary>
    [Required]
    public DateTimeOffset? End { get; init; }

    /// <summary>What tenants are told (1–200 characters).</summary>
    [Required]
    public string? Title { get; init; }

    /// <summary>Why (up to 2,000 characters).</summary>
    public string? Reason { get; init; }
}

/// <summary>/v1/kpis, /v1/tenants/{id}/kpis, /v1/slo, /v1/sla/reports and /v1/maintenance-windows: the REST adapter of <see cref="KpiService"/>.</summary>
public static class KpiApi
{
    public static IEndpointRouteBuilder MapKpiApi(this IEndpointRouteBuilder app)
    {
        var kpis = app.MapGroup("/v1").WithTags("KPIs and SLOs").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(16 * 1024)).ProducesAuthenticatedProblems();
        kpis.MapGet("/kpis", GetMeshKpisAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("GetMeshKpis")
            .WithSummary("The mesh's KPIs (availability, submit and end-to-end latency, error rate, SLO adherence, error budget, MTTR, automation rate, compliance score, cost per agent) with targets and SLO status; a KPI whose source has nothing says so (value null, missingReason).")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        kpis.MapGet("/tenants/{tenantId}/kpis", GetTenantKpisAsync).WithName("GetTenantKpis")
            .WithSummary("A tenant's KPIs (its own, or any tenant's for an operator).")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        kpis.MapGet("/kpis/series", GetSeriesAsync).WithName("GetKpiSeries")
            .WithSummary("SLI rollup rows of the mesh (operators) or a tenant at 1m, 5m, 1h or 1d: requests, errors, good/bad/excluded minutes, SLO windows met, latency sketches. For charts.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        kpis.MapGet("/slo", GetSloAsync).WithName("GetSlo")
            .WithSummary("SLO status: adherence (windows meeting every SLO ÷ windows), error budget remaining, burn rates over 5 min and 1 h. A tenant key reads its own; an operator the mesh's or ?tenant=.")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        kpis.MapGet("/sla/reports/{tenantId}/{month}", GetSlaReportAsync).WithName("GetSlaReport")
            .WithSummary("A tenant's SLA report for a calendar month (yyyy-MM; yyyy-MM.html for the printable page): availability, credit band, the bill and the credit.")
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);

        var windows = app.MapGroup("/v1/maintenance-windows").WithTags("Maintenance windows").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(16 * 1024)).ProducesAuthenticatedProblems();
        windows.MapGet("/", ListMaintenanceAsync).WithName("ListMaintenanceWindows")
            .WithSummary("Maintenance windows overlapping [from, to) (default: the next 90 days), the recurring monthly window included.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        windows.MapGet("/{windowId}", GetMaintenanceAsync).WithName("GetMaintenanceWindow")
            .WithSummary("One scheduled or emergency window.").ProducesProblems(StatusCodes.Status404NotFound);
        windows.MapPost("/", ScheduleMaintenanceAsync).RequireAuthorization(MeshRoles.OperatorPolicy).RequireOperatorScope(OperatorScope.IncidentResponder)
            .WithName("ScheduleMaintenanceWindow")
            .WithSummary("Schedule a window: Scheduled ones start at least MeshOs:Maintenance:NoticePeriod (7 days) ahead, Emergency ones now or later and last at most 2 h. Announced to tenants by signed webhook; audited.")
            .ProducesBodyProblems();
        windows.MapPost("/{windowId}/cancel", CancelMaintenanceAsync).RequireAuthorization(MeshRoles.OperatorPolicy).RequireOperatorScope(OperatorScope.IncidentResponder)
            .WithName("CancelMaintenanceWindow")
            .WithSummary("Cancel a window that has not ended (one under way ends with the current minute). Announced; audited.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<KpiReport>> GetMeshKpisAsync(MeshCaller caller, KpiService kpis,
        [Description("Start (default: the month's first day, or with period the day/month holding it).")] DateTimeOffset? from = null,
        [Description("End (default: now).")] DateTimeOffset? to = null,
        [Description("day, month or custom (default).")] string? period = null) =>
        TypedResults.Ok(await kpis.GetMeshKpisAsync(caller, from, to, period));

    private static async Task<Ok<KpiReport>> GetTenantKpisAsync(string tenantId, MeshCaller caller, KpiService kpis,
        [Description("Start (default: the month's first day).")] DateTimeOffset? from = null,
        [Description("End (default: now).")] DateTimeOffset? to = null,
        [Description("day, month or custom (default).")] string? period = null) =>
        TypedResults.Ok(await kpis.GetTenantKpisAsync(caller, tenantId, from, to, period));

    private static async Task<Ok<ImmutableArray<SliRow>>> GetSeriesAsync(MeshCaller caller, KpiService kpis,
        [Description("A tenant (default: the caller's; the mesh for an operator).")] string? tenant = null,
        [Description("1m, 5m, 1h (default) or 1d.")] string? resolution = null,
        [Description("Start (default: 288 points before to).")] DateTimeOffset? from = null,
        [Description("End (default: now).")] DateTimeOffset? to = null) =>
        TypedResults.Ok(await kpis.GetSeriesAsync(caller, tenant, resolution, from, to));

    private static async Task<Ok<SloStatus>> GetSloAsync(MeshCaller caller, KpiService kpis,
        [Description("A tenant (operators; a tenant key reads its own).")] string? tenant = null,
        [Description("Start (default: the month's first day).")] DateTimeOffset? from = null,
        [Description("End (default: now).")] DateTimeOffset? to = null,
        [Description("day, month or custom (default).")] string? period = null) =>
        TypedResults.Ok(await kpis.GetSloAsync(caller, tenant, from, to, period));

    private static async Task<Results<Ok<SlaReport>, ContentHttpResult>> GetSlaReportAsync(string tenantId, string month, MeshCaller caller, KpiService kpis)
    {
        var html = month.EndsWith(".html", StringComparison.Ordinal);
        var report = await kpis.GetSlaReportAsync(caller, tenantId, html ? month[..^5] : month);
        return html ? TypedResults.Content(SlaReportPage.Render(report), "text/html; charset=utf-8") : TypedResults.Ok(report);
    }

    private static async Task<Ok<ImmutableArray<MaintenanceWindow>>> ListMaintenanceAsync(MeshCaller caller, KpiService kpis,
        [Description("Start (default: now).")] DateTimeOffset? from = null,
        [Description("End (default: 90 days after from).")] DateTimeOffset? to = null,
        [Description("Include cancelled windows.")] bool includeCancelled = false) =>
        TypedResults.Ok(await kpis.ListMaintenanceAsync(caller, from, to, includeCancelled));

    private static async Task<Ok<MaintenanceWindow>> GetMaintenanceAsync(string windowId, MeshCaller caller, KpiService kpis) =>
        TypedResults.Ok(await kpis.GetMaintenanceAsync(caller, windowId));

    private static async Task<Created<MaintenanceWindow>> ScheduleMaintenanceAsync([FromBody] ScheduleMaintenanceRequest request, MeshCaller caller, KpiService kpis)
    {
        var window = await kpis.ScheduleMaintenanceAsync(caller, new MaintenanceInput(request.Kind, request.Start, request.End, request.Title, request.Reason));
        return TypedResults.Created($"/v1/maintenance-windows/{window.Id}", window);
    }

    private static async Task<Ok<MaintenanceWindow>> CancelMaintenanceAsync(string windowId, MeshCaller caller, KpiService kpis) =>
        TypedResults.Ok(await kpis.CancelMaintenanceAsync(caller, windowId));
}
