using System.CommandLine;
using System.Text.Json;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Operations;

/// <summary><c>health</c> (/health) and <c>status</c> (/status): what the runbook reads with curl and jq. No key needed.</summary>
public sealed class OperationsCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        yield return new Command("health", "Liveness and readiness with each check (/health). Exit code 5 when not ready.")
            .WithAction(HealthAsync);
        yield return new Command("status", "Version, uptime, cluster members, agents by state, jobs by status (/status).")
            .WithAction(StatusAsync);
    }

    private static async Task<int> HealthAsync(CliContext context, CancellationToken ct)
    {
        // 503 is the answer of a mesh that is not ready: its body still says why, so it is printed, not treated as a failure to call.
        var response = await context.Api.SendAsync(HttpMethod.Get, "/health", null, ct, acceptAnyStatus: true);
        if (response.Status is not (200 or 503))
        {
            throw ApiException.From(response.Status, null, response.Text);
        }

        context.Print(response, json =>
        {
            context.Out.WriteLine($"Status: {Cells.At(json, "status")}");
            Table.Write(context.Out, [new("Check", "name"), new("Status", "status"), new("Ms", "durationMs"), new("Description", "description")],
                json.GetProperty("checks").EnumerateArray());
        });
        return response.Status == 200 ? ExitCodes.Ok : ExitCodes.Unavailable;
    }

    private static async Task<int> StatusAsync(CliContext context, CancellationToken ct)
    {
        var response = await context.Api.GetAsync("/status", ct);
        return context.Print(response, json =>
        {
            Table.WriteFields(context.Out, json,
            [
                new("Service", "service"), new("Version", "version"), new("Role", "role"), new("Storage", "storage"),
                new("Started", "startedAt"), new("Uptime (s)", "uptimeSeconds"), new("Active silos", "cluster.activeSilos"),
            ]);
            WriteCounts(context.Out, json, "agents", "State");
            WriteCounts(context.Out, json, "jobs", "Status");
            if (json.TryGetProperty("errors", out var errors) && errors.GetArrayLength() > 0)
            {
                context.Out.WriteLine();
                context.Out.WriteLine("Errors:");
                foreach (var error in errors.EnumerateArray())
                {
                    context.Out.WriteLine($"  {error.GetString()}");
                }
            }
        });
    }

    /// <summary>A counts object (<c>{"total": 3, "Healthy": 3, …}</c>) as a two-column table; null when it could not be read.</summary>
    private static void WriteCounts(TextWriter output, JsonElement status, string name, string heading)
    {
        output.WriteLine();
        var counts = status.GetProperty(name);
        if (counts.ValueKind != JsonValueKind.Object)
        {
            output.WriteLine($"{name}: unknown (see errors)");
            return;
        }

        Table.Write(output, [heading, name],
            counts.EnumerateObject().Select(c => (IReadOnlyList<string>)[c.Name, c.Value.GetRawText()]));
    }
}
