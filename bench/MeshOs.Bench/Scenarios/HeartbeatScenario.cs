using System.Collections.Concurrent;
using System.Globalization;
using MeshOs.Bench.Agents;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Scenarios;

/// <summary>The heartbeat capacity workload.</summary>
public sealed record HeartbeatSettings(IReadOnlyList<int> Steps, TimeSpan Interval, int MeasuredIntervals, double P99LimitMs, int ConnectConcurrency,
    bool StandaloneGateway = true);

/// <summary>
/// N idle agents (lean raw-protocol clients: register, then only heartbeat) on one silo, N stepping up. Per step: the
/// registration rate and its CPU cost per agent, the heartbeat round trip (written → HeartbeatAck read) over whole
/// intervals, heartbeats left without an ack and agents the mesh declared Unresponsive (both must be 0: the step fails
/// loudly otherwise), and resident memory; the largest N whose p99 stays within the limit, and memory per idle agent =
/// (RSS with N − RSS with 0) / N. Each agent heartbeats from its registration on, as a real agent does (they used to
/// wait for the whole step to register, so a step that took longer than three intervals to register had its first
/// agents declared Unresponsive by the mesh — correctly). By default the agents' streams end on a standalone gateway in
/// front of the silo (the cluster shape), so the silo's figure is what an agent costs the silo (its grain and directory
/// entry) and the gateway's what its open stream costs; with the gateway co-hosted both land in the one process.
/// </summary>
public static class HeartbeatScenario
{
    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, HeartbeatSettings settings)
    {
        var interval = settings.Interval.ToString("c", CultureInfo.InvariantCulture);
        await using var target = await MeshTarget.StartAsync(targetOptions.With(new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = interval,
        }), silos: 1, standaloneGateway: settings.StandaloneGateway);
        using var stateChanges = new AgentStateChanges(target.SiloMetricsUrls, target.DatabaseConnectionString);
        var agents = new List<LeanAgent>();
        var heartbeats = new ConcurrentQueue<Task>();
        using var stop = new CancellationTokenSource();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            var rssIdle = target.RssMiB();
            var siloIdle = SiloRssMiB(target);
            var gatewayIdle = GatewayRssMiB(target);
            var window = new WindowClock();
            var sinks = new LeanAgentSinks(window);
            var client = new AgentChannel.AgentChannelClient(target.Channel);
            var run = new RunResult();
            run.Add("server RSS with 0 agents", "MiB", rssIdle);
            var largestPassing = 0;
            var stillPassing = true;
            var idPrefix = "hb-" + Guid.NewGuid().ToString("N")[..6];
            foreach (var n in settings.Steps)
            {
                Progress.Say($"step {n} agents: connecting {n - agents.Count} more…");
                var statements = targetOptions.PgStatements && target.DatabaseConnectionString is { } db ? db : null;
                if (statements is not null)
                {
                    await StatementStats.ResetAsync(statements);
                }

                var unresponsiveBefore = await stateChanges.DeclaredUnresponsiveAsync();
                var lostBefore = sinks.HeartbeatsLost;
                var registrationCpu = new CpuMeter(target.ServerPids, target.PostmasterPid);
                var gatewayCpu = new CpuMeter(target.Gateway is { } g ? [g.ProcessId] : [], null);
                registrationCpu.Start();
                gatewayCpu.Start();
                var connectStart = Ticks.Now;
                var (added, failed) = await LeanAgents.ConnectManyAsync(client, target.EnrollmentToken, idPrefix, agents.Count, n - agents.Count,
                    settings.ConnectConcurrency, sinks, agent => heartbeats.Enqueue(agent.HeartbeatLoopAsync(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * settings.Interval.TotalMilliseconds), stop.Token)));
                var connectSeconds = Ticks.MsSince(connectStart) / 1000;
                var registering = registrationCpu.Stop();
                var gatewayRegistering = gatewayCpu.Stop();
                agents.AddRange(added);
                Progress.Say($"  {added.Count} registered in {connectSeconds:0.0} s; settling one interval");
                if (statements is not null)
                {
                    var top = await StatementStats.TopAsync(statements);
                    run.Details[$"@{n} pgStatStatements while registering"] = top;
                    Console.WriteLine("  pg_stat_statements while registering, by total time:");
                    top.ToList().ForEach(line => Console.WriteLine("    " + line));
                }
                await Task.Delay(settings.Interval);

                var cpu = new CpuMeter(target.ServerPids, target.PostmasterPid);
                window.Open(Ticks.Now);
                cpu.Start();
                await Task.Delay(settings.Interval * settings.MeasuredIntervals);
                window.Close(Ticks.Now);
                var usage = cpu.Stop();
                await Task.Delay(TimeSpan.FromSeconds(2)); // the last acks of the window
                var rtt = sinks.HeartbeatRoundTrip.Drain();
                var rss = target.RssMiB();
                var siloRss = SiloRssMiB(target);
                var gatewayRss = GatewayRssMiB(target);
                var dead = agents.Count(a => a.Completion.IsCompleted);
                var lost = sinks.HeartbeatsLost - lostBefore;
                var unresponsiveAfter = await stateChanges.DeclaredUnresponsiveAsync();
                double unresponsive = unresponsiveBefore is { } b && unresponsiveAfter is { } a ? a - b : double.NaN;

                var prefix = $"@{n} ";
                var perAgentMs = added.Count == 0 ? double.NaN : connectSeconds * 1000 / added.Count;
                run.Add(prefix + "registration rate", "/s", added.Count / connectSeconds);
                run.Add(prefix + "registrations failed", failed);
                run.Add(prefix + "registration CPU per agent: server", "ms", registering.Server * perAgentMs);
                if (target.Gateway is not null)
                {
                    run.Add(prefix + "registration CPU per agent: of it the gateway", "ms", gatewayRegistering.Server * perAgentMs);
                }

                run.Add(prefix + "registration CPU per agent: postgres", "ms", registering.Postgres * perAgentMs);
                run.Add(prefix + "registration CPU per agent: bench", "ms", registering.Bench * perAgentMs);
                run.Add(prefix + "CPU machine while registering", "cores", registering.Machine);
                run.AddLatency(prefix + "heartbeat RTT", rtt);
                run.Add(prefix + "heartbeats without ack", lost);
                run.Add(prefix + "agents declared Unresponsive", unresponsive);
                run.Add(prefix + "streams ended", dead);
                run.Add(prefix + "server RSS", "MiB", rss);
                run.Add(prefix + "memory per idle agent", "KiB", (rss - rssIdle) * 1024 / n);
                if (target.Gateway is not null)
                {
                    run.Add(prefix + "silo RSS", "MiB", siloRss);
                    run.Add(prefix + "silo memory per idle agent", "KiB", (siloRss - siloIdle) * 1024 / n);
                    run.Add(prefix + "gateway memory per agent stream", "KiB", (gatewayRss - gatewayIdle) * 1024 / n);
                }

                run.Add(prefix + "CPU server", "cores", usage.Server);
                run.Add(prefix + "CPU bench", "cores", usage.Bench);
                run.Add(prefix + "CPU machine", "cores", usage.Machine);
                Progress.Say($"  heartbeat p50 {rtt.P50:0.0} ms p99 {rtt.P99:0.0} ms ({rtt.Count} beats), {lost} without ack, " +
                    $"{unresponsive} declared Unresponsive, RSS {rss:0} MiB, server CPU {usage.Server:0.00}");

                AddFailures(run, n, failed, dead, lost, unresponsive);
                var expected = n * settings.MeasuredIntervals;
                stillPassing &= rtt.P99 <= settings.P99LimitMs && dead == 0 && failed == 0 && lost == 0 && unresponsive == 0 && rtt.Count >= expected * 0.9;
                if (stillPassing)
                {
                    largestPassing = n;
                }
            }

            if (run.Failures.Count > 0)
            {
                // What the silo said about the agents it declared Unresponsive, and the last of what each process said.
                run.Details["silo lines about Unresponsive agents"] = target.Silos
                    .SelectMany(s => s.Output.Split('\n')).Where(l => l.Contains("Unresponsive", StringComparison.Ordinal)).Take(100).ToList();
                run.Details["process output"] = target.Tails(100);
            }

            run.Add($"largest N with heartbeat p99 ≤ {settings.P99LimitMs:0} ms", largestPassing);
            run.Add("memory per idle agent at that N", "KiB", run.Find($"@{largestPassing} memory per idle agent") ?? double.NaN);
            if (target.Gateway is not null)
            {
                run.Add("silo memory per idle agent at that N", "KiB", run.Find($"@{largestPassing} silo memory per idle agent") ?? double.NaN);
            }

            run.Notes.Add($"target: {target.ModeName}; heartbeat interval {settings.Interval.TotalSeconds:0.#} s (MeshOs:Agents:HeartbeatInterval), " +
                $"{settings.MeasuredIntervals} intervals measured per step after one of settling");
            run.Notes.Add("agents: lean raw-protocol clients in the bench process on one GrpcChannel (HTTP/2 connections added at 5,000 streams each); " +
                $"{settings.ConnectConcurrency} registrations in flight; each heartbeats from its registration on, at a random phase; a step passes when p99 is " +
                "within the limit, no stream ended, no registration failed, no heartbeat went without an ack, no agent was declared Unresponsive " +
                "and ≥ 90% of the expected beats were acked (and every step before it passed)");
            run.Notes.Add("registration CPU per agent: CPU time of the server processes, PostgreSQL and the bench while a step's agents registered, " +
                "over the agents registered; heartbeats without ack and agents declared Unresponsive: over the whole step " +
                $"(registration, settling, window); Unresponsive counted from {stateChanges.Source}");
            run.Notes.Add(target.Gateway is null
                ? "shape: gateway co-hosted in the silo (one process); memory: its VmRSS after the step minus before any agent, over N (includes garbage not yet collected)"
                : "shape: one silo and a standalone gateway (the agents' streams end on the gateway); memory: VmRSS after the step minus before any agent, over N, " +
                  "per process and summed (includes garbage not yet collected)");
            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
        finally
        {
            await LeanAgents.CloseAsync(agents, heartbeats, stop);
        }
    }

    /// <summary>What makes a step a failure, whatever its latency: unanswered heartbeats above all (the mesh did not see them).</summary>
    private static void AddFailures(RunResult run, int n, int failedRegistrations, int streamsEnded, long heartbeatsLost, double unresponsive)
    {
        if (heartbeatsLost > 0)
        {
            run.Failures.Add($"@{n}: {heartbeatsLost} heartbeat(s) got no ack before the agent's next one was due");
        }

        if (unresponsive > 0)
        {
            run.Failures.Add($"@{n}: the mesh declared {unresponsive} heartbeating agent(s) Unresponsive");
        }
        else if (double.IsNaN(unresponsive))
        {
            run.Notes.Add($"@{n}: agents declared Unresponsive could not be counted (a silo's /metrics did not answer)");
        }

        if (failedRegistrations > 0)
        {
            run.Failures.Add($"@{n}: {failedRegistrations} registration(s) failed");
        }

        if (streamsEnded > 0)
        {
            run.Failures.Add($"@{n}: {streamsEnded} agent stream(s) ended");
        }
    }

    /// <summary>The bench-started silo's resident memory; NaN for an external deployment (its server is --server-pid, counted as a whole).</summary>
    private static double SiloRssMiB(MeshTarget target) =>
        target.Silos.Count == 0 ? double.NaN : (ProcFs.RssBytes(target.Silos[0].ProcessId) ?? 0) / (1024.0 * 1024);

    private static double GatewayRssMiB(MeshTarget target) =>
        target.Gateway is { } gateway ? (ProcFs.RssBytes(gateway.ProcessId) ?? 0) / (1024.0 * 1024) : 0;
}
