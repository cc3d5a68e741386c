using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Kpi;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Kpi;

/// <summary>A maintenance window as an operator asks for it.</summary>
public sealed record MaintenanceInput(string? Kind, DateTimeOffset? Start, DateTimeOffset? End, string? Title, string? Reason);

/// <summary>
/// KPIs, SLOs, SLA reports and maintenance windows, once for every transport (KPIS.md). The mesh's KPIs are an
/// operator's; a tenant reads its own KPIs, SLOs and SLA reports (another tenant's is NotFound, never told apart from
/// an unknown one); everyone reads the maintenance calendar; operators (incident-responder or above) schedule and
/// cancel windows, every change audited.
/// </summary>
public sealed class KpiService(IGrainFactory grains, Mutations mutations, TimeProvider time)
{
    /// <summary>The longest range one query may cover (rollups are kept 13 months).</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);

    private IMaintenanceGrain Calendar => grains.GetGrain<IMaintenanceGrain>(0);

    private IKpiReportGrain Reports => grains.GetGrain<IKpiReportGrain>(0);

    /// <summary>The mesh's KPIs over the period (default: the calendar month so far). Operators only.</summary>
    public Task<KpiReport> GetMeshKpisAsync(MeshCaller caller, DateTimeOffset? from, DateTimeOffset? to, string? period)
    {
        caller.RequireOperator();
        var (start, end) = Range(from, to, period);
        return Reports.GetKpisAsync(SliScopes.Mesh, start, end);
    }

    /// <summary>A tenant's KPIs: its own (a tenant key), or any existing tenant's (an operator).</summary>
    public async Task<KpiReport> GetTenantKpisAsync(MeshCaller caller, string tenantId, DateTimeOffset? from, DateTimeOffset? to, string? period)
    {
        await RequireVisibleTenantAsync(caller, tenantId);
        var (start, end) = Range(from, to, period);
        return await Reports.GetKpisAsync(SliScopes.Tenant(tenantId), start, end);
    }

    /// <summary>SLO status: a tenant key reads its own; an operator the mesh's (no tenant) or a tenant's.</summary>
    public async Task<SloStatus> GetSloAsync(MeshCaller caller, string? tenant, DateTimeOffset? from, DateTimeOffset? to, string? period)
    {
        tenant = Inputs.Filter(tenant, "tenant");
        string scope;
        if (caller.IsOperator)
        {
            if (tenant is not null)
            {
                await RequireVisibleTenantAsync(caller, tenant);
            }

            scope = tenant is null ? SliScopes.Mesh : SliScopes.Tenant(tenant);
        }
        else
        {
            var own = caller.RequireTenant().TenantId;
            if (tenant is not null && tenant != own)
            {
                throw MeshException.NotFound($"Tenant '{tenant}'");
            }

            scope = SliScopes.Tenant(own);
        }

        var (start, end) = Range(from, to, period);
        return (await Reports.GetKpisAsync(scope, start, end)).Slo;
    }

    /// <summary>Rollup rows of a scope (mesh: operators; a tenant: its own or an operator) at a resolution: 1m, 5m, 1h or 1d.</summary>
    public async Task<ImmutableArray<SliRow>> GetSeriesAsync(MeshCaller caller, string? tenant, string? resolution, DateTimeOffset? from, DateTimeOffset? to)
    {
        tenant = Inputs.Filter(tenant, "tenant");
        if (tenant is null)
        {
            if (!caller.IsOperator)
            {
                tenant = caller.RequireTenant().TenantId;
            }
        }
        else
        {
            await RequireVisibleTenantAsync(caller, tenant);
        }

        var res = resolution switch
        {
            null or "" or "1h" => SliResolution.Hour,
            "1m" => SliResolution.Minute,
            "5m" => SliResolution.FiveMinutes,
            "1d" => SliResolution.Day,
            _ => throw MeshException.Invalid("resolution", "1m, 5m, 1h or 1d."),
        };
        var end = to ?? time.GetUtcNow();
        var start = from ?? end - TimeSpan.FromMinutes((int)res * 288); // 288 points by default
        CheckRange(start, end);
        return await Reports.GetSeriesAsync(tenant is null ? SliScopes.Mesh : SliScopes.Tenant(tenant), res, start, end);
    }

    /// <summary>A tenant's SLA report for <paramref name="month"/> (yyyy-MM, UTC): 400 for a malformed or future month.</summary>
    public async Task<SlaReport> GetSlaReportAsync(MeshCaller caller, string tenantId, string? month)
    {
        var first = ParseMonth(month, time.GetUtcNow());
        await RequireVisibleTenantAsync(caller, tenantId);
        return await Reports.GetSlaReportAsync(tenantId, first);
    }

    /// <summary>The windows overlapping [from, to) (default: from now for 90 days), recurring occurrences included.</summary>
    public Task<ImmutableArray<MaintenanceWindow>> ListMaintenanceAsync(MeshCaller caller, DateTimeOffset? from, DateTimeOffset? to, bool includeCancelled)
    {
        _ = caller.IsOperator ? null : caller.RequireTenant();
        var start = from ?? time.GetUtcNow();
        var end = to ?? start.AddDays(90);
        CheckRange(start, end);
        return Calendar.ListAsync(start, end, includeCancelled);
    }

