using System.CommandLine;
using MeshOs.Bench.Cli;

namespace MeshOs.Bench;

/// <summary>
/// The MeshOs benchmark: one command per scenario. Each starts what it needs (a private PostgreSQL, real MeshOs
/// processes, Hangfire) or drives an existing deployment, and reports a console table and a JSON file.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("MeshOs benchmarks: throughput, the Hangfire peer, cost curve, heartbeat capacity, recovery.");
        foreach (var command in BenchCommands.All(args))
        {
            root.Subcommands.Add(command);
        }

        return root.Parse(args).InvokeAsync();
    }
}
