using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Incidents;
using MeshOs.Abstractions.Kpi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// Answers KPI, SLO and SLA questions from the rollups (a few hundred rows at most: hour rows over 13 months) and from
/// the components that own the other KPIs: incidents (MTTR, automation), the compliance auditor (score), the cost model
/// (cost per agent, the month's bill). A component that cannot answer gives a null with its reason.
/// </summary>
[StatelessWorker]
internal sealed class KpiReportGrain(
    IKpiStore store,
    IOptions<KpiOptions> options,
    IOptions<SlaOptions> sla,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IKpiReportGrain
{
    public async Task<KpiReport> GetKpisAsync(string scope, DateTimeOffset from, DateTimeOffset to)
    {
        var o = options.Value;
        var tenant = SliScopes.TenantOf(scope);
        var (start, end, totals) = await TotalsAsync(scope, from, to);
        var kpis = KpiCalculator.SliKpis(totals, o).ToBuilder();
        kpis.Add(await IncidentKpiAsync(tenant, "mttr", start, end));
        kpis.Add(await IncidentKpiAsync(tenant, "automationRate", start, end));
        kpis.Add(await ComplianceKpiAsync(tenant));
        kpis.Add(await CostKpiAsync(tenant, start, end));
        var (adherence, allowed, remaining) = KpiCalculator.Slo(totals, o);
        var burn = await GrainFactory.GetGrain<ISliGrain>(scope).GetBurnAsync();
        var slo = new SloStatus(scope, start, end, o.AvailabilityTarget, o.SubmitP95TargetMs, o.SubmitP99TargetMs, o.ErrorRateTarget,
            totals.Windows, totals.WindowsMet, adherence, totals.ValidMinutes, totals.BadMinutes, allowed, remaining, burn);
        return new KpiReport(scope, tenant, start, end, kpis.ToImmutable(), slo);
    }

    public Task<ImmutableArray<SliRow>> GetSeriesAsync(string scope, SliResolution resolution, DateTimeOffset from, DateTimeOffset to) =>
        store.ReadAsync(scope, resolution, SliRowMath.Bucket(from, resolution), to);

    public async Task<SlaReport> GetSlaReportAsync(string tenantId, DateTimeOffset month)
    {
        var now = time.GetUtcNow();
        var from = new DateTimeOffset(month.UtcDateTime.Year, month.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthEnd = from.AddMonths(1);
        var final = now >= monthEnd;
        var (_, end, totals) = await TotalsAsync(SliScopes.Tenant(tenantId), from, monthEnd);
        var windows = await GrainFactory.GetGrain<IMaintenanceGrain>(0).ListAsync(from, monthEnd, includeCancelled: false);
        var availability = Math.Round(SlaCredits.Availability(totals.GoodMinutes, totals.ValidMinutes), 4);
        var band = SlaCredits.BandOf(availability);
        var (bill, source, currency) = await BillAsync(tenantId, from, monthEnd);
        return new SlaReport(tenantId, from.ToString("yyyy-MM", CultureInfo.InvariantCulture), from, end, final, totals.TotalMinutes,
            totals.ExcludedMinutes, totals.ValidMinutes, totals.BadMinutes, totals.GoodMinutes, availability, SlaCredits.Target, band,
            SlaCredits.Bands, bill, source, currency, bill is { } b ? SlaCredits.Credit(b, band) : null, windows, now);
    }

    /// <summary>The totals of [from, min(to, now)): 5-minute rows for up to two days, hour rows beyond.</summary>
    private async Task<(DateTimeOffset From, DateTimeOffset To, SliTotals Totals)> TotalsAsync(string scope, DateTimeOffset from, DateTimeOffset to)
    {
        var now = MaintenanceCalendar.Floor(time.GetUtcNow());
        var end = to < now ? to : now;
        var resolution = end - from <= TimeSpan.FromDays(2) ? SliResolution.FiveMinutes : SliResolution.Hour;
        var start = SliRowMath.Bucket(from, resolution);
        if (end < start)
        {
            end = start;
        }

        var rows = await store.ReadAsync(scope, resolution, start, end);
        var meshRows = scope == SliScopes.Mesh ? [] : await store.ReadAsync(SliScopes.Mesh, resolution, start, end);
        var windows = await GrainFactory.GetGrain<IMaintenanceGrain>(0).ListAsync(start, end, includeCancelled: false);
        return (start, end, KpiCalculator.Totals(rows, meshRows, scope == SliScopes.Mesh, windows, start, end));
    }

    private async Task<KpiValue> IncidentKpiAsync(string? tenant, string name, DateTimeOffset from, DateTimeOffset to)
    {
        const string Source = "incidents";
        var o = options.Value;
        var (unit, target) = name == "mttr" ? ("minutes", (decimal)o.MttrTarget.TotalMinutes) : ("percent", o.AutomationTarget);
        if (tenant is not null)
        {
            return KpiValue.Missing(name, unit, target, Source, "incidents are the mesh's, not a tenant's: read the mesh KPIs");
        }

        try
        {
            var all = (await GrainFactory.GetGrain<IIncidentDirectoryGrain>(0).GetReportAsync(from, to)).All;
            if (all.Resolved == 0)
            {
                return KpiValue.Missing(name, unit, target, Source, "no incident detected in the period was resolved");
            }

            if (name == "mttr")
            {
                var minutes = Math.Round((decimal)all.MeanTimeToResolve!.Value.TotalMinutes, 2);
                return new KpiValue(name, minutes, unit, target, minutes < target, Source);
            }

            var rate = Math.Round((decimal)all.AutomationRate * 100m, 2);
            return new KpiValue(name, rate, unit, target, rate >= target, Source);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return KpiValue.Missing(name, unit, target, Source, "incident management did not answer: " + ex.GetType().Name);
        }
    }

    private async Task<KpiValue> ComplianceKpiAsync(string? tenant)
    {
        const string Source = "compliance";
        var target = options.Value.ComplianceTarget;
        try
        {
            var report = await GrainFactory.GetGrain<IComplianceGrain>(0).GetScoreAsync(tenant);
            var score = report.Score;
            if (score.Passed + score.Failed + score.Warned + score.Errored == 0)
            {
                return KpiValue.Missing("complianceScore", "percent", target, Source, "no compliance check has run yet");
            }

            return new KpiValue("complianceScore", score.Percent, "percent", target, score.Percent >= target, Source);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return KpiValue.Missing("complianceScore", "percent", target, Source, "the compliance auditor did not answer: " + ex.GetType().Name);
        }
    }

    private async Task<KpiValue> CostKpiAsync(string? tenant, DateTimeOffset from, DateTimeOffset to)
    {
        const string Source = "cost";
        try
        {
            if (to <= from)
            {
                return KpiValue.Missing("costPerAgent", "USD", null, Source, "empty period");
            }

            var kpi = await GrainFactory.GetGrain<ICostReportGrain>(0).GetKpiAsync(new CostKpiQuery(from, to, null, tenant));
            return kpi.CostPerAgentMonth is { } value
                ? new KpiValue("costPerAgent", value, kpi.Currency, kpi.Target, kpi.MeetsTarget, Source)
                : KpiValue.Missing("costPerAgent", kpi.Currency, kpi.Target, Source, "no agent time in the period");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return KpiValue.Missing("costPerAgent", "USD", null, Source, "the cost model did not answer: " + ex.GetType().Name);
        }
    }

    /// <summary>The tenant's bill for the month: its cost where cost accounting has some, else the configured fee.</summary>
    private async Task<(decimal? Bill, string? Source, string? Currency)> BillAsync(string tenantId, DateTimeOffset from, DateTimeOffset to)
    {
        try
        {
            var report = await GrainFactory.GetGrain<ICostReportGrain>(0).GetReportAsync(new CostQuery(from, to, CostDimension.Tenant, Tenant: tenantId));
            var cost = report.Lines.Where(l => l.Key == tenantId).Sum(l => l.Total);
            if (cost > 0m)
            {
                return (Math.Round(cost, 2), "cost", report.Currency);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The cost model is optional: fall back to the fee.
        }

        return sla.Value.MonthlyFee is { } fee ? (fee, "monthly-fee", sla.Value.Currency) : (null, null, null);
    }
}