    public async Task<MaintenanceWindow> GetMaintenanceAsync(MeshCaller caller, string id)
    {
        _ = caller.IsOperator ? null : caller.RequireTenant();
        return (Inputs.IsPlausibleId(id, 64) ? await Calendar.GetAsync(id) : null) ?? throw MeshException.NotFound($"Maintenance window '{id}'");
    }

    /// <summary>Schedules a window: 400 naming the field when the calendar's rules refuse it (KPIS.md, "Maintenance windows").</summary>
    public Task<MaintenanceWindow> ScheduleMaintenanceAsync(MeshCaller caller, MaintenanceInput input)
    {
        caller.RequireOperator();
        var kind = Inputs.EnumName<MaintenanceKind>(input.Kind, "kind") ?? throw MeshException.Invalid("kind", "required: Scheduled or Emergency.");
        if (kind == MaintenanceKind.Recurring)
        {
            throw MeshException.Invalid("kind", "Scheduled or Emergency (the recurring window is configuration: MeshOs:Maintenance).");
        }

        var request = new MaintenanceRequest(kind,
            input.Start ?? throw MeshException.Invalid("start", "required: when the window starts (UTC, whole minutes)."),
            input.End ?? throw MeshException.Invalid("end", "required: when the window ends (UTC, whole minutes)."),
            input.Title ?? throw MeshException.Invalid("title", "required: 1–200 characters."),
            input.Reason, caller.KeyId);
        return mutations.RunAsync(caller, MeshActions.ScheduleMaintenance, MeshTargets.Maintenance(request.Start.UtcDateTime.ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture)),
            ChangeSummaries.ScheduleMaintenance(request), () => Calendar.ScheduleAsync(request));
    }

    /// <summary>Cancels a window that has not ended (one under way ends at the end of the current minute).</summary>
    public Task<MaintenanceWindow> CancelMaintenanceAsync(MeshCaller caller, string id)
    {
        caller.RequireOperator();
        if (!Inputs.IsPlausibleId(id, 64))
        {
            throw MeshException.NotFound($"Maintenance window '{id}'");
        }

        return mutations.RunAsync(caller, MeshActions.CancelMaintenance, MeshTargets.Maintenance(id), ChangeSummaries.Remove(id),
            () => Calendar.CancelAsync(id, caller.KeyId));
    }

    /// <summary>A month as yyyy-MM, not after the current one.</summary>
    public static DateTimeOffset ParseMonth(string? month, DateTimeOffset now)
    {
        if (month is null || !DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) || parsed.Year < 2000)
        {
            throw MeshException.Invalid("month", $"a calendar month as yyyy-MM (e.g. {now:yyyy-MM}), got '{month}'.");
        }

        var first = new DateTimeOffset(parsed.Year, parsed.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return first <= now ? first : throw MeshException.Invalid("month", $"{month} has not started yet.");
    }

    /// <summary>A tenant's data is visible to itself and to operators; another tenant's, or an unknown one, is NotFound.</summary>
    private async Task RequireVisibleTenantAsync(MeshCaller caller, string tenantId)
    {
        if (!Inputs.IsPlausibleId(tenantId, 100))
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }

        if (!caller.IsOperator)
        {
            if (caller.RequireTenant().TenantId != tenantId)
            {
                throw MeshException.NotFound($"Tenant '{tenantId}'");
            }

            return;
        }

        if (await grains.GetGrain<ITenantGrain>(tenantId).GetAsync() is null)
        {
            throw MeshException.NotFound($"Tenant '{tenantId}'");
        }
    }

    /// <summary>The range asked: a UTC day or month, or from–to; by default the month so far.</summary>
    private (DateTimeOffset From, DateTimeOffset To) Range(DateTimeOffset? from, DateTimeOffset? to, string? period)
    {
        var now = time.GetUtcNow();
        switch (Inputs.Filter(period, "period"))
        {
            case null or "custom":
                var end = to ?? now;
                var start = from ?? new DateTimeOffset(end.UtcDateTime.Year, end.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
                CheckRange(start, end);
                return (start, end);
            case "day":
                var day = (from ?? now).UtcDateTime.Date;
                CheckRange(new DateTimeOffset(day, TimeSpan.Zero), now);
                return (new DateTimeOffset(day, TimeSpan.Zero), new DateTimeOffset(day.AddDays(1), TimeSpan.Zero));
            case "month":
                var at = (from ?? now).UtcDateTime;
                var month = new DateTimeOffset(at.Year, at.Month, 1, 0, 0, 0, TimeSpan.Zero);
                CheckRange(month, month.AddMonths(1));
                return (month, month.AddMonths(1));
            default:
                throw MeshException.Invalid("period", "day, month or custom.");
        }
    }

    private static void CheckRange(DateTimeOffset from, DateTimeOffset to)
    {
        if (from.UtcDateTime.Year is < 2000 or >= 9000)
        {
            throw MeshException.Invalid("from", "a time between the years 2000 and 9000.");
        }

        if (to.UtcDateTime.Year is < 2000 or >= 9000)
        {
            throw MeshException.Invalid("to", "a time between the years 2000 and 9000.");
        }

        if (from >= to)
        {
            throw MeshException.Invalid("from", "must be before to.");
        }

        if (to - from > MaxRange)
        {
            throw MeshException.Invalid("to", "a range covers at most 400 days (rollups are kept 13 months).");
        }
    }
}
