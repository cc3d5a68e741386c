using System.CommandLine;
using MeshOs.Bench.Agents;
using MeshOs.Bench.Load;
using MeshOs.Bench.Scenarios;

namespace MeshOs.Bench.Cli;

/// <summary>The job workload's options, with defaults chosen per command.</summary>
internal sealed class LoadOptions
{
    private readonly Option<SubmitProtocol> _protocol = new("--protocol") { Description = "grpc or rest.", DefaultValueFactory = _ => SubmitProtocol.Grpc };
    private readonly Option<int> _producers;
    private readonly Option<int> _tenants = new("--tenants") { Description = "Tenants (producer p submits for tenant p mod T).", DefaultValueFactory = _ => 4 };
    private readonly Option<string>? _rate;
    private readonly Option<int> _agents;
    private readonly Option<int> _concurrency;
    private readonly Option<AgentKind> _agentKind = new("--agent-kind")
    {
        Description = "sdk (src/AgentSdk MeshAgent) or lean (the bench's raw-protocol agent, which also times the result's ReportAck).",
        DefaultValueFactory = _ => AgentKind.Sdk,
    };

    private readonly Option<double> _warmup;
    private readonly Option<double> _duration;
    private readonly Option<int> _watchEvery = new("--watch-every")
    {
        Description = "Watch 1 in N acknowledged jobs of the window over gRPC to time end-to-end (0: none).",
        DefaultValueFactory = _ => 50,
    };

    private readonly Option<int> _batch = new("--batch")
    {
        Description = "Closed loop only: jobs per submit call (1: Submit; more: SubmitBatch / POST /v1/jobs/batch).",
        DefaultValueFactory = _ => 1,
    };

    private readonly Option<double> _drainTimeout = new("--drain-timeout")
    {
        Description = "Seconds to wait after a window for the agents to finish the backlog.",
        DefaultValueFactory = _ => 120,
    };

    public LoadOptions(int producers = 16, string? rate = "max", int agents = 8, int concurrency = 64, double warmup = 10, double duration = 30,
        string warmupHelp = "Warm-up seconds before the measured window.", string durationHelp = "Measured window, seconds.")
    {
        _producers = new Option<int>("--producers") { Description = "Concurrent producers.", DefaultValueFactory = _ => producers };
        if (rate is not null)
        {
            _rate = new Option<string>("--rate")
            {
                Description = "Target jobs/s over all producers (open loop), or 'max' (closed loop: each producer waits for its acknowledgement).",
                DefaultValueFactory = _ => rate,
            };
        }

        _agents = new Option<int>("--agents") { Description = "Simulated agents (K).", DefaultValueFactory = _ => agents };
        _concurrency = new Option<int>("--concurrency") { Description = "Jobs each agent runs at once.", DefaultValueFactory = _ => concurrency };
        _warmup = new Option<double>("--warmup") { Description = warmupHelp, DefaultValueFactory = _ => warmup };
        _duration = new Option<double>("--duration") { Description = durationHelp, DefaultValueFactory = _ => duration };
    }

    public Option<int> Producers => _producers;

    public Option<double> Warmup => _warmup;

    public Option<double> Duration => _duration;

    public void AddTo(Command command)
    {
        command.Options.Add(_protocol);
        command.Options.Add(_producers);
        command.Options.Add(_tenants);
        if (_rate is not null)
        {
            command.Options.Add(_rate);
        }

        command.Options.Add(_agents);
        command.Options.Add(_concurrency);
        command.Options.Add(_agentKind);
        command.Options.Add(_warmup);
        command.Options.Add(_duration);
        command.Options.Add(_watchEvery);
        command.Options.Add(_drainTimeout);
        command.Options.Add(_batch);
    }

    public LoadSettings Read(ParseResult parse) => new(
        parse.GetValue(_protocol),
        parse.GetValue(_producers),
        parse.GetValue(_tenants),
        _rate is null ? null : CommonOptions.ParseRate(parse.GetValue(_rate) ?? "max"),
        parse.GetValue(_agents),
        parse.GetValue(_concurrency),
        parse.GetValue(_agentKind),
        TimeSpan.FromSeconds(parse.GetValue(_warmup)),
        TimeSpan.FromSeconds(parse.GetValue(_duration)),
        parse.GetValue(_watchEvery),
        TimeSpan.FromSeconds(parse.GetValue(_drainTimeout)),
        Math.Clamp(parse.GetValue(_batch), 1, 500));
}
