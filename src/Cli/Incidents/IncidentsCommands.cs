using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Incidents;

/// <summary>
/// <c>incidents list|get|open|ack|assign|note|state|resolve|postmortem|report</c> over /v1/incidents. Operator key
/// (changes: incident-responder scope or above).
/// </summary>
public sealed class IncidentsCommands : ICommandGroup
{
    private static readonly Column[] ListColumns =
    [
        new("Incident", "incidentId"), new("Severity", "severity"), new("State", "state"), new("Title", "title"),
        new("Commander", "commander"), new("Tier", "escalationTier"), new("Detected", "detectedAt"),
    ];

    private static readonly Column[] Fields =
    [
        new("Incident", "incident.incidentId"), new("Title", "incident.title"), new("Severity", "incident.severity"),
        new("Peak severity", "incident.peakSeverity"), new("State", "incident.state"), new("Source", "incident.source"),
        new("Commander", "incident.commander"), new("Escalation tier", "incident.escalationTier"), new("Alerts", "incident.alertCount"),
        new("Detected", "incident.detectedAt"), new("Acknowledged", "incident.acknowledgedAt"), new("Mitigated", "incident.mitigatedAt"),
        new("Resolved", "incident.resolvedAt"), new("Resolved automatically", "incident.resolvedAutomatically"),
        new("Time to acknowledge (s)", "timeToAcknowledgeSeconds"), new("Time to resolve (s)", "timeToResolveSeconds"),
        new("Post-mortem", "incident.postMortem.summary"),
    ];

    public IEnumerable<Command> Create()
    {
        var incidents = new Command("incidents", "Incidents: list, inspect, acknowledge, resolve, post-mortems (operator key).");
        incidents.Subcommands.Add(List());
        incidents.Subcommands.Add(Get());
        incidents.Subcommands.Add(Open());
        incidents.Subcommands.Add(Change("ack", "/acknowledge", "Acknowledge: stops escalation (exit code 4 once resolved)."));
        incidents.Subcommands.Add(Change("assign", "/assign", "Name the incident commander.", ("commander", "--commander", "The incident commander.", true)));
        incidents.Subcommands.Add(Change("note", "/notes", "Add a note to the timeline.", ("message", "--message", "The note.", true)));
        incidents.Subcommands.Add(State());
        incidents.Subcommands.Add(Change("resolve", "/resolve", "Resolve the incident.", ("resolution", "--resolution", "How it was resolved.", false)));
        incidents.Subcommands.Add(PostMortem());
        incidents.Subcommands.Add(Report());
        yield return incidents;
    }

    private static Argument<string> IncidentId() => new("incident-id") { Description = "The incident's id." };

    private static string Path(CliContext context, Argument<string> id, string rest = "") => $"/v1/incidents/{Requests.Segment(context.Value(id))}{rest}";

    private static Command List()
    {
        var severity = new Option<string?>("--severity") { Description = "Only this severity." };
        severity.AcceptOnlyFromAmong("P0", "P1", "P2", "P3");
        var state = new Option<string?>("--state") { Description = "Only this state." };
        state.AcceptOnlyFromAmong("Detected", "Triaged", "Investigating", "Mitigated", "Resolved", "PostMortem");
        var open = new Option<bool?>("--open") { Description = "true: only unresolved incidents; false: only resolved ones." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Only incidents detected at or after this time." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Only incidents detected at or before this time." };
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        var limit = new Option<int?>("--limit") { Description = "Incidents per page, 1–500; default 50." };
        return new Command("list", "Incidents newest first.").With(severity, state, open, from, to, cursor, limit)
            .WithAction(async (context, ct) => context.PrintPage(await context.Api.GetAsync(Requests.Query("/v1/incidents",
                ("severity", context.Value(severity)), ("state", context.Value(state)), ("open", context.Value(open)),
                ("detectedFrom", context.Value(from)), ("detectedTo", context.Value(to)), ("cursor", context.Value(cursor)), ("limit", context.Value(limit))), ct),
                "incidents", ListColumns));
    }

