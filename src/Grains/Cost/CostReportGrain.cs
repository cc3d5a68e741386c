using MeshOs.Abstractions.Cost;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace MeshOs.Grains.Cost;

/// <summary>Reads the rollups (<see cref="ICostReportGrain"/>): small indexed sums, never a rescan of jobs or events.</summary>
[StatelessWorker]
internal sealed class CostReportGrain(ICostStore store, IOptions<CostOptions> options) : Grain, ICostReportGrain
{
    public async Task<CostReport> GetReportAsync(CostQuery query)
    {
        var (from, to) = CostReports.Range(query.From, query.To);
        query = query with { From = from, To = to, Idle = query.Idle ?? options.Value.IdlePolicy };
        // Idle shared among tenants needs every tenant of the scope; a tenant's own line is picked out afterwards.
        var sharing = query.GroupBy == CostDimension.Tenant && query.Idle != IdlePolicy.Separate;
        var sums = await store.SumAsync(new CostSumQuery(from, to, query.GroupBy, query.Interval,
            sharing ? null : query.Tenant, query.Pool, query.Agent, query.Capability));
        var report = CostReports.Build(query, options.Value.Currency, sums);
        return sharing && query.Tenant is { } tenant ? CostReports.Only(report, tenant) : report;
    }

    public async Task<CostKpi> GetKpiAsync(CostKpiQuery query)
    {
        var (from, to) = CostReports.Range(query.From, query.To);
        query = query with { From = from, To = to };
        var byMonth = await store.SumAsync(new CostSumQuery(from, to, null, CostInterval.Month, query.Tenant, query.Pool));
        return CostReports.Kpi(query, options.Value.Currency, options.Value.TargetPerAgentMonth, byMonth);
    }

    public async Task<JobCost?> GetJobCostAsync(Guid jobId) =>
        await store.GetJobAsync(jobId) is { } cost ? cost with { Currency = options.Value.Currency } : null;

    public async Task<decimal> GetTenantSpendAsync(string tenantId, DateTimeOffset from, DateTimeOffset to, string? pool = null, string? capability = null)
    {
        var (start, end) = CostReports.Range(from, to);
        var sums = await store.SumAsync(new CostSumQuery(start, end, null, CostInterval.None, Tenant: tenantId, Pool: pool, Capability: capability));
        return sums.Sum(s => s.Allocated + s.Usage);
    }
}
