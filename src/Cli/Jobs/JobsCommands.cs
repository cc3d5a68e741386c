using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Jobs;

/// <summary>
/// <c>jobs submit|get|list|watch|cancel</c> over /v1/jobs. A tenant key (an operator key may <c>get</c> any job, each
/// read audited). There is no retry: the API has no endpoint to run a finished job again (submit it anew).
/// </summary>
public sealed class JobsCommands : ICommandGroup
{
    /// <summary>How long watch waits before opening a job's event stream again when it ended before the job did.</summary>
    private static readonly TimeSpan ReconnectPause = TimeSpan.FromSeconds(1);

    private static readonly string[] Terminal = ["Succeeded", "Failed", "Cancelled", "TimedOut", "DeadLettered"];

    private static readonly Column[] ListColumns =
    [
        new("Id", "id"), new("Type", "type"), new("Capability", "capability"), new("Pool", "pool"), new("Status", "status"),
        new("Attempts", "attempts"), new("Agent", "agentId"), new("Created", "createdAt"),
    ];

    private static readonly Column[] Fields =
    [
        new("Id", "id"), new("Type", "type"), new("Capability", "capability"), new("Pool", "pool"), new("Status", "status"),
        new("Priority", "priority"), new("Attempts", "attempts"), new("Max attempts", "maxAttempts"), new("Agent", "agentId"),
        new("Agent version", "agentVersion"), new("Created", "createdAt"), new("Started", "startedAt"), new("Completed", "completedAt"),
        new("Idempotency key", "idempotencyKey"), new("Data classes", "dataClasses"), new("Tokens in", "usage.tokensIn"),
        new("Tokens out", "usage.tokensOut"), new("Cost", "usage.cost"), new("Payload", "payload"), new("Result", "result"), new("Error", "error"),
    ];

    /// <summary>What jobs watch prints per change, with fixed widths: the lines are printed as they come.</summary>
    private static readonly (Column Column, int Width)[] WatchColumns =
    [
        (new("Version", "version"), 7), (new("Status", "status"), 12), (new("Attempts", "attempts"), 8), (new("Agent", "agentId"), 24),
        (new("Updated", "updatedAt"), 20),
    ];

    public IEnumerable<Command> Create()
    {
        var jobs = new Command("jobs", "Submit jobs and follow them (tenant key).");
        jobs.Subcommands.Add(Submit());
        jobs.Subcommands.Add(Get());
        jobs.Subcommands.Add(List());
        jobs.Subcommands.Add(Watch());
        jobs.Subcommands.Add(Cancel());
        yield return jobs;
    }

    private static Command Submit()
    {
        var type = new Option<string>("--type") { Description = "The job's type (free-form, for your own filtering).", Required = true };
        var capability = new Option<string>("--capability") { Description = "The capability an agent must declare to take it.", Required = true };
        var pool = new Option<string?>("--pool") { Description = "The agent pool (default: the tenant's first pool)." };
        var payload = new Option<string?>("--payload") { Description = "The payload, JSON (default {}); @file reads a file, @- stdin." };
        var priority = new Option<int?>("--priority") { Description = "0 (lowest) to 9 (highest); default 5." };
        var timeout = new Option<double?>("--timeout-seconds") { Description = "How long one attempt may run, 1–86,400 s; default 300." };
        var attempts = new Option<int?>("--max-attempts") { Description = "Attempts in all, 1–20; default 3." };
        var idempotency = new Option<string?>("--idempotency-key") { Description = "The same key with the same request returns the first job." };
        var classes = new Option<string[]>("--data-class") { Description = "A data class the payload holds (repeatable), e.g. pii.", AllowMultipleArgumentsPerToken = false };
        var watch = new Option<bool>("--watch", "-w") { Description = "Then follow the job until it ends (as jobs watch)." };
        return new Command("submit", "Submit a job; printed once it is durable.")
            .With(type, capability, pool, payload, priority, timeout, attempts, idempotency, classes, watch)
            .WithAction(async (context, ct) =>
            {
                var body = Requests.Body(
                    ("type", context.Value(type)), ("capability", context.Value(capability)), ("pool", context.Value(pool)),
                    ("payload", ReadPayload(context.Value(payload))), ("priority", context.Value(priority)),
                    ("timeoutSeconds", context.Value(timeout)), ("maxAttempts", context.Value(attempts)),
                    ("idempotencyKey", context.Value(idempotency)), ("dataClasses", context.Value(classes)));
                var response = await context.Api.PostAsync("/v1/jobs", body, ct);
                if (!context.Value(watch))
                {
                    return context.PrintFields(response, Fields);
                }

                if (context.Format == OutputFormat.Table)
                {
                    context.Out.WriteLine($"Submitted {Cells.At(response.Json, "id")}");
                }

                return await WatchAsync(context, Cells.At(response.Json, "id"), ct);
            });
    }

