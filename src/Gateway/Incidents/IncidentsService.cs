using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Incidents;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Incidents;

/// <summary>What an incident list is filtered by; null means any (limit: the default page size).</summary>
public sealed record IncidentListInput(
    IncidentSeverity? Severity,
    IncidentState? State,
    bool? Open,
    DateTimeOffset? DetectedFrom,
    DateTimeOffset? DetectedTo,
    string? Cursor,
    int? Limit);

/// <summary>A page of incidents, newest first, with the id to continue after (null at the end).</summary>
public sealed record IncidentPage<T>(IReadOnlyList<T> Incidents, string? NextCursor);

/// <summary>An incident opened by hand.</summary>
/// <param name="DedupKey">A repeat of an open incident's key merges into it; null: a key of its own.</param>
public sealed record OpenIncidentInput(IncidentSeverity? Severity, string? Title, string? Detail, string? DedupKey, string? Actor);

/// <summary>A post-mortem as written.</summary>
public sealed record PostMortemInput(string? Summary, string? RootCause, IReadOnlyList<string>? ActionItems, string? Author);

/// <summary>
/// The operator's incident API, once for every transport: list, look, open, acknowledge, assign, annotate, advance,
/// resolve, attach a post-mortem, and the MTTA/MTTR report. An unset actor is <c>operator</c>; a given one is 1–200
/// characters. REST (/v1/incidents) and gRPC (meshos.v1.Incidents) only read requests and write answers.
/// </summary>
public sealed class IncidentsService(IGrainFactory grains, Mutations mutations, TimeProvider time)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;
    public const int MaxResolutionLength = 4_000;
    public const int MaxActionItems = 100;
    public const int MaxActionItemLength = 1_000;

    /// <summary>The period a report covers when it is not given: the last 30 days.</summary>
    public static readonly TimeSpan DefaultReportPeriod = TimeSpan.FromDays(30);

    /// <summary>One page of incident summaries, newest first.</summary>
    public async Task<IncidentPage<IncidentSummary>> ListAsync(MeshCaller caller, IncidentListInput input)
    {
        caller.RequireOperator();
        var size = Inputs.Limit(input.Limit, DefaultLimit, MaxLimit);
        var page = await Directory.ListAsync(new IncidentFilter(input.Severity, input.State, input.Open, input.DetectedFrom, input.DetectedTo,
            string.IsNullOrEmpty(input.Cursor) ? null : input.Cursor, size));
        return new IncidentPage<IncidentSummary>(page, page.Length == size ? page[^1].IncidentId : null);
    }

    /// <summary>One page of incidents with their details (without timelines' weight left to the caller).</summary>
    public async Task<IncidentPage<IncidentInfo>> ListDetailedAsync(MeshCaller caller, IncidentListInput input)
    {
        var page = await ListAsync(caller, input);
        var details = await Task.WhenAll(page.Incidents.Select(summary => Incident(summary.IncidentId).GetAsync()));
        return new IncidentPage<IncidentInfo>([.. details.OfType<IncidentInfo>()], page.NextCursor);
    }

    public async Task<IncidentInfo> GetAsync(MeshCaller caller, string incidentId)
    {
        caller.RequireOperator();
        return await ExistingAsync(incidentId);
    }

    public Task<IncidentInfo> OpenAsync(MeshCaller caller, OpenIncidentInput input)
    {
        caller.RequireOperator();
        var severity = input.Severity ?? throw MeshException.Invalid("severity", "P0, P1, P2 or P3.");
        var title = input.Title ?? throw MeshException.Invalid("title", "required, 1–500 characters.");
        var alert = new Alert(input.DedupKey ?? "manual:" + Guid.NewGuid().ToString("N"), severity, title, Actor(input.Actor), input.Detail ?? string.Empty);
        return mutations.RunAsync(caller, MeshActions.OpenIncident, MeshTargets.IncidentKey(alert.DedupKey), ChangeSummaries.OpenIncident(input), () => Directory.RaiseAsync(alert));
    }

    public Task<IncidentInfo> AcknowledgeAsync(MeshCaller caller, string incidentId, string? actor) =>
        ChangeAsync(caller, MeshActions.AcknowledgeIncident, incidentId, ChangeSummaries.AcknowledgeIncident(actor), incident => incident.AcknowledgeAsync(Actor(actor)));

    public Task<IncidentInfo> AssignAsync(MeshCaller caller, string incidentId, string? commander, string? actor) =>
        ChangeAsync(caller, MeshActions.AssignIncident, incidentId, ChangeSummaries.AssignIncident(commander, actor), incident => incident.AssignAsync(commander ?? string.Empty, Actor(actor)));

    public Task<IncidentInfo> AnnotateAsync(MeshCaller caller, string incidentId, string? message, string? actor) =>
        ChangeAsync(caller, MeshActions.AnnotateIncident, incidentId, ChangeSummaries.AnnotateIncident(message, actor), incident => incident.AnnotateAsync(Actor(actor), message ?? string.Empty));

    /// <summary>Investigating or Mitigated (resolving and the post-mortem have their own calls).</summary>
    public Task<IncidentInfo> AdvanceAsync(MeshCaller caller, string incidentId, IncidentState? state, string? note, string? actor)
    {
        var next = state ?? throw MeshException.Invalid("state", "Investigating or Mitigated.");
        return ChangeAsync(caller, MeshActions.AdvanceIncident, incidentId, ChangeSummaries.AdvanceIncident(state, note, actor), incident => incident.AdvanceAsync(next, Actor(actor), note));
    }

    /// <summary>Resolves by hand; an unset resolution is "resolved by an operator", a given one 1–4,000 characters.</summary>
    public Task<IncidentInfo> ResolveAsync(MeshCaller caller, string incidentId, string? resolution, string? actor)
    {
        var text = resolution switch
        {
            null => "resolved by an operator",
            { Length: > 0 and <= MaxResolutionLength } given => given,
            _ => throw MeshException.Invalid("resolution", $"1–{MaxResolutionLength:N0} characters."),
        };
        return ChangeAsync(caller, MeshActions.ResolveIncident, incidentId, ChangeSummaries.ResolveIncident(resolution, actor), incident => incident.ResolveAsync(Actor(actor), text, automatic: false));
    }

    public Task<IncidentInfo> AttachPostMortemAsync(MeshCaller caller, string incidentId, PostMortemInput input)
    {
        var items = (input.ActionItems ?? []).ToImmutableArray();
        if (items.Length > MaxActionItems || items.Any(i => string.IsNullOrWhiteSpace(i) || i.Length > MaxActionItemLength))
        {
            throw MeshException.Invalid("actionItems", $"at most {MaxActionItems} items of 1–{MaxActionItemLength:N0} characters.");
        }

        var postMortem = new PostMortem(input.Summary ?? string.Empty, input.RootCause ?? string.Empty, items, Actor(input.Author), time.GetUtcNow());
        return ChangeAsync(caller, MeshActions.AttachPostMortem, incidentId, ChangeSummaries.AttachPostMortem(input), incident => incident.AttachPostMortemAsync(postMortem));
    }

    /// <summary>MTTA, MTTR and the automation rate over a period (default: the 30 days to now), overall and per severity.</summary>
    public Task<IncidentReport> ReportAsync(MeshCaller caller, DateTimeOffset? from, DateTimeOffset? to)
    {
        caller.RequireOperator();
        var (start, end) = Inputs.Period(from, to, DefaultReportPeriod, time.GetUtcNow());
        return Directory.GetReportAsync(start, end);
    }

    private IIncidentDirectoryGrain Directory => grains.GetGrain<IIncidentDirectoryGrain>(0);

    private IIncidentGrain Incident(string incidentId) => grains.GetGrain<IIncidentGrain>(incidentId);

    private Task<IncidentInfo> ChangeAsync(MeshCaller caller, string action, string incidentId, AuditChange summary, Func<IIncidentGrain, Task<IncidentInfo>> change)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, action, MeshTargets.Incident(incidentId), summary, async () =>
        {
            await ExistingAsync(incidentId);
            return await change(Incident(incidentId));
        });
    }

    private async Task<IncidentInfo> ExistingAsync(string incidentId)
    {
        if (!Inputs.IsPlausibleId(incidentId, 100))
        {
            throw MeshException.NotFound("Incident");
        }

        return await Incident(incidentId).GetAsync() ?? throw MeshException.NotFound($"Incident '{incidentId}'");
    }

    private static string Actor(string? actor) => actor switch
    {
        null => "operator",
        { Length: > 0 and <= 200 } given => given,
        _ => throw MeshException.Invalid("actor", "1–200 characters."),
    };
}
