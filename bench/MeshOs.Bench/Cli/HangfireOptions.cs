using System.CommandLine;
using MeshOs.Bench.Peer;
using MeshOs.Bench.Scenarios;

namespace MeshOs.Bench.Cli;

/// <summary>The peer's options.</summary>
internal sealed class HangfireOptions
{
    private readonly Option<int> _workers = new("--workers")
    {
        Description = "Hangfire worker count (Hangfire's default: processors × 5).",
        DefaultValueFactory = _ => Environment.ProcessorCount * 5,
    };

    private readonly Option<bool> _longPolling = new("--long-polling")
    {
        Description = "Hangfire.PostgreSql EnableLongPolling (LISTEN/NOTIFY wakes idle workers).",
        DefaultValueFactory = _ => true,
    };

    private readonly Option<double> _pollMs = new("--poll-ms")
    {
        Description = "Hangfire.PostgreSql QueuePollInterval, ms.",
        DefaultValueFactory = _ => 100,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_workers);
        command.Options.Add(_longPolling);
        command.Options.Add(_pollMs);
    }

    public HangfireSettings ReadPeer(ParseResult parse) =>
        new(parse.GetValue(_workers), parse.GetValue(_longPolling), TimeSpan.FromMilliseconds(parse.GetValue(_pollMs)));

    public HangfireRunSettings Read(ParseResult parse, LoadSettings load) =>
        new(load.Producers, load.Rate, load.Warmup, load.Duration, load.DrainTimeout, ReadPeer(parse));
}
