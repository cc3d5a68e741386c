using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Jobs;

namespace MeshOs.Gateway.Cost;

/// <summary>A rate card as an operator sets it (the id comes from the path).</summary>
public sealed record RateCardSpec(DateTimeOffset? EffectiveFrom, string? Currency, IReadOnlyList<AgentRate>? AgentRates,
    IReadOnlyList<UnitPrice>? UnitPrices, string? Note);

/// <summary>Which costs to report, as a caller asks: a period (or a range), a grouping, filters, the idle policy.</summary>
/// <param name="Period">day or month: the UTC day or month holding <c>from</c> (default now); absent: the range from–to (default the month so far).</param>
public sealed record CostFilter(DateTimeOffset? From, DateTimeOffset? To, string? Period, string? GroupBy, string? Interval,
    string? Tenant, string? Pool, string? Agent, string? Capability, string? Idle);

/// <summary>
/// The cost model, once for every transport: reports by dimension and period, the cost-per-agent KPI, and the rate
/// cards. Tenants read their own costs only (another tenant's is refused; agents are an operator's dimension);
/// operators read everything and change rate cards (a full key; every change audited with its digest).
/// </summary>
public sealed class CostService(IGrainFactory grains, Mutations mutations, TimeProvider time)
{
    private IRateCardGrain Cards => grains.GetGrain<IRateCardGrain>(0);

    private ICostReportGrain Reports => grains.GetGrain<ICostReportGrain>(0);

    public Task<CostReport> GetReportAsync(MeshCaller caller, CostFilter filter)
    {
        var (from, to) = Range(filter.From, filter.To, filter.Period);
        var groupBy = Inputs.EnumName<CostDimension>(filter.GroupBy, "groupBy") ?? CostDimension.Tenant;
        var agent = Inputs.Filter(filter.Agent, "agent");
        if (!caller.IsOperator && (groupBy == CostDimension.Agent || agent is not null))
        {
            throw MeshException.Invalid(agent is null ? "groupBy" : "agent", "agents are an operator's dimension; a tenant key groups by tenant, pool or capability.");
        }

        return Reports.GetReportAsync(new CostQuery(from, to, groupBy,
            Inputs.EnumName<CostInterval>(filter.Interval, "interval") ?? CostInterval.None,
            TenantOf(caller, filter.Tenant), Inputs.Filter(filter.Pool, "pool"), agent, Inputs.Filter(filter.Capability, "capability"),
            Inputs.EnumName<IdlePolicy>(filter.Idle, "idle")));
    }

    public Task<CostKpi> GetKpiAsync(MeshCaller caller, DateTimeOffset? from, DateTimeOffset? to, string? period, string? pool, string? tenant)
    {
        var (start, end) = Range(from, to, period);
        return Reports.GetKpiAsync(new CostKpiQuery(start, end, Inputs.Filter(pool, "pool"), TenantOf(caller, tenant)));
    }

    /// <summary>
    /// The caller's job's cost; NotFound for an unknown job or another tenant's (never told apart). A job of the caller's
    /// with nothing charged yet (pending, or ended within the settle delay) answers zeros.
    /// </summary>
    public async Task<JobCost> GetJobCostAsync(MeshCaller caller, string? jobId)
    {
        var id = JobSubmitter.ParseJobId(jobId);
        var tenant = caller.IsOperator ? null : caller.RequireTenant().TenantId;
        var cost = await Reports.GetJobCostAsync(id);
        if (cost is not null && (tenant is null || cost.Tenant == tenant))
        {
            return cost;
        }

        var job = await grains.GetJobGrain(id).GetAsync(tenant) ?? throw MeshException.NotFound($"Job '{id}'");
        var currency = (await Cards.GetCardsAsync()).Currency;
        return new JobCost(id, currency, job.TenantId, job.Spec.Pool, job.Spec.Capability, 0m, 0m, 0);
    }

    public async Task<RateCardSet> GetRateCardsAsync(MeshCaller caller)
    {
        caller.RequireOperator();
        return await Cards.GetCardsAsync();
    }

    public async Task<RateCard> GetRateCardAsync(MeshCaller caller, string cardId)
    {
        caller.RequireOperator();
        return (await Cards.GetCardsAsync()).Cards.FirstOrDefault(c => c.Id == cardId) ?? throw MeshException.NotFound($"Rate card {cardId}");
    }

    public Task<RateCard> PutRateCardAsync(MeshCaller caller, string cardId, RateCardSpec spec)
    {
        caller.RequireOperator();
        var effective = spec.EffectiveFrom ?? throw MeshException.Invalid("effectiveFrom", "required: when the card takes effect (now or later).");
        CheckDate(effective, "effectiveFrom");
        var input = new RateCardInput(cardId, effective, spec.Currency,
            [.. spec.AgentRates ?? []], [.. spec.UnitPrices ?? []], spec.Note);
        return mutations.RunAsync(caller, MeshActions.PutRateCard, MeshTargets.RateCard(cardId), ChangeSummaries.PutRateCard(input),
            () => Cards.PutCardAsync(input));
    }

    public Task DeleteRateCardAsync(MeshCaller caller, string cardId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.DeleteRateCard, MeshTargets.RateCard(cardId), ChangeSummaries.Remove(cardId),
            () => Cards.DeleteCardAsync(cardId));
    }

    /// <summary>The range asked: a UTC day or month, or from–to; by default the month so far.</summary>
    private (DateTimeOffset From, DateTimeOffset To) Range(DateTimeOffset? from, DateTimeOffset? to, string? period)
    {
        var now = time.GetUtcNow();
        if (from is { } f)
        {
            CheckDate(f, "from");
        }

        if (to is { } t)
        {
            CheckDate(t, "to");
        }

        switch (Inputs.Filter(period, "period"))
        {
            case null or "custom":
                var end = to ?? now;
                var start = from ?? new DateTimeOffset(end.UtcDateTime.Year, end.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return start < end ? (start, end) : throw MeshException.Invalid("from", "must be before to.");
            case "day":
                var day = (from ?? now).UtcDateTime.Date;
                return (new DateTimeOffset(day, TimeSpan.Zero), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero));
            case "month":
                var at = (from ?? now).UtcDateTime;
                var month = new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return (month, month.AddMonths(1));
            default:
                throw MeshException.Invalid("period", "day, month or custom.");
        }
    }

    /// <summary>Times the cost model takes: from 2000 to 9000 (past that, hour and month arithmetic would overflow).</summary>
    private static void CheckDate(DateTimeOffset at, string field)
    {
        if (at.UtcDateTime.Year is < 2000 or >= 9000)
        {
            throw MeshException.Invalid(field, "a time between the years 2000 and 9000.");
        }
    }

    /// <summary>The tenant a read is about: a tenant key reads its own only; an operator any (null: the mesh).</summary>
    private static string? TenantOf(MeshCaller caller, string? tenant)
    {
        tenant = Inputs.Filter(tenant, "tenant");
        if (caller.IsOperator)
        {
            return tenant;
        }

        var own = caller.RequireTenant().TenantId;
        return tenant is null || tenant == own ? own : throw MeshException.Invalid("tenant", "a tenant key reads its own tenant's costs only.");
    }
}
