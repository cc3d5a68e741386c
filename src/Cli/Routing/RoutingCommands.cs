using System.CommandLine;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Routing;

/// <summary>
/// <c>routing pool</c> over /v1/routing/pools/{pool} (operator key) and <c>routing job</c>: why a job went to its agent
/// (the <c>routing</c> of GET /v1/jobs/{id}).
/// </summary>
public sealed class RoutingCommands : ICommandGroup
{
    public IEnumerable<Command> Create()
    {
        var routing = new Command("routing", "Adaptive routing: what a pool learned per agent and version; why a job went to its agent.");
        routing.Subcommands.Add(Pool());
        routing.Subcommands.Add(Job());
        yield return routing;
    }

    private static Command Pool()
    {
        var pool = new Argument<string>("pool") { Description = "The pool." };
        var agent = new Option<string?>("--agent") { Description = "Only this agent." };
        return new Command("pool", "The policy in force and each agent's learned success rate, latency, cost per job and concurrency limit.").With(pool, agent)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync(Requests.Query(
                $"/v1/routing/pools/{Requests.Segment(context.Value(pool))}", ("agentId", context.Value(agent))), ct), json =>
            {
                context.Out.WriteLine($"Pool {Cells.At(json, "pool")}: policy {Cells.At(json, "policy")}, {Cells.At(json, "candidates")} candidates, " +
                    $"exploration {Cells.At(json, "explorationShare")}, adaptive concurrency {Cells.At(json, "adaptiveConcurrency")}");
                Table.Write(context.Out,
                [
                    new("Agent", "stats.agentId"), new("Capability", "stats.capability"), new("Version", "stats.version"),
                    new("Success rate", "successRate"), new("Latency ms", "stats.latencyMs"), new("Tail ms", "tailLatencyMs"),
                    new("Cost/job", "stats.costPerJob"), new("Attempts", "stats.attempts"), new("Limit", "concurrencyLimit"),
                ], json.GetProperty("agents").EnumerateArray());
            }));
    }

    private static Command Job()
    {
        var id = new Argument<string>("job-id") { Description = "The job's id." };
        return new Command("job", "Why the job's latest lease went to its agent: policy, reason and the candidates compared.").With(id)
            .WithAction(async (context, ct) => context.Print(await context.Api.GetAsync($"/v1/jobs/{Requests.Segment(context.Value(id))}", ct), json =>
            {
                if (!json.TryGetProperty("routing", out var routing) || routing.ValueKind != System.Text.Json.JsonValueKind.Object)
                {
                    context.Out.WriteLine("Not leased yet: no routing decision.");
                    return;
                }

                context.Out.WriteLine($"Policy {Cells.At(routing, "policy")}, reason {Cells.At(routing, "reason")}, " +
                    $"{Cells.At(routing, "candidatesCompared")} candidates compared (chosen first)");
                Table.Write(context.Out,
                [
                    new("Agent", "agentId"), new("Score", "score"), new("Success rate", "successRate"), new("Latency ms", "latencyMs"),
                    new("Cost/job", "costPerJob"), new("Attempts", "attempts"), new("In flight", "inFlight"), new("Limit", "limit"),
                ], routing.GetProperty("candidates").EnumerateArray());
            }));
    }
}
