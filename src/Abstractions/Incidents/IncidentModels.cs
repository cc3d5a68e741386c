using System.Collections.Immutable;

namespace MeshOs.Abstractions.Incidents;

/// <summary>
/// Severity from fleet impact: P0 all agents of a pool (or the mesh) down; P1 half or more unavailable; P2 degraded
/// performance (latency or errors over the SLO, capacity below demand); P3 one agent's failure or a non-critical issue.
/// </summary>
[GenerateSerializer]
public enum IncidentSeverity
{
    P0 = 0,
    P1 = 1,
    P2 = 2,
    P3 = 3,
}

/// <summary>Detected → Triaged → Investigating → Mitigated → Resolved → PostMortem.</summary>
[GenerateSerializer]
public enum IncidentState
{
    Detected = 0,
    Triaged = 1,
    Investigating = 2,
    Mitigated = 3,
    Resolved = 4,
    PostMortem = 5,
}

/// <summary>
/// Something wrong, as a detector reports it. Alerts with the same <paramref name="DedupKey"/> merge into one open
/// incident whose severity follows the latest alert.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.Alert")]
public sealed record Alert(string DedupKey, IncidentSeverity Severity, string Title, string Source, string Detail);

/// <summary>One line of an incident's timeline.</summary>
/// <param name="Kind">detected, alert, severity, acknowledged, assigned, note, state, escalated, notified, resolved, postmortem.</param>
[GenerateSerializer, Immutable, Alias("meshos.TimelineEntry")]
public sealed record TimelineEntry(DateTimeOffset At, string Kind, string Actor, string Message);

[GenerateSerializer, Immutable, Alias("meshos.PostMortem")]
public sealed record PostMortem(string Summary, string RootCause, ImmutableArray<string> ActionItems, string Author, DateTimeOffset At);

/// <summary>An incident with its whole timeline.</summary>
/// <param name="EscalationTier">1-based tier currently notified (0: none yet).</param>
/// <param name="ResolvedAutomatically">Resolved because its condition cleared, without a human.</param>
[GenerateSerializer, Immutable, Alias("meshos.IncidentInfo")]
public sealed record IncidentInfo(
    string IncidentId,
    string DedupKey,
    string Title,
    string Source,
    IncidentSeverity Severity,
    IncidentSeverity PeakSeverity,
    IncidentState State,
    string? Commander,
    int EscalationTier,
    DateTimeOffset DetectedAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? MitigatedAt,
    DateTimeOffset? ResolvedAt,
    bool ResolvedAutomatically,
    int AlertCount,
    ImmutableArray<TimelineEntry> Timeline,
    PostMortem? PostMortem)
{
    /// <summary>Mean time to acknowledge, for this incident: detection to acknowledgement.</summary>
    public TimeSpan? TimeToAcknowledge => AcknowledgedAt - DetectedAt;

    /// <summary>Time to resolve: detection to resolution.</summary>
    public TimeSpan? TimeToResolve => ResolvedAt - DetectedAt;

    public bool IsOpen => State < IncidentState.Resolved;
}

/// <summary>An incident in listings: no timeline.</summary>
[GenerateSerializer, Immutable, Alias("meshos.IncidentSummary")]
public sealed record IncidentSummary(
    string IncidentId,
    string DedupKey,
    string Title,
    IncidentSeverity Severity,
    IncidentSeverity PeakSeverity,
    IncidentState State,
    string? Commander,
    int EscalationTier,
    DateTimeOffset DetectedAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? ResolvedAt,
    bool ResolvedAutomatically)
{
    public static IncidentSummary From(IncidentInfo i) => new(i.IncidentId, i.DedupKey, i.Title, i.Severity, i.PeakSeverity, i.State,
        i.Commander, i.EscalationTier, i.DetectedAt, i.AcknowledgedAt, i.ResolvedAt, i.ResolvedAutomatically);
}

/// <summary>Filters for listing incidents; null means any. Newest first.</summary>
[GenerateSerializer, Immutable, Alias("meshos.IncidentFilter")]
public sealed record IncidentFilter(
    IncidentSeverity? Severity,
    IncidentState? State,
    bool? Open,
    DateTimeOffset? DetectedFrom,
    DateTimeOffset? DetectedTo,
    string? AfterIncidentId,
    int Limit);

/// <summary>MTTA, MTTR and automation for one severity (or all) over a period.</summary>
/// <param name="AutomationRate">Resolved without a human ÷ resolved (0 when none resolved).</param>
[GenerateSerializer, Immutable, Alias("meshos.IncidentFigures")]
public sealed record IncidentFigures(
    string Scope,
    int Opened,
    int Resolved,
    int ResolvedAutomatically,
    double AutomationRate,
    TimeSpan? MeanTimeToAcknowledge,
    TimeSpan? MeanTimeToResolve);

[GenerateSerializer, Immutable, Alias("meshos.IncidentReport")]
public sealed record IncidentReport(DateTimeOffset From, DateTimeOffset To, IncidentFigures All, ImmutableArray<IncidentFigures> BySeverity);
