using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Audit;

/// <summary>
/// <c>audit list|export|verify</c> over /v1/audit. A tenant key sees the entries about its own objects; verify needs
/// an operator key and exits 6 when the chain is not intact.
/// </summary>
public sealed class AuditCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        var audit = new Command("audit", "The hash-chained audit log: query, export, verify.");
        audit.Subcommands.Add(Query("list", "Entries newest first, filtered, a page at a time."));
        audit.Subcommands.Add(Query("export", "Every matching entry as JSON lines (newest first), streamed to stdout."));
        audit.Subcommands.Add(Verify());
        yield return audit;
    }

    private static Command Query(string name, string description)
    {
        var actor = new Option<string?>("--actor") { Description = "Only entries by this credential (key id, or operator)." };
        var tenant = new Option<string?>("--tenant") { Description = "Only entries about this tenant's objects." };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. jobs.submit." };
        var target = new Option<string?>("--target") { Description = "Only this target, e.g. job/{id}." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Entries at or after this time." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Entries before this time." };
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        var limit = new Option<int?>("--limit") { Description = "Entries per page, 1–1,000; default 100." };
        var command = new Command(name, description).With(actor, tenant, action, target, from, to);
        if (name == "list")
        {
            command.With(cursor, limit);
        }

        return command.WithAction(async (context, ct) =>
        {
            (string, object?)[] filters =
            [
                ("actor", context.Value(actor)), ("tenant", context.Value(tenant)), ("action", context.Value(action)),
                ("target", context.Value(target)), ("from", context.Value(from)), ("to", context.Value(to)),
            ];
            if (name == "export")
            {
                using var response = await context.Api.OpenStreamAsync(Requests.Query("/v1/audit/export", filters), "application/x-ndjson", ct);
                await using var stdout = Console.OpenStandardOutput();
                await response.Content.CopyToAsync(stdout, ct);
                return ExitCodes.Ok;
            }

            var page = await context.Api.GetAsync(Requests.Query("/v1/audit", [.. filters, ("cursor", context.Value(cursor)), ("limit", context.Value(limit))]), ct);
            return context.PrintPage(page, "entries",
            [
                new("Seq", "seq"), new("At", "at"), new("Actor", "draft.actor.keyId"), new("Action", "draft.action"), new("Target", "draft.target"),
                new("Tenant", "draft.tenant"), new("Outcome", "draft.outcome"), new("Transport", "draft.transport"),
            ]);
        });
    }

    private static Command Verify()
    {
        var from = new Option<long?>("--from") { Description = "The first seq to check (default: the oldest kept entry)." };
        var to = new Option<long?>("--to") { Description = "The last seq to check (default: the head)." };
        return new Command("verify", "Walk the hash chain and signed checkpoints (operator key). Exit code 6 when broken.").With(from, to)
            .WithAction(async (context, ct) =>
            {
                var response = await context.Api.PostAsync(Requests.Query("/v1/audit/verify", ("from", context.Value(from)), ("to", context.Value(to))), null, ct);
                context.PrintFields(response,
                [
                    new("Intact", "intact"), new("From", "from"), new("To", "to"), new("Entries checked", "entriesChecked"),
                    new("Checkpoints checked", "checkpointsChecked"), new("Broken seq", "brokenSeq"), new("Problem", "problem"), new("Detail", "detail"),
                ]);
                return response.Json.GetProperty("intact").GetBoolean() ? ExitCodes.Ok : ExitCodes.CheckFailed;
            });
    }
}
