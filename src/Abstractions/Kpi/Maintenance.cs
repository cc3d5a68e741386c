using System.Collections.Immutable;

namespace MeshOs.Abstractions.Kpi;

/// <summary>Where a maintenance window comes from.</summary>
[GenerateSerializer]
public enum MaintenanceKind
{
    /// <summary>The recurring monthly window (by default the 3rd Sunday, 02:00–06:00 UTC): configuration, not data.</summary>
    Recurring = 0,

    /// <summary>Planned by an operator and announced to tenants at least the notice period (7 days) ahead.</summary>
    Scheduled = 1,

    /// <summary>Declared by an operator at short notice; at most the emergency length (2 h).</summary>
    Emergency = 2,
}

/// <summary>
/// A maintenance window: [<paramref name="Start"/>, <paramref name="End"/>) in UTC, whole minutes. Minutes inside a
/// window are excluded from availability (KPIS.md).
/// </summary>
/// <param name="Id">The window's id; a recurring occurrence is <c>recurring-yyyy-MM</c>.</param>
/// <param name="AnnouncedAt">When tenants were notified (null for recurring windows: they are published by configuration).</param>
/// <param name="CancelledAt">When an operator cancelled it (a cancelled window excludes nothing).</param>
[GenerateSerializer, Immutable, Alias("meshos.MaintenanceWindow")]
public sealed record MaintenanceWindow(
    string Id,
    MaintenanceKind Kind,
    DateTimeOffset Start,
    DateTimeOffset End,
    string Title,
    string? Reason,
    string? CreatedBy,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? AnnouncedAt,
    DateTimeOffset? CancelledAt = null)
{
    public TimeSpan Duration => End - Start;

    public bool Active => CancelledAt is null;
}

/// <summary>A window as an operator asks for it.</summary>
[GenerateSerializer, Immutable, Alias("meshos.MaintenanceRequest")]
public sealed record MaintenanceRequest(MaintenanceKind Kind, DateTimeOffset Start, DateTimeOffset End, string Title, string? Reason, string Actor);

/// <summary>The maintenance calendar: recurring occurrences plus operator windows. Key: 0.</summary>
[Alias("meshos.IMaintenanceGrain")]
public interface IMaintenanceGrain : IGrainWithIntegerKey
{
    /// <summary>Every window (recurring occurrences expanded) overlapping [from, to), by start; cancelled ones with <paramref name="includeCancelled"/>.</summary>
    [Alias("List")]
    Task<ImmutableArray<MaintenanceWindow>> ListAsync(DateTimeOffset from, DateTimeOffset to, bool includeCancelled);

    /// <summary>One operator window, or null.</summary>
    [Alias("Get")]
    Task<MaintenanceWindow?> GetAsync(string id);

    /// <summary>
    /// Schedules a window after the calendar's rules (<c>InvalidArgument</c> naming the field otherwise: a scheduled window
    /// inside the notice period, an emergency window longer than allowed, …) and announces it to tenants (webhooks).
    /// </summary>
    [Alias("Schedule")]
    Task<MaintenanceWindow> ScheduleAsync(MaintenanceRequest request);

    /// <summary>Cancels a window that has not ended: NotFound for an unknown id, Conflict when it ended or was cancelled.</summary>
    [Alias("Cancel")]
    Task<MaintenanceWindow> CancelAsync(string id, string actor);
}
