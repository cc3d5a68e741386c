using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Cost;

/// <summary>A budget as an operator sets it (the tenant and the name come from the path).</summary>
public sealed record BudgetInput(decimal? Limit, string? Currency, BudgetPeriod? Period, DateTimeOffset? From, DateTimeOffset? To,
    IReadOnlyList<int>? AlertPercents, bool? HardLimit, string? Pool, string? Capability);

/// <summary>
/// Tenants' budgets, once for every transport: operators (tenant-admin scope or full) set and remove a tenant's
/// budgets, every change audited with its digest; a tenant reads its own budgets' status, an operator any tenant's.
/// The submit path checks the hard limits through <see cref="BudgetGate"/>.
/// </summary>
public sealed class BudgetsService(IGrainFactory grains, BudgetGate gate, Mutations mutations)
{
    public Task<BudgetStatus> PutAsync(MeshCaller caller, string tenantId, string name, BudgetInput input)
    {
        caller.RequireOperator();
        Plausible(tenantId);
        var spec = new BudgetSpec(name,
            input.Limit ?? throw MeshException.Invalid("limit", "required: the amount, greater than 0."),
            input.Currency ?? throw MeshException.Invalid("currency", "required: the mesh's cost currency (ISO 4217, e.g. USD)."),
            input.Period ?? BudgetPeriod.Monthly,
            input.From, input.To,
            input.AlertPercents is null ? [] : [.. input.AlertPercents],
            input.HardLimit ?? false,
            string.IsNullOrEmpty(input.Pool) ? null : input.Pool,
            string.IsNullOrEmpty(input.Capability) ? null : input.Capability);
        return mutations.RunAsync(caller, MeshActions.PutBudget, MeshTargets.Budget(tenantId, name), ChangeSummaries.PutBudget(spec), async () =>
        {
            await RequireTenantAsync(tenantId);
            var status = await grains.GetGrain<ITenantBudgetGrain>(tenantId).PutAsync(spec);
            gate.Invalidate(tenantId);
            return status;
        });
    }

    public Task DeleteAsync(MeshCaller caller, string tenantId, string name)
    {
        caller.RequireOperator();
        Plausible(tenantId);
        return mutations.RunAsync(caller, MeshActions.DeleteBudget, MeshTargets.Budget(tenantId, name), ChangeSummaries.Remove(name), async () =>
        {
            await grains.GetGrain<ITenantBudgetGrain>(tenantId).DeleteAsync(name);
            gate.Invalidate(tenantId);
        });
    }

    /// <summary>The budgets of <paramref name="tenantId"/> (a tenant: its own only, another tenant's is NotFound).</summary>
    public async Task<ImmutableArray<BudgetStatus>> ListAsync(MeshCaller caller, string tenantId)
    {
        Plausible(tenantId);
        if (!caller.IsOperator && caller.RequireTenant().TenantId != tenantId)
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        if (caller.IsOperator)
        {
            await RequireTenantAsync(tenantId);
        }

        return await grains.GetGrain<ITenantBudgetGrain>(tenantId).ListAsync();
    }

    /// <summary>A tenant id that could not exist is NotFound without a grain call.</summary>
    private static void Plausible(string tenantId)
    {
        if (!Inputs.IsPlausibleId(tenantId, 100))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }
    }

    private async Task RequireTenantAsync(string tenantId)
    {
        if (await grains.GetGrain<Abstractions.Tenants.ITenantGrain>(tenantId).GetAsync() is null)
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }
    }
}
