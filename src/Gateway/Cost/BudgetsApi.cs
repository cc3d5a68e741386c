using System.Collections.Immutable;
using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Cost;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Cost;

/// <summary>Sets a budget.</summary>
public sealed record PutBudgetRequest
{
    /// <summary>The limit, greater than 0 (at most 6 decimals).</summary>
    [Required]
    public decimal? Limit { get; init; }

    /// <summary>The mesh's cost currency, ISO 4217 (<c>MeshOs:Cost:Currency</c>, default USD).</summary>
    [Required]
    public string? Currency { get; init; }

    /// <summary>Monthly (calendar months, UTC; the default) or Custom (from … to).</summary>
    public BudgetPeriod? Period { get; init; }

    /// <summary>A custom period's start.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>A custom period's end.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Percentages of the limit that raise an alert (event + webhook), ascending, 1–1,000; default 80, 100.</summary>
    public List<int>? AlertPercents { get; init; }

    /// <summary>Refuse new submits the budget covers once spend reaches the limit (402 budget-exceeded). Default false (alerts only).</summary>
    public bool? HardLimit { get; init; }

    /// <summary>Only spend (and submits) in this pool; absent: every pool.</summary>
    public string? Pool { get; init; }

    /// <summary>Only spend (and submits) for this capability; absent: every capability.</summary>
    public string? Capability { get; init; }
}

/// <summary>/v1/tenants/{tenantId}/budgets, the REST adapter of <see cref="BudgetsService"/>.</summary>
public static class BudgetsApi
{
    public static IEndpointRouteBuilder MapBudgetsApi(this IEndpointRouteBuilder app)
    {
        var budgets = app.MapGroup("/v1/tenants/{tenantId}/budgets").WithTags("Budgets")
            .RequireAuthorization(MeshRoles.OperatorOrTenantPolicy).RequireOperatorScope(OperatorScope.TenantAdmin)
            .WithMetadata(new RequestSizeLimitAttribute(16 * 1024)).ProducesAuthenticatedProblems();
        budgets.MapGet("/", ListAsync).WithName("ListBudgets")
            .WithSummary("The tenant's budgets with this period's spend, state (Ok, Warning, Exceeded), forecast and when each runs out at the current rate.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        budgets.MapPut("/{name}", PutAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("PutBudget")
            .WithSummary("Add or replace a budget (operator, tenant-admin scope): its spend so far in the period is kept when the period and scope stay.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status429TooManyRequests);
        budgets.MapDelete("/{name}", DeleteAsync).RequireAuthorization(MeshRoles.OperatorPolicy).WithName("DeleteBudget")
            .WithSummary("Remove a budget (operator, tenant-admin scope); a hard limit it held stops refusing submits.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<ImmutableArray<BudgetStatus>>> ListAsync(string tenantId, MeshCaller caller, BudgetsService budgets) =>
        TypedResults.Ok(await budgets.ListAsync(caller, tenantId));

    private static async Task<Ok<BudgetStatus>> PutAsync(string tenantId, string name, [FromBody] PutBudgetRequest request, MeshCaller caller, BudgetsService budgets) =>
        TypedResults.Ok(await budgets.PutAsync(caller, tenantId, name, new BudgetInput(request.Limit, request.Currency, request.Period, request.From, request.To,
            request.AlertPercents, request.HardLimit, request.Pool, request.Capability)));

    private static async Task<NoContent> DeleteAsync(string tenantId, string name, MeshCaller caller, BudgetsService budgets)
    {
        await budgets.DeleteAsync(caller, tenantId, name);
        return TypedResults.NoContent();
    }
}
