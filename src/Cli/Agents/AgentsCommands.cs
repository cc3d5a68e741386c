using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Agents;

/// <summary>
/// <c>agents list|get|drain|deregister|quarantine|release|restart</c> over /v1/agents. Operators see every agent;
/// a tenant sees its own (and, read-only, those that serve its pools). Quarantine, release and restart: operator key.
/// </summary>
public sealed class AgentsCommands : ICommandGroup
{
    private static readonly Column[] ListColumns =
    [
        new("Agent", "agentId"), new("Owner", "owner"), new("Pool", "pool"), new("State", "state"), new("Capabilities", "capabilities"),
        new("Version", "version"), new("Region", "region"), new("Since", "stateChangedAt"),
    ];

    private static readonly Column[] Fields =
    [
        new("Agent", "agentId"), new("Owner", "owner"), new("Pool", "pool"), new("State", "state"), new("State reason", "stateReason"),
        new("Since", "stateChangedAt"), new("Capabilities", "capabilities"), new("Max concurrency", "maxConcurrency"), new("Version", "version"),
        new("Region", "region"), new("Certifications", "certifications"), new("Cost per hour", "costPerHour"), new("Registered", "registeredAt"),
        new("Last heartbeat", "lastHeartbeatAt"), new("Load", "load"), new("In flight", "inFlight"), new("Connected", "connected"),
        new("Quarantined", "quarantined"), new("Probation until", "probationUntil"),
    ];

    public IEnumerable<Command> Create()
    {
        var agents = new Command("agents", "List, inspect, drain, quarantine, release and restart agents.");
        agents.Subcommands.Add(List());
        agents.Subcommands.Add(Get());
        agents.Subcommands.Add(Action("drain", "Stop new leases; the agent finishes its jobs and goes Offline.", "drain"));
        agents.Subcommands.Add(Action("release", "Lift a quarantine (operator key).", "release"));
        agents.Subcommands.Add(Action("restart", "Restart through the agent's runtime or a command down its channel (operator key).", "restart"));
        agents.Subcommands.Add(Quarantine());
        agents.Subcommands.Add(Deregister());
        yield return agents;
    }

    private static Command List()
    {
        var owner = new Option<string?>("--owner") { Description = "Operators: only this owner's agents (a tenant id, or platform)." };
        var cursor = new Option<string?>("--cursor") { Description = "The next page (the cursor the previous page printed)." };
        var limit = new Option<int?>("--limit") { Description = "Agents per page, 1–1,000; default 100." };
        return new Command("list", "Agents in id order.").With(owner, cursor, limit)
            .WithAction(async (context, ct) => context.PrintPage(await context.Api.GetAsync(
                Requests.Query("/v1/agents", ("owner", context.Value(owner)), ("cursor", context.Value(cursor)), ("limit", context.Value(limit))), ct),
                "agents", ListColumns));
    }

    private static Command Get()
    {
        var id = new Argument<string>("agent-id") { Description = "The agent's id." };
        return new Command("get", "One agent with its live figures.").With(id)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.GetAsync($"/v1/agents/{Requests.Segment(context.Value(id))}", ct), Fields));
    }

    /// <summary>A POST /v1/agents/{id}/{verb} taking an optional reason.</summary>
    private static Command Action(string name, string description, string verb)
    {
        var id = new Argument<string>("agent-id") { Description = "The agent's id." };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded; default names who did it)." };
        return new Command(name, description).With(id, reason)
            .WithAction(async (context, ct) =>
            {
                var response = await context.Api.PostAsync($"/v1/agents/{Requests.Segment(context.Value(id))}/{verb}", Requests.Body(("reason", context.Value(reason))), ct);
                return verb == "restart"
                    ? context.PrintFields(response, [new("Agent", "agentId"), new("Path", "path")])
                    : context.PrintFields(response, Fields);
            });
    }

    private static Command Quarantine()
    {
        var id = new Argument<string>("agent-id") { Description = "The agent's id." };
        var reason = new Option<string?>("--reason") { Description = "Why (default: quarantined by an operator)." };
        var probation = new Option<double?>("--probation-minutes") { Description = "Release by itself after this many minutes (0–43,200); default: until released." };
        return new Command("quarantine", "No new leases until released (operator key).").With(id, reason, probation)
            .WithAction(async (context, ct) => context.PrintFields(await context.Api.PostAsync(
                $"/v1/agents/{Requests.Segment(context.Value(id))}/quarantine",
                Requests.Body(("reason", context.Value(reason)), ("probationMinutes", context.Value(probation))), ct), Fields));
    }

    private static Command Deregister()
    {
        var id = new Argument<string>("agent-id") { Description = "The agent's id." };
        return new Command("deregister", "Take the agent Offline; its leases go back to their queues.").With(id)
            .WithAction(async (context, ct) =>
            {
                await context.Api.DeleteAsync($"/v1/agents/{Requests.Segment(context.Value(id))}", ct);
                if (context.Format == OutputFormat.Table)
                {
                    context.Out.WriteLine($"Agent {context.Value(id)} deregistered.");
                }

                return ExitCodes.Ok;
            });
    }
}