    private static Command Get()
    {
        var id = new Argument<string>("job-id") { Description = "The job's id." };
        return new Command("get", "A job with its status, payload and result.").With(id)
            .WithAction(async (context, ct) =>
                context.PrintFields(await context.Api.GetAsync($"/v1/jobs/{Requests.Segment(context.Value(id))}", ct), Fields));
    }

    private static Command List()
    {
        var status = new Option<string?>("--status") { Description = "Only this status." };
        status.AcceptOnlyFromAmong(["Pending", "Leased", "Running", .. Terminal]);
        var type = new Option<string?>("--type") { Description = "Only this type." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Only jobs created at or after this time (RFC 3339)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Only jobs created at or before this time (RFC 3339)." };
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        var limit = new Option<int?>("--limit") { Description = "Jobs per page, 1–500; default 50." };
        return new Command("list", "The tenant's jobs, newest first.").With(status, type, from, to, cursor, limit)
            .WithAction(async (context, ct) =>
            {
                var path = Requests.Query("/v1/jobs", ("status", context.Value(status)), ("type", context.Value(type)),
                    ("createdFrom", context.Value(from)), ("createdTo", context.Value(to)), ("cursor", context.Value(cursor)), ("limit", context.Value(limit)));
                return context.PrintPage(await context.Api.GetAsync(path, ct), "jobs", ListColumns);
            });
    }

    private static Command Watch()
    {
        var id = new Argument<string>("job-id") { Description = "The job's id." };
        return new Command("watch", "Follow a job's changes (server-sent events) until it ends. Exit code 6 when it ends without succeeding.")
            .With(id)
            .WithAction((context, ct) => WatchAsync(context, context.Value(id), ct));
    }

    private static Command Cancel()
    {
        var id = new Argument<string>("job-id") { Description = "The job's id." };
        var reason = new Option<string?>("--reason") { Description = "Why (default: cancelled by the tenant)." };
        return new Command("cancel", "Cancel a job that has not finished (exit code 4 once it has).").With(id, reason)
            .WithAction(async (context, ct) =>
                context.PrintFields(await context.Api.PostAsync($"/v1/jobs/{Requests.Segment(context.Value(id))}/cancel",
                    Requests.Body(("reason", context.Value(reason))), ct), Fields));
    }

    /// <summary>
    /// Prints each change of the job (a table line, or the event's JSON on a line of its own) until it ends. The server
    /// sends the job as it is first and closes the stream once it ends; a stream closed earlier (a gateway stopping, an
    /// idle proxy) is opened again, and changes already printed are skipped by version.
    /// </summary>
    private static async Task<int> WatchAsync(CliContext context, string jobId, CancellationToken ct)
    {
        using var api = context.CreateClient(Timeout.InfiniteTimeSpan);
        if (context.Format == OutputFormat.Table)
        {
            context.Out.WriteLine(Line(WatchColumns.Select(c => c.Column.Heading.ToUpperInvariant())));
        }

        var lastVersion = -1L;
        string? status = null;
        while (status is null || !Terminal.Contains(status))
        {
            if (lastVersion >= 0)
            {
                // The stream ended before the job did: open it again after a pause, so a server that keeps closing it is not hammered.
                await Task.Delay(ReconnectPause, ct);
            }

            using var response = await api.OpenStreamAsync($"/v1/jobs/{Requests.Segment(jobId)}/events", "text/event-stream", ct);
            await foreach (var data in ServerSentEvents.ReadDataAsync(await response.Content.ReadAsStreamAsync(ct), ct))
            {
                var job = JsonDocument.Parse(data).RootElement;
                var version = job.GetProperty("version").GetInt64();
                if (version <= lastVersion)
                {
                    continue;
                }

                lastVersion = version;
                status = job.GetProperty("status").GetString();
                context.Out.WriteLine(context.Format == OutputFormat.Json ? data : Line(WatchColumns.Select(c => Cells.At(job, c.Column.Path))));
                await context.Out.FlushAsync(ct);
            }
        }

        return status == "Succeeded" ? ExitCodes.Ok : ExitCodes.CheckFailed;

        static string Line(IEnumerable<string> cells) => string.Join("  ", cells.Select((c, i) => c.PadRight(WatchColumns[i].Width))).TrimEnd();
    }

    /// <summary>The payload option: inline JSON, <c>@file</c> or <c>@-</c> (stdin); checked here so a typo is a usage error.</summary>
    private static JsonNode ReadPayload(string? value)
    {
        var text = value switch
        {
            null => "{}",
            "@-" => Console.In.ReadToEnd(),
            ['@', .. var file] => File.Exists(file) ? File.ReadAllText(file) : throw new CliException(ExitCodes.Usage, $"--payload: file {file} does not exist."),
            _ => value,
        };
        try
        {
            return JsonNode.Parse(text) ?? throw new CliException(ExitCodes.Usage, "--payload: null is not a payload.");
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.Usage, $"--payload: not valid JSON ({ex.Message}).");
        }
    }
}
