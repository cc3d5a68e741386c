using System.Collections.Immutable;

namespace MeshOs.Abstractions.Incidents;

/// <summary>One incident: lifecycle, timeline, commander, escalation timers. Key: incident id.</summary>
[Alias("meshos.IIncidentGrain")]
public interface IIncidentGrain : IGrainWithStringKey
{
    /// <summary>Opens the incident from its first alert (called by the directory, which owns deduplication).</summary>
    [Alias("Open")]
    Task<IncidentInfo> OpenAsync(Alert alert);

    /// <summary>Merges a repeated alert: counts it, and moves the severity up or down to the alert's.</summary>
    [Alias("Merge")]
    Task<IncidentInfo> MergeAsync(Alert alert);

    /// <summary>The incident, or null when there is none with this id.</summary>
    [Alias("Get")]
    Task<IncidentInfo?> GetAsync();

    /// <summary>A human took it: Triaged, escalation stops climbing. Idempotent.</summary>
    [Alias("Acknowledge")]
    Task<IncidentInfo> AcknowledgeAsync(string actor);

    /// <summary>Names the incident commander (acknowledges it too).</summary>
    [Alias("Assign")]
    Task<IncidentInfo> AssignAsync(string commander, string actor);

    /// <summary>Adds a note to the timeline.</summary>
    [Alias("Annotate")]
    Task<IncidentInfo> AnnotateAsync(string actor, string message);

    /// <summary>Moves to Investigating or Mitigated (forward only; resolution has its own call).</summary>
    [Alias("Advance")]
    Task<IncidentInfo> AdvanceAsync(IncidentState state, string actor, string? note);

    /// <summary>Resolves the incident; <paramref name="automatic"/> when its condition cleared without a human.</summary>
    [Alias("Resolve")]
    Task<IncidentInfo> ResolveAsync(string actor, string resolution, bool automatic);

    /// <summary>Attaches the post-mortem of a resolved incident (state PostMortem).</summary>
    [Alias("AttachPostMortem")]
    Task<IncidentInfo> AttachPostMortemAsync(PostMortem postMortem);
}

/// <summary>
/// The incident index: deduplication (one open incident per key), listing, and the MTTA/MTTR/automation figures.
/// Key: 0. Called on alerts and operator queries, never on the job path.
/// </summary>
[Alias("meshos.IIncidentDirectoryGrain")]
public interface IIncidentDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Opens an incident for the alert, or merges it into the open one with the same dedup key.</summary>
    [Alias("Raise")]
    Task<IncidentInfo> RaiseAsync(Alert alert);

    /// <summary>The condition behind a dedup key cleared: its open incident, if any, resolves automatically.</summary>
    [Alias("Clear")]
    Task<IncidentInfo?> ClearAsync(string dedupKey, string reason);

    /// <summary>
    /// Incidents report every change here (index and figures). One-way: an incident may be reporting while the
    /// directory is itself calling it (raise, clear).
    /// </summary>
    [Alias("Record"), OneWay]
    Task RecordAsync(IncidentSummary summary);

    [Alias("List")]
    Task<ImmutableArray<IncidentSummary>> ListAsync(IncidentFilter filter);

    /// <summary>The open incident for a dedup key, if any.</summary>
    [Alias("FindOpen")]
    Task<string?> FindOpenAsync(string dedupKey);

    /// <summary>MTTA, MTTR and the automation rate over incidents detected in [from, to), overall and per severity.</summary>
    [Alias("GetReport")]
    Task<IncidentReport> GetReportAsync(DateTimeOffset from, DateTimeOffset to);
}
