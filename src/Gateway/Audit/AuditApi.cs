using System.ComponentModel;
using System.Text.Json;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Audit;

/// <summary>/v1/audit, the REST adapter of <see cref="AuditService"/>: query and export (operators, and tenants for their own), verify (operators).</summary>
public static class AuditApi
{
    public const string JsonLines = "application/x-ndjson";

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy).ProducesAuthenticatedProblems();
        audit.MapGet("/", QueryAsync).WithName("QueryAuditLog").WithSummary("Audit entries newest first, filtered, with a cursor to older ones.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        audit.MapGet("/export", ExportAsync).WithName("ExportAuditLog").WithSummary("Every matching audit entry as JSON lines (application/x-ndjson), newest first.")
            .Produces<AuditEntry>(StatusCodes.Status200OK, JsonLines).ProducesProblems(StatusCodes.Status400BadRequest);
        audit.MapPost("/verify", VerifyAsync).RequireOperatorScope(OperatorScope.ReadOnly).WithName("VerifyAuditLog").WithSummary("Walks the hash chain and its signed checkpoints; names the first broken entry.")
            .RequireAuthorization(MeshRoles.OperatorPolicy).ProducesProblems(StatusCodes.Status400BadRequest);
        return app;
    }

    private static async Task<Ok<AuditEntryPage>> QueryAsync(MeshCaller caller, AuditService audit,
        [Description("Only entries by this credential (key id, or 'operator').")] string? actor = null,
        [Description("Only entries about this tenant's objects (a tenant key: its own, the default).")] string? tenant = null,
        [Description("Only this action, e.g. jobs.submit.")] string? action = null,
        [Description("Only this target, e.g. job/{id} or tenant/{id}.")] string? target = null,
        [Description("Entries at or after this time.")] DateTimeOffset? from = null,
        [Description("Entries before this time.")] DateTimeOffset? to = null,
        [Description("The nextCursor of the previous page.")] string? cursor = null,
        [Description("Entries per page, 1–1,000; default 100.")] int? limit = null) =>
        TypedResults.Ok(await audit.QueryAsync(caller, new AuditFilter(actor, tenant, action, target, from, to, cursor, limit)));

    private static async Task ExportAsync(HttpContext context, MeshCaller caller, AuditService audit, IOptions<JsonOptions> json,
        string? actor = null, string? tenant = null, string? action = null, string? target = null, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var entries = audit.Export(caller, new AuditFilter(actor, tenant, action, target, from, to, null, null), context.RequestAborted);
        context.Response.ContentType = JsonLines;
        await foreach (var entry in entries)
        {
            await JsonSerializer.SerializeAsync(context.Response.Body, entry, json.Value.SerializerOptions, context.RequestAborted);
            await context.Response.Body.WriteAsync("\n"u8.ToArray(), context.RequestAborted);
        }
    }

    private static async Task<Ok<AuditVerdict>> VerifyAsync(MeshCaller caller, AuditService audit,
        [Description("The first seq to check; default the oldest kept entry.")] long? from = null,
        [Description("The last seq to check; default the head.")] long? to = null) =>
        TypedResults.Ok(await audit.VerifyAsync(caller, from, to));
}
