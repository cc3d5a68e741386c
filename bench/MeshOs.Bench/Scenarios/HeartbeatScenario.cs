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
/// N idle agents (lean raw-protocol clients: register, then only heartbeat) on one silo, N stepping up. Per step the
/// heartbeat round trip (written → HeartbeatAck read) over whole intervals, and resident memory; the largest N whose
/// p99 stays within the limit, and memory per idle agent = (RSS with N − RSS with 0) / N. By default the agents'
/// streams end on a standalone gateway in front of the silo (the cluster shape), so the silo's figure is what an agent
/// costs the silo (its grain and directory entries) and the gateway's what its open stream costs; with the gateway
/// co-hosted both land in the one process.
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
        var agents = new List<LeanAgent>();
        var heartbeats = new List<Task>();
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
            foreach (var n in settings.Steps)
            {
                Progress.Say($"step {n} agents: connecting {n - agents.Count} more…");
                var connectStart = Ticks.Now;
                var (added, failed) = await ConnectAsync(client, target.EnrollmentToken, agents.Count, n - agents.Count, settings.ConnectConcurrency, sinks);
                var connectSeconds = Ticks.MsSince(connectStart) / 1000;
                agents.AddRange(added);
                heartbeats.AddRange(added.Select(a => a.HeartbeatLoopAsync(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * settings.Interval.TotalMilliseconds), stop.Token)));
                Progress.Say($"  {added.Count} registered in {connectSeconds:0.0} s; settling one interval");
                await Task.Delay(settings.Interval);

                var lostBefore = sinks.HeartbeatsLost;
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

                var prefix = $"@{n} ";
                run.Add(prefix + "registration rate", "/s", added.Count / connectSeconds);
                run.Add(prefix + "registrations failed", failed);
                run.AddLatency(prefix + "heartbeat RTT", rtt);
                run.Add(prefix + "heartbeats without ack", sinks.HeartbeatsLost - lostBefore);
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
                Progress.Say($"  heartbeat p50 {rtt.P50:0.0} ms p99 {rtt.P99:0.0} ms ({rtt.Count} beats), RSS {rss:0} MiB, server CPU {usage.Server:0.00}");
                var expected = n * settings.MeasuredIntervals;
                if (rtt.P99 <= settings.P99LimitMs && dead == 0 && failed == 0 && rtt.Count >= expected * 0.9)
                {
                    largestPassing = n;
                }
                else
                {
                    break;
                }
            }

            run.Add($"largest N with heartbeat p99 ≤ {settings.P99LimitMs:0} ms", largestPassing);
            run.Add("memory per idle agent at that N", "KiB", run.Find($"@{largestPassing} memory per idle agent") ?? double.NaN);
            if (target.Gateway is not null)
            {
                run.Add("silo memory per idle agent at that N", "KiB", run.Find($"@{largestPassing} silo memory per idle agent") ?? double.NaN);
            }

            run.Notes.Add($"target: {target.ModeName}; heartbeat interval {settings.Interval.TotalSeconds:0.#} s (MeshOs:Agents:HeartbeatInterval), " +
                $"{settings.MeasuredIntervals} intervals measured per step after one of settling");
            run.Notes.Add("agents: lean raw-protocol clients in the bench process on one GrpcChannel (HTTP/2 connections added at 5,000 streams each), " +
                "random phase; a step passes when p99 is within the limit, no stream ended and ≥ 90% of the expected beats were acked");
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
            await stop.CancelAsync();
            await Task.WhenAll(heartbeats);
            Progress.Say($"closing {agents.Count} streams…");
            foreach (var chunk in agents.Chunk(1_000))
            {
                await Task.WhenAll(chunk.Select(a => a.DisposeAsync().AsTask()));
            }
        }
    }

    private static double SiloRssMiB(MeshTarget target) => (ProcFs.RssBytes(target.Silos[0].ProcessId) ?? 0) / (1024.0 * 1024);

    private static double GatewayRssMiB(MeshTarget target) =>
        target.Gateway is { } gateway ? (ProcFs.RssBytes(gateway.ProcessId) ?? 0) / (1024.0 * 1024) : 0;

    private static async Task<(List<LeanAgent> Agents, int Failed)> ConnectAsync(AgentChannel.AgentChannelClient client, string token, int first, int count,
        int concurrency, LeanAgentSinks sinks)
    {
        var agents = new LeanAgent?[count];
        var failed = 0;
        using var gate = new SemaphoreSlim(concurrency);
        var prefix = "hb-" + Guid.NewGuid().ToString("N")[..6];
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var agent = new LeanAgent(client, token, $"{prefix}-{first + i:000000}", "heartbeat-only", 1, AssignmentHandling.Complete, sinks);
                try
                {
                    await agent.ConnectAsync(TimeSpan.FromSeconds(60));
                    agents[i] = agent;
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                    {
                        Console.Error.WriteLine($"  registration failed: {ex.Message}");
                    }

                    await agent.DisposeAsync();
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        return ([.. agents.OfType<LeanAgent>()], failed);
    }
}
