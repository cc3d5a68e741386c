using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Kpi;

/// <summary>The maintenance calendar's rules (<c>MeshOs:Maintenance</c>; README "KPIs, SLOs and SLA credits").</summary>
public sealed class MaintenanceOptions
{
    public const string Section = "MeshOs:Maintenance";

    /// <summary>Whether the recurring monthly window exists (default true).</summary>
    public bool Recurring { get; set; } = true;

    /// <summary>Which occurrence of <see cref="RecurringDay"/> in the month (1–4; default 3: the 3rd).</summary>
    [Range(1, 4)]
    public int RecurringWeek { get; set; } = 3;

    /// <summary>The weekday of the recurring window (default Sunday).</summary>
    public DayOfWeek RecurringDay { get; set; } = DayOfWeek.Sunday;

    /// <summary>Start of the recurring window, UTC time of day (default 02:00). A start late in the day may run across midnight.</summary>
    public TimeSpan RecurringStart { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Length of the recurring window (default 4 h).</summary>
    [PositiveTimeSpan]
    public TimeSpan RecurringDuration { get; set; } = TimeSpan.FromHours(4);

    /// <summary>How far ahead a scheduled window must be announced (default 7 days).</summary>
    public TimeSpan NoticePeriod { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The longest emergency window (default 2 h).</summary>
    [PositiveTimeSpan]
    public TimeSpan EmergencyMaxDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>The longest scheduled window (default 12 h).</summary>
    [PositiveTimeSpan]
    public TimeSpan ScheduledMaxDuration { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Windows that ended longer ago than this are forgotten (default 400 days: past 13 months of rollups).</summary>
    [PositiveTimeSpan]
    public TimeSpan History { get; set; } = TimeSpan.FromDays(400);
}
