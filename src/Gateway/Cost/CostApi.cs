using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Cost;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Cost;

/// <summary>Sets a rate card: a whole version of the mesh's prices, in force from its effective time until the next card's.</summary>
public sealed record PutRateCardRequest
{
    /// <summary>When it takes effect: now or later, never in the past. A card in force is not changed: add a new one.</summary>
    [Required]
    public DateTimeOffset? EffectiveFrom { get; init; }

    /// <summary>ISO 4217; must be the mesh's (MeshOs:Cost:Currency, default USD). Default the mesh's.</summary>
    public string? Currency { get; init; }

    /// <summary>Hourly agent rates: pool (or * for any), optionally narrowed by runtime and region; the most specific match wins. Agents no rule matches cost what they registered with.</summary>
    [MaxLength(200)]
    public List<AgentRate>? AgentRates { get; init; }

    /// <summary>Unit prices of metered usage: unit (tokens_in, tokens_out, gpu_seconds or any name agents report), optionally for one model.</summary>
    [MaxLength(500)]
    public List<UnitPrice>? UnitPrices { get; init; }

    /// <summary>Why the prices are what they are, at most 500 characters.</summary>
    public string? Note { get; init; }
}

/// <summary>/v1/cost, the REST adapter of <see cref="CostService"/>.</summary>
public static class CostApi
{
    public const long MaxBodyBytes = 256 * 1024;

    public static IEndpointRouteBuilder MapCostApi(this IEndpointRouteBuilder app)
    {
        var cost = app.MapGroup("/v1/cost").WithTags("Cost").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems();
        cost.MapGet("/report", GetReportAsync).WithName("GetCostReport")
            .WithSummary("Costs by tenant, pool, agent or capability over a day, a month or a range, with idle apart or shared; totals reconcile (a tenant: its own).")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        cost.MapGet("/kpi", GetKpiAsync).WithName("GetCostKpi")
            .WithSummary("Cost per agent per month (mesh, pool or tenant view) against the target (MeshOs:Cost:TargetPerAgentMonth), with a point per month.")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        cost.MapGet("/jobs/{jobId}", GetJobCostAsync).WithName("GetJobCost")
            .WithSummary("One job's cost: its share of the agent time it ran in and its usage (a tenant: its own jobs; another's is 404).")
            .ProducesProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        cost.MapGet("/rate-cards", GetRateCardsAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("ListRateCards")
            .WithSummary("The rate cards by effective time, with the mesh's currency.");
        cost.MapGet("/rate-cards/{cardId}", GetRateCardAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("GetRateCard")
            .WithSummary("One rate card.").ProducesProblems(StatusCodes.Status404NotFound);
        cost.MapPut("/rate-cards/{cardId}", PutRateCardAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("PutRateCard")
            .WithSummary("Add a rate card, or change one not yet in force (needs a full key); a card in force answers 409.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status409Conflict);
        cost.MapDelete("/rate-cards/{cardId}", DeleteRateCardAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("DeleteRateCard")
            .WithSummary("Remove a rate card not yet in force (needs a full key); a card in force answers 409.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<CostReport>> GetReportAsync(MeshCaller caller, CostService costs,
        [Description("Start (inclusive, whole hours); with period: a time in the day or month.")] DateTimeOffset? from = null,
        [Description("End (exclusive, rounded up to the hour). Default now.")] DateTimeOffset? to = null,
        [Description("day or month (the UTC day or month holding from, default now), or custom (from–to; default the month so far).")] string? period = null,
        [Description("tenant (default), pool, agent (operators) or capability.")] string? groupBy = null,
        [Description("none (default), hour, day or month: a line per bucket.")] string? interval = null,
        [Description("Only this tenant (a tenant key: its own, the default).")] string? tenant = null,
        [Description("Only this pool.")] string? pool = null,
        [Description("Only this agent (operators).")] string? agent = null,
        [Description("Only this capability.")] string? capability = null,
        [Description("separate (idle its own line), even or proportional (idle shared among tenants). Default MeshOs:Cost:IdlePolicy.")] string? idle = null) =>
        TypedResults.Ok(await costs.GetReportAsync(caller, new CostFilter(from, to, period, groupBy, interval, tenant, pool, agent, capability, idle)));

    private static async Task<Ok<CostKpi>> GetKpiAsync(MeshCaller caller, CostService costs,
        [Description("Start (inclusive); with period: a time in the day or month.")] DateTimeOffset? from = null,
        [Description("End (exclusive). Default now.")] DateTimeOffset? to = null,
        [Description("day, month or custom, as for the report.")] string? period = null,
        [Description("The pool's view.")] string? pool = null,
        [Description("The tenant's view (a tenant key: its own, the default).")] string? tenant = null) =>
        TypedResults.Ok(await costs.GetKpiAsync(caller, from, to, period, pool, tenant));

    private static async Task<Ok<JobCost>> GetJobCostAsync(string jobId, MeshCaller caller, CostService costs) =>
        TypedResults.Ok(await costs.GetJobCostAsync(caller, jobId));

    private static async Task<Ok<RateCardSet>> GetRateCardsAsync(MeshCaller caller, CostService costs) =>
        TypedResults.Ok(await costs.GetRateCardsAsync(caller));

    private static async Task<Ok<RateCard>> GetRateCardAsync(string cardId, MeshCaller caller, CostService costs) =>
        TypedResults.Ok(await costs.GetRateCardAsync(caller, cardId));

    private static async Task<Ok<RateCard>> PutRateCardAsync(string cardId, [FromBody] PutRateCardRequest request, MeshCaller caller, CostService costs) =>
        TypedResults.Ok(await costs.PutRateCardAsync(caller, cardId,
            new RateCardSpec(request.EffectiveFrom, request.Currency, request.AgentRates, request.UnitPrices, request.Note)));

    private static async Task<NoContent> DeleteRateCardAsync(string cardId, MeshCaller caller, CostService costs)
    {
        await costs.DeleteRateCardAsync(caller, cardId);
        return TypedResults.NoContent();
    }
}