    private static Command Get()
    {
        var id = IncidentId();
        return new Command("get", "An incident with its timeline.").With(id)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Path(context, id), ct), json =>
            {
                Table.WriteFields(context.Out, json, Fields);
                context.Out.WriteLine();
                Table.Write(context.Out, [new("At", "at"), new("Kind", "kind"), new("Actor", "actor"), new("Message", "message")],
                    json.GetProperty("incident").GetProperty("timeline").EnumerateArray());
            }));
    }

    private static Command Open()
    {
        var severity = new Option<string>("--severity") { Description = "P0 (critical) to P3.", Required = true };
        severity.AcceptOnlyFromAmong("P0", "P1", "P2", "P3");
        var title = new Option<string>("--title") { Description = "1–500 characters.", Required = true };
        var detail = new Option<string?>("--detail") { Description = "At most 4,000 characters." };
        var dedup = new Option<string?>("--dedup-key") { Description = "An open incident with the same key absorbs this one." };
        return new Command("open", "Open an incident by hand.").With(severity, title, detail, dedup)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync("/v1/incidents", Requests.Body(
                ("severity", context.Value(severity)), ("title", context.Value(title)), ("detail", context.Value(detail)),
                ("dedupKey", context.Value(dedup))), ct), Fields));
    }

    /// <summary>A POST /v1/incidents/{id}{rest} with <c>--actor</c> and, if given, one more text field.</summary>
    private static Command Change(string name, string rest, string description, (string Field, string Option, string Description, bool Required)? extra = null)
    {
        var id = IncidentId();
        var actor = new Option<string?>("--actor") { Description = "Who does it (default: operator)." };
        var command = new Command(name, description).With(id, actor);
        Option<string?>? text = null;
        if (extra is { } e)
        {
            text = new Option<string?>(e.Option) { Description = e.Description, Required = e.Required };
            command.With(text);
        }

        return command.WithAction(async (context, ct) =>
        {
            var body = Requests.Body(("actor", context.Value(actor)));
            if (text is not null && context.Value(text) is { } given)
            {
                body[extra!.Value.Field] = given;
            }

            return context.PrintFields(await context.Api.PostAsync(Path(context, id, rest), body, ct), Fields);
        });
    }

    private static Command State()
    {
        var id = IncidentId();
        var state = new Argument<string>("state") { Description = "Investigating or Mitigated." };
        state.AcceptOnlyFromAmong("Investigating", "Mitigated");
        var note = new Option<string?>("--note") { Description = "A note for the timeline." };
        var actor = new Option<string?>("--actor") { Description = "Who does it (default: operator)." };
        return new Command("state", "Move the incident to Investigating or Mitigated.").With(id, state, note, actor)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync(Path(context, id, "/state"), Requests.Body(
                ("state", context.Value(state)), ("note", context.Value(note)), ("actor", context.Value(actor))), ct), Fields));
    }

    private static Command PostMortem()
    {
        var id = IncidentId();
        var summary = new Option<string>("--summary") { Description = "What happened.", Required = true };
        var cause = new Option<string>("--root-cause") { Description = "Why it happened.", Required = true };
        var items = new Option<string[]>("--action-item") { Description = "A follow-up (repeatable)." };
        var author = new Option<string?>("--author") { Description = "Who wrote it." };
        return new Command("postmortem", "Attach the post-mortem of a resolved incident.").With(id, summary, cause, items, author)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PutAsync(Path(context, id, "/postmortem"), Requests.Body(
                ("summary", context.Value(summary)), ("rootCause", context.Value(cause)), ("actionItems", context.Value(items)),
                ("author", context.Value(author))), ct), Fields));
    }

    private static Command Report()
    {
        var from = new Option<DateTimeOffset?>("--from") { Description = "The period's start (default: 30 days before its end)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "The period's end (default: now)." };
        Column[] columns =
        [
            new("Scope", "scope"), new("Opened", "opened"), new("Resolved", "resolved"), new("Automatic", "resolvedAutomatically"),
            new("Automation rate", "automationRate"), new("MTTA (s)", "mttaSeconds"), new("MTTR (s)", "mttrSeconds"),
        ];
        return new Command("report", "MTTA, MTTR and automation rate, overall and per severity.").With(from, to)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Requests.Query("/v1/incidents/report",
                ("from", context.Value(from)), ("to", context.Value(to))), ct), json =>
                Table.Write(context.Out, columns, json.GetProperty("bySeverity").EnumerateArray().Prepend(json.GetProperty("all")))));
    }
}
