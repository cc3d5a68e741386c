using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Kpi;

/// <summary>SLIs, SLOs and their rollups (<c>MeshOs:Kpi</c>; KPIS.md holds the definitions).</summary>
public sealed class KpiOptions
{
    public const string Section = "MeshOs:Kpi";

    /// <summary>Whether SLIs are collected (gateways flush, grains roll up). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A minute is closed (classified and rolled up) this long after it ended, so every gateway's flush is in. Default 2 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a scope's collector closes settled minutes. Default 1 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan CloseInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A minute with more than this share of requests answered 5xx/UNAVAILABLE is bad. Default 0.05 (5%).</summary>
    [Range(0.0, 1.0)]
    public double BadMinuteErrorShare { get; set; } = 0.05;

    /// <summary>Minute rows are kept this long. Default 35 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan MinuteRetention { get; set; } = TimeSpan.FromDays(35);

    /// <summary>5-minute, hour and day rows are kept this long. Default 396 days (13 months).</summary>
    [PositiveTimeSpan]
    public TimeSpan RollupRetention { get; set; } = TimeSpan.FromDays(396);

    /// <summary>How often retention runs. Default 1 h.</summary>
    [PositiveTimeSpan]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Availability SLO, percent. Default 99.95.</summary>
    [Range(0.0, 100.0)]
    public decimal AvailabilityTarget { get; set; } = 99.95m;

    /// <summary>Submit latency P95 SLO per 5-minute window, ms (the P95 must be under it). Default 500.</summary>
    public decimal SubmitP95TargetMs { get; set; } = 500m;

    /// <summary>Submit latency P99 SLO per 5-minute window, ms. Default 1000.</summary>
    public decimal SubmitP99TargetMs { get; set; } = 1000m;

    /// <summary>Error rate SLO per 5-minute window (ratio; must be under it). Default 0.001 (0.1%).</summary>
    public decimal ErrorRateTarget { get; set; } = 0.001m;

    /// <summary>SLO adherence target, percent of windows. Default 99.9.</summary>
    public decimal AdherenceTarget { get; set; } = 99.9m;

    /// <summary>MTTR target. Default 15 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan MttrTarget { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Automation rate target, percent. Default 80.</summary>
    public decimal AutomationTarget { get; set; } = 80m;

    /// <summary>Compliance score target, percent. Default 95.</summary>
    public decimal ComplianceTarget { get; set; } = 95m;

    /// <summary>A burn rate at or above this over both the last hour and the last 5 minutes is a fast burn. Default 14.4 (2% of a 30-day budget in an hour).</summary>
    public double FastBurnRate { get; set; } = 14.4;

    /// <summary>Fewer requests than this in the last 5 minutes never count as a fast burn. Default 20.</summary>
    [Range(1, int.MaxValue)]
    public int BurnMinRequests { get; set; } = 20;
}

/// <summary>The SLA's money side (<c>MeshOs:Sla</c>).</summary>
public sealed class SlaOptions
{
    public const string Section = "MeshOs:Sla";

    /// <summary>A tenant's monthly fee, the bill SLA credits apply to when cost accounting has no cost for the tenant's month. Default unset.</summary>
    [Range(typeof(decimal), "0", "1000000000")]
    public decimal? MonthlyFee { get; set; }

    /// <summary>The currency of <see cref="MonthlyFee"/>. Default USD.</summary>
    public string Currency { get; set; } = "USD";
}
