using System.Collections.Immutable;

namespace MeshOs.Abstractions.Kpi;

/// <summary>The time resolution of an SLI rollup row.</summary>
[GenerateSerializer]
public enum SliResolution
{
    Minute = 1,
    FiveMinutes = 5,
    Hour = 60,
    Day = 1440,
}

/// <summary>The scopes SLIs are kept for: the mesh, and each tenant.</summary>
public static class SliScopes
{
    public const string Mesh = "mesh";

    public static string Tenant(string tenantId) => "tenant/" + tenantId;

    /// <summary>The tenant of a scope, or null for the mesh.</summary>
    public static string? TenantOf(string scope) => scope.StartsWith("tenant/", StringComparison.Ordinal) ? scope["tenant/".Length..] : null;
}

/// <summary>
/// What one gateway saw of one scope in one minute, flushed after the minute: API requests and those answered 5xx or
/// UNAVAILABLE (<see cref="Errors"/>), the readiness probe's result, submit latencies (a <see cref="LatencySketch"/>),
/// and end-to-end latencies of jobs that ended in the minute (from the event log).
/// </summary>
/// <param name="FromGateway">True from a gateway (the minute was observed); false from the event log (end-to-end latencies only).</param>
[GenerateSerializer, Immutable, Alias("meshos.SliMinuteReport")]
public sealed record SliMinuteReport(
    DateTimeOffset Minute,
    bool FromGateway,
    long Requests,
    long Errors,
    bool ProbeFailed,
    ImmutableArray<long> Submit,
    ImmutableArray<long> EndToEnd);

/// <summary>
/// One rollup row of a scope: minute, 5-minute, hour or day starting at <paramref name="At"/>. Counts add up: the row
/// of an hour is the sum of its minutes.
/// </summary>
/// <param name="ObservedMinutes">Minutes a gateway reported (the mesh: every minute a gateway was up; a tenant: minutes with its traffic).</param>
/// <param name="BadMinutes">Valid minutes that were bad (KPIS.md, "Availability"), maintenance excluded.</param>
/// <param name="UnobservedMinutes">Mesh only: minutes after the first with no gateway report (the mesh could not answer): bad, counted for every tenant too.</param>
/// <param name="ExcludedMinutes">Observed minutes inside a maintenance window.</param>
/// <param name="Windows">5-minute SLO windows closed (not wholly maintenance) with data.</param>
/// <param name="WindowsMet">Of those, windows that met every SLO.</param>
[GenerateSerializer, Immutable, Alias("meshos.SliRow")]
public sealed record SliRow(
    string Scope,
    SliResolution Resolution,
    DateTimeOffset At,
    long Requests,
    long Errors,
    long ObservedMinutes,
    long BadMinutes,
    long UnobservedMinutes,
    long ExcludedMinutes,
    long ProbeFailedMinutes,
    long Windows,
    long WindowsMet,
    ImmutableArray<long> Submit,
    ImmutableArray<long> EndToEnd);

/// <summary>Burn rates of a scope's error budget now (request error ratio ÷ (1 − availability target)).</summary>
[GenerateSerializer, Immutable, Alias("meshos.BurnRates")]
public sealed record BurnRates(string Scope, DateTimeOffset At, double? FiveMinutes, double? OneHour, bool FastBurn, string? IncidentDedupKey);

/// <summary>
/// A scope's SLI collector (key: <see cref="SliScopes"/>): gateways flush their minute counts here, it closes each
/// minute once settled (classifies it, writes the minute and adds it to the 5-minute, hour and day rollups), judges
/// 5-minute SLO windows and watches the burn rate. Never called on the per-request path.
/// </summary>
[Alias("meshos.ISliGrain")]
public interface ISliGrain : IGrainWithStringKey
{
    /// <summary>Adds a gateway's minute reports (minutes already closed are dropped).</summary>
    [Alias("Report")]
    Task ReportAsync(ImmutableArray<SliMinuteReport> minutes);

    /// <summary>Closes every minute that ended more than the settle delay ago; answers how many were closed.</summary>
    [Alias("Close")]
    Task<int> CloseAsync();

    /// <summary>The burn rates over the last 5 minutes and hour of closed minutes.</summary>
    [Alias("Burn")]
    Task<BurnRates> GetBurnAsync();
}

/// <summary>Reads rollups and computes the KPI, SLO and SLA answers from them (stateless; many activations).</summary>
[Alias("meshos.IKpiReportGrain")]
public interface IKpiReportGrain : IGrainWithIntegerKey
{
    /// <summary>The KPIs of a scope over [from, to).</summary>
    [Alias("Kpis")]
    Task<KpiReport> GetKpisAsync(string scope, DateTimeOffset from, DateTimeOffset to);

    /// <summary>The rollup rows of a scope at one resolution over [from, to), by time.</summary>
    [Alias("Series")]
    Task<ImmutableArray<SliRow>> GetSeriesAsync(string scope, SliResolution resolution, DateTimeOffset from, DateTimeOffset to);

    /// <summary>The SLA report of a tenant for a calendar month (first day, UTC).</summary>
    [Alias("Sla")]
    Task<SlaReport> GetSlaReportAsync(string tenantId, DateTimeOffset month);
}
