using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Incidents;

namespace MeshOs.Gateway.Incidents;

public sealed record OpenIncidentRequest(IncidentSeverity? Severity, string? Title, string? Detail, string? DedupKey, string? Actor);

public sealed record ActorRequest(string? Actor);

public sealed record AssignRequest(string? Commander, string? Actor);

public sealed record NoteRequest(string? Message, string? Actor);

public sealed record AdvanceRequest(IncidentState? State, string? Note, string? Actor);

public sealed record ResolveRequest(string? Resolution, string? Actor);

public sealed record PostMortemRequest(string? Summary, string? RootCause, IReadOnlyList<string>? ActionItems, string? Author);

public sealed record IncidentPageDto(IReadOnlyList<IncidentSummary> Incidents, string? NextCursor);

/// <summary>An incident with its figures spelled out (seconds) for dashboards.</summary>
public sealed record IncidentDto(IncidentInfo Incident, double? TimeToAcknowledgeSeconds, double? TimeToResolveSeconds)
{
    public static IncidentDto From(IncidentInfo i) => new(i, i.TimeToAcknowledge?.TotalSeconds, i.TimeToResolve?.TotalSeconds);
}

public sealed record FiguresDto(string Scope, int Opened, int Resolved, int ResolvedAutomatically, double AutomationRate, double? MttaSeconds, double? MttrSeconds)
{
    public static FiguresDto From(IncidentFigures f) => new(f.Scope, f.Opened, f.Resolved, f.ResolvedAutomatically, f.AutomationRate,
        f.MeanTimeToAcknowledge?.TotalSeconds, f.MeanTimeToResolve?.TotalSeconds);
}

public sealed record IncidentReportDto(DateTimeOffset From, DateTimeOffset To, FiguresDto All, IReadOnlyList<FiguresDto> BySeverity);

public sealed record QuarantineRequest(string? Reason, double? ProbationMinutes);

public sealed record ReasonRequest(string? Reason);

public sealed record RestartResponse(string AgentId, RestartPath Path);
