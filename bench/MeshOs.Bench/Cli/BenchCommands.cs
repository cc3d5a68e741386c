using System.CommandLine;
using MeshOs.Bench.Peer;
using MeshOs.Bench.Scenarios;
using MeshOs.Bench.Targets;

namespace MeshOs.Bench.Cli;

/// <summary>The commands, one per scenario.</summary>
internal static class BenchCommands
{
    public static IEnumerable<Command> All(string[] args) =>
    [
        Throughput(args),
        Hangfire(args),
        Compare(args),
        CostCurve(args),
        Routing(args),
        Heartbeats(args),
        ReconnectStorm(args),
        RecoveryAgent(args),
        RecoverySilo(args),
        HangfireServer(),
    ];

    private static Command Throughput(string[] args)
    {
        var command = new Command("throughput", "Tenants submit no-op jobs (gRPC or REST), K agents run them: throughput, latency, CPU, memory, lost jobs.");
        var load = new LoadOptions();
        CommonOptions.AddTarget(command);
        command.Options.Add(CommonOptions.PgStatements);
        load.AddTo(command);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("throughput", args, parse,
            _ => ThroughputScenario.RunAsync(CommonOptions.TargetOf(parse), load.Read(parse))));
        return command;
    }

    private static Command Hangfire(string[] args)
    {
        var command = new Command("hangfire", "The same no-op workload on Hangfire with Hangfire.PostgreSql (server in its own process), on a private PostgreSQL.");
        var load = new LoadOptions();
        var peer = new HangfireOptions();
        load.AddTo(command);
        peer.AddTo(command);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("hangfire", args, parse,
            _ => HangfireScenario.RunAsync(peer.Read(parse, load.Read(parse)))));
        return command;
    }

    private static Command Compare(string[] args)
    {
        var command = new Command("compare", "MeshOs (PostgreSQL mode) then Hangfire.PostgreSql on the same PostgreSQL server, same producers and windows; prints the ratios.");
        var load = new LoadOptions();
        var peer = new HangfireOptions();
        CommonOptions.AddTarget(command, withMode: false);
        load.AddTo(command);
        peer.AddTo(command);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) =>
        {
            var settings = load.Read(parse);
            return Repeat("compare", args, parse, _ => CompareScenario.RunAsync(CommonOptions.TargetOf(parse, StorageMode.Postgres), settings, peer.Read(parse, settings)));
        });
        return command;
    }

    private static Command Routing(string[] args)
    {
        var command = new Command("routing", "Adaptive routing vs round-robin in the same run: a heterogeneous fleet (fast, slow, flaky, one group degrading mid-run) under the same open-loop load; end-to-end p50/p95, first-attempt success, retries, cost per job, time to adapt.");
        var rate = new Option<double>("--rate") { Description = "Open-loop submits per second.", DefaultValueFactory = _ => 300 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds of load before the measured window.", DefaultValueFactory = _ => 20 };
        var duration = new Option<double>("--duration") { Description = "Measured window, seconds.", DefaultValueFactory = _ => 60 };
        var changeAt = new Option<double>("--change-at") { Description = "Seconds after the load starts when the degrading group changes.", DefaultValueFactory = _ => 40 };
        var concurrency = new Option<int>("--concurrency") { Description = "Slots per agent.", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seeds the agents' and the policies' randomness.", DefaultValueFactory = _ => 15 };
        CommonOptions.AddTarget(command);
        command.Options.Add(rate);
        command.Options.Add(warmup);
        command.Options.Add(duration);
        command.Options.Add(changeAt);
        command.Options.Add(concurrency);
        command.Options.Add(seed);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("routing", args, parse, _ => RoutingScenario.RunAsync(CommonOptions.TargetOf(parse, StorageMode.Embedded),
            new RoutingSettings(parse.GetValue(rate), TimeSpan.FromSeconds(parse.GetValue(warmup)), TimeSpan.FromSeconds(parse.GetValue(duration)),
                parse.GetValue(concurrency), parse.GetValue(seed), RoutingSettings.Heterogeneous(parse.GetValue(changeAt))))));
        return command;
    }

    private static Command CostCurve(string[] args)
    {
        var command = new Command("cost-curve", "Steps the open-loop rate up until saturation: throughput, latency and CPU per step, then dispatch p99 at half the saturation throughput.");
        var load = new LoadOptions(rate: null, warmup: 5, duration: 15, warmupHelp: "Warm-up seconds of each step.", durationHelp: "Measured window of each step, seconds.");
        var rates = new Option<string>("--rates") { Description = "Comma-separated target rates (jobs/s), in order.", DefaultValueFactory = _ => "250,500,1000,2000,4000,8000" };
        var fraction = new Option<double>("--min-completed-fraction") { Description = "Saturated when completed/s falls below this fraction of the target.", DefaultValueFactory = _ => 0.9 };
        var p99 = new Option<double>("--max-dispatch-p99") { Description = "Saturated when dispatch p99 exceeds this (ms).", DefaultValueFactory = _ => 1_000 };
        var firstWarmup = new Option<double>("--first-warmup") { Description = "Warm-up seconds of the first step (the server's JIT settles in about 45 s under load).", DefaultValueFactory = _ => 45 };
        var halfWarmup = new Option<double>("--half-warmup") { Description = "Warm-up seconds of the half-saturation step (it follows the saturated step).", DefaultValueFactory = _ => 20 };
        var halfDuration = new Option<double>("--half-duration") { Description = "Measured window of the half-saturation step, seconds.", DefaultValueFactory = _ => 30 };
        CommonOptions.AddTarget(command);
        load.AddTo(command);
        command.Options.Add(rates);
        command.Options.Add(fraction);
        command.Options.Add(p99);
        command.Options.Add(firstWarmup);
        command.Options.Add(halfWarmup);
        command.Options.Add(halfDuration);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("cost-curve", args, parse, _ => CostCurveScenario.RunAsync(
            CommonOptions.TargetOf(parse), load.Read(parse), CommonOptions.ParseList(parse.GetValue(rates)!, "--rates"),
            new SaturationRule(parse.GetValue(fraction), parse.GetValue(p99)),
            new CurveTiming(
                TimeSpan.FromSeconds(parse.GetValue(firstWarmup)),
                TimeSpan.FromSeconds(parse.GetValue(halfWarmup)),
                TimeSpan.FromSeconds(parse.GetValue(halfDuration))))));
        return command;
    }

    private static Command Heartbeats(string[] args)
    {
        var command = new Command("heartbeats", "N idle agents heartbeating every I seconds on one silo, N stepping up: registration rate and CPU, heartbeat round-trip p50/p99, " +
            "heartbeats without ack and agents declared Unresponsive (the run fails when either is not 0), the largest N within the p99 limit, memory per idle agent.");
        var steps = new Option<string>("--steps") { Description = "Comma-separated agent counts, in order.", DefaultValueFactory = _ => "5000,10000,20000,30000" };
        var interval = new Option<double>("--interval") { Description = "Heartbeat interval, seconds (the silo's MeshOs:Agents:HeartbeatInterval).", DefaultValueFactory = _ => 10 };
        var measured = new Option<int>("--measured-intervals") { Description = "Intervals measured per step (after one to settle).", DefaultValueFactory = _ => 2 };
        var limit = new Option<double>("--p99-limit") { Description = "Heartbeat p99 limit, ms.", DefaultValueFactory = _ => 50 };
        var concurrency = new Option<int>("--connect-concurrency") { Description = "Registrations in flight at once while connecting a step's agents.", DefaultValueFactory = _ => 200 };
        var cohosted = new Option<bool>("--co-hosted") { Description = "Agents connect to a gateway inside the silo (one process) instead of a standalone gateway in front of it." };
        CommonOptions.AddTarget(command);
        command.Options.Add(CommonOptions.PgStatements);
        command.Options.Add(steps);
        command.Options.Add(cohosted);
        command.Options.Add(interval);
        command.Options.Add(measured);
        command.Options.Add(limit);
        command.Options.Add(concurrency);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("heartbeats", args, parse, _ => HeartbeatScenario.RunAsync(
            CommonOptions.TargetOf(parse),
            new HeartbeatSettings([.. CommonOptions.ParseList(parse.GetValue(steps)!, "--steps").Select(x => (int)x)], TimeSpan.FromSeconds(parse.GetValue(interval)),
                parse.GetValue(measured), parse.GetValue(limit), parse.GetValue(concurrency), StandaloneGateway: !parse.GetValue(cohosted)))));
        return command;
    }

    private static Command ReconnectStorm(string[] args)
    {
        var command = new Command("reconnect-storm", "N connected agents (H holding a job) behind a standalone gateway that is SIGKILLed and restarted: time until every agent " +
            "is registered again, heartbeats unanswered, and agents or jobs the mesh wrongly acted on (must be 0 when the outage is shorter than the disconnect grace).");
        var agents = new Option<int>("--agents") { Description = "Agents connected when the gateway is killed.", DefaultValueFactory = _ => 20_000 };
        var holding = new Option<int>("--holding-agents") { Description = "Of them, agents that hold a job (running for ever) through the storm.", DefaultValueFactory = _ => 100 };
        var interval = new Option<double>("--interval") { Description = "Heartbeat interval, seconds (MeshOs:Agents:HeartbeatInterval; the disconnect grace defaults to it).", DefaultValueFactory = _ => 10 };
        var concurrency = new Option<int>("--connect-concurrency") { Description = "Registrations in flight at once while connecting the agents before the storm.", DefaultValueFactory = _ => 200 };
        var timeout = new Option<double>("--reconnect-timeout") { Description = "Seconds after the kill by which every agent must be registered again.", DefaultValueFactory = _ => 300 };
        CommonOptions.AddTarget(command);
        command.Options.Add(agents);
        command.Options.Add(holding);
        command.Options.Add(interval);
        command.Options.Add(concurrency);
        command.Options.Add(timeout);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) =>
        {
            var settings = new ReconnectStormSettings(parse.GetValue(agents), parse.GetValue(holding), TimeSpan.FromSeconds(parse.GetValue(interval)),
                parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(timeout)));
            if (settings.HoldingAgents < 0 || settings.HoldingAgents > settings.Agents)
            {
                throw new ArgumentException("--holding-agents: between 0 and --agents.");
            }

            return Repeat("reconnect-storm", args, parse, _ => ReconnectStormScenario.RunAsync(CommonOptions.TargetOf(parse), settings));
        });
        return command;
    }

    private static Command RecoveryAgent(string[] args)
    {
        var command = new Command("recovery-agent", "An agent holding a job dies; time until the mesh declares it Unresponsive and until the job is assigned to another agent.");
        var interval = new Option<double>("--heartbeat-interval") { Description = "MeshOs:Agents:HeartbeatInterval, seconds.", DefaultValueFactory = _ => 5 };
        var missed = new Option<int>("--missed-heartbeats") { Description = "MeshOs:Agents:MissedHeartbeats.", DefaultValueFactory = _ => 3 };
        var lease = new Option<double>("--lease") { Description = "MeshOs:Jobs:LeaseDuration, seconds.", DefaultValueFactory = _ => 30 };
        var trials = new Option<int>("--trials") { Description = "Kills per run (each with a fresh pair of agents).", DefaultValueFactory = _ => 3 };
        var death = new Option<AgentDeath>("--death") { Description = "reset (stream reset: a killed process) or silent (stream open, no heartbeats: a hung process).", DefaultValueFactory = _ => AgentDeath.Reset };
        CommonOptions.AddTarget(command);
        command.Options.Add(interval);
        command.Options.Add(missed);
        command.Options.Add(lease);
        command.Options.Add(trials);
        command.Options.Add(death);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("recovery-agent", args, parse, _ => RecoveryAgentScenario.RunAsync(
            CommonOptions.TargetOf(parse),
            new RecoveryAgentSettings(TimeSpan.FromSeconds(parse.GetValue(interval)), parse.GetValue(missed), TimeSpan.FromSeconds(parse.GetValue(lease)),
                parse.GetValue(trials), parse.GetValue(death)))));
        return command;
    }

    private static Command RecoverySilo(string[] args)
    {
        var command = new Command("recovery-silo", "Two silos on PostgreSQL under load; SIGKILL one: time until every probed grain serves again, and acknowledged jobs lost (must be 0).");
        var load = new LoadOptions(producers: 4, rate: "200", agents: 4, concurrency: 32, warmup: 10, duration: 15,
            durationHelp: "Seconds the load runs on after the probes recovered.");
        var topology = new Option<string>("--topology") { Description = "gateway (a standalone gateway in front of both silos) or cohosted (the gateway of silo 1).", DefaultValueFactory = _ => "gateway" };
        var tenants = new Option<int>("--probe-tenants") { Description = "Tenants read back after the kill.", DefaultValueFactory = _ => 24 };
        var jobs = new Option<int>("--probe-jobs") { Description = "Jobs acknowledged before the kill read back after it.", DefaultValueFactory = _ => 200 };
        var timeout = new Option<double>("--probe-timeout") { Description = "Seconds to wait for every probe to answer.", DefaultValueFactory = _ => 60 };
        command.Options.Add(CommonOptions.SiloSettings);
        load.AddTo(command);
        command.Options.Add(topology);
        command.Options.Add(tenants);
        command.Options.Add(jobs);
        command.Options.Add(timeout);
        CommonOptions.AddRun(command);
        command.SetAction((parse, _) => Repeat("recovery-silo", args, parse, _ => RecoverySiloScenario.RunAsync(
            CommonOptions.TargetOf(parse, StorageMode.Postgres),
            load.Read(parse),
            new RecoverySiloSettings(!string.Equals(parse.GetValue(topology), "cohosted", StringComparison.OrdinalIgnoreCase), parse.GetValue(tenants), parse.GetValue(jobs),
                TimeSpan.FromSeconds(parse.GetValue(load.Duration)), TimeSpan.FromSeconds(parse.GetValue(timeout))))));
        return command;
    }

    private static Command HangfireServer()
    {
        var command = new Command("hangfire-server", "(internal) Runs the Hangfire server of the hangfire scenario until standard input closes.") { Hidden = true };
        var connection = new Option<string>("--connection") { Required = true };
        var peer = new HangfireOptions();
        command.Options.Add(connection);
        peer.AddTo(command);
        command.SetAction(parse => HangfireServerProcess.Run(parse.GetValue(connection)!, peer.ReadPeer(parse)));
        return command;
    }

    private static Task<int> Repeat(string scenario, string[] args, ParseResult parse, Func<int, Task<Reporting.RunResult>> runOnce) =>
        RunLoop.RepeatAsync(scenario, args, parse.GetValue(CommonOptions.Repeat), parse.GetValue(CommonOptions.Out),
            TimeSpan.FromSeconds(parse.GetValue(CommonOptions.QuietWait)), runOnce);
}
