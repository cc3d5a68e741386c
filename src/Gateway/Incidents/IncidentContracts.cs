using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Incidents;

namespace MeshOs.Gateway.Incidents;

public sealed record OpenIncidentRequest
{
    [Required]
    public IncidentSeverity? Severity { get; init; }

    /// <summary>1–500 characters.</summary>
    [Required]
    [StringLength(500, MinimumLength = 1)]
    public string? Title { get; init; }

    /// <summary>At most 4,000 characters.</summary>
    [StringLength(4_000)]
    public string? Detail { get; init; }

    /// <summary>1–200 characters; a repeat of an open incident's key merges into it. Default: a key of its own.</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? DedupKey { get; init; }

    /// <summary>Who opened it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record ActorRequest
{
    /// <summary>Who does it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record AssignRequest
{
    /// <summary>The incident commander, 1–200 characters.</summary>
    [Required]
    [StringLength(200, MinimumLength = 1)]
    public string? Commander { get; init; }

    /// <summary>Who assigns, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record NoteRequest
{
    /// <summary>The note, 1–4,000 characters.</summary>
    [Required]
    [StringLength(4_000, MinimumLength = 1)]
    public string? Message { get; init; }

    /// <summary>Who writes it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record AdvanceRequest
{
    /// <summary>Investigating or Mitigated.</summary>
    [Required]
    public IncidentState? State { get; init; }

    /// <summary>At most 4,000 characters.</summary>
    [StringLength(4_000)]
    public string? Note { get; init; }

    /// <summary>Who advances it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record ResolveRequest
{
    /// <summary>How it was resolved, 1–4,000 characters. Default "resolved by an operator".</summary>
    [StringLength(4_000, MinimumLength = 1)]
    public string? Resolution { get; init; }

    /// <summary>Who resolves it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Actor { get; init; }
}

public sealed record PostMortemRequest
{
    /// <summary>1–20,000 characters.</summary>
    [Required]
    [StringLength(20_000, MinimumLength = 1)]
    public string? Summary { get; init; }

    /// <summary>1–20,000 characters.</summary>
    [Required]
    [StringLength(20_000, MinimumLength = 1)]
    public string? RootCause { get; init; }

    /// <summary>At most 100 items of 1–1,000 characters.</summary>
    public IReadOnlyList<string>? ActionItems { get; init; }

    /// <summary>Who wrote it, 1–200 characters. Default "operator".</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Author { get; init; }
}

/// <summary>A page of incidents, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next (null at the end).</summary>
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
