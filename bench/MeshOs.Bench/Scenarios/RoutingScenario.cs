using System.Collections.Concurrent;
using System.Globalization;
using MeshOs.AgentSdk;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;

namespace MeshOs.Bench.Scenarios;

/// <summary>One group of simulated agents: how fast, how reliable, how costly, and how it changes mid-run.</summary>
/// <param name="ChangeAt">Seconds after the load starts when the group changes (null: never).</param>
public sealed record AgentProfile(string Name, int Count, double LatencyMs, double JitterMs, double FailureRate, double CostPerHour,
    double? ChangeAt = null, double ChangedLatencyMs = 0, double ChangedFailureRate = 0);

/// <param name="Rate">Open-loop submits per second.</param>
public sealed record RoutingSettings(double Rate, TimeSpan Warmup, TimeSpan Duration, int Concurrency, int Seed, IReadOnlyList<AgentProfile> Fleet)
{
    /// <summary>
    /// The fleet: a third fast (40 ms), a tenth flaky (fast but failing 20%), the rest slow (200 ms) and cheaper
    /// per hour; three of the fast agents degrade mid-window (300 ms, failing 30%).
    /// </summary>
    public static IReadOnlyList<AgentProfile> Heterogeneous(double changeAt) =>
    [
        new("fast", 7, 40, 10, 0, 2.0),
        new("degrading", 3, 40, 10, 0, 2.0, changeAt, 300, 0.3),
        new("slow", 17, 200, 50, 0, 1.0),
        new("flaky", 3, 40, 10, 0.2, 1.0),
    ];
}

/// <summary>
/// Adaptive routing against round-robin in the same run (issue 15): the same heterogeneous AgentSim-like fleet (SDK
/// agents in the bench process, each group with its own latency, failure rate and cost; one group degrades mid-run)
/// under the same open-loop load, once per policy on a fresh embedded MeshOs. Per policy: end-to-end p50/p95 (submit
/// due time → the successful attempt's end), first-attempt success, retries per job, cost per job (each attempt's
/// agent cost per hour × its run time), and the time the mesh took to move work off the degraded agents.
/// </summary>
public static class RoutingScenario
{
    public static readonly string[] Policies = ["round-robin", "adaptive"];

    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, RoutingSettings settings)
    {
        var run = new RunResult();
        var results = new Dictionary<string, PolicyResult>(StringComparer.Ordinal);
        foreach (var policy in Policies)
        {
            Progress.Say($"policy {policy}: warm-up {settings.Warmup.TotalSeconds:0} s, window {settings.Duration.TotalSeconds:0} s at {settings.Rate:0}/s");
            var result = await RunPolicyAsync(targetOptions, settings, policy);
            results[policy] = result;
            Progress.Say($"  e2e p50 {result.EndToEnd.P50:0} ms, p95 {result.EndToEnd.P95:0} ms, first-attempt success {result.FirstAttemptSuccess:P1}, adapt {result.AdaptSeconds:0.0} s");
            run.AddLatency($"{policy} end-to-end", result.EndToEnd);
            run.Add($"{policy} completed", "/s", result.CompletedPerSecond);
            run.Add($"{policy} first-attempt success", "%", result.FirstAttemptSuccess * 100);
            run.Add($"{policy} retries per job", result.RetriesPerJob);
            run.Add($"{policy} cost per job", "$", result.CostPerJob);
            run.Add($"{policy} share of degraded agents before the change", "%", result.DegradedShareBefore * 100);
            run.Add($"{policy} share of degraded agents, last 10 s", "%", result.DegradedShareAfter * 100);
            run.Add($"{policy} time to adapt", "s", result.AdaptSeconds);
            run.Add($"{policy} CPU server", "cores", result.ServerCpu);
        }

        var rr = results["round-robin"];
        var ad = results["adaptive"];
        run.Add("p95 adaptive / round-robin", ad.EndToEnd.P95 / rr.EndToEnd.P95);
        run.Add("p50 adaptive / round-robin", ad.EndToEnd.P50 / rr.EndToEnd.P50);
        run.Add("cost per job adaptive / round-robin", ad.CostPerJob / rr.CostPerJob);
        run.Notes.Add("fleet: " + string.Join("; ", settings.Fleet.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"{p.Count} {p.Name} ({p.LatencyMs:0}±{p.JitterMs:0} ms, fails {p.FailureRate:P0}, ${p.CostPerHour:0.##}/h{(p.ChangeAt is { } at ? $", then {p.ChangedLatencyMs:0} ms failing {p.ChangedFailureRate:P0} from {at:0} s" : "")})"))));
        run.Notes.Add($"concurrency {settings.Concurrency} per agent; open loop at {settings.Rate:0}/s over gRPC; embedded MeshOs, one per policy; time to adapt: from the change until the degraded agents' share of attempts stays at or below half of what it was before (NaN: never)");
        return run;
    }

    private sealed record PolicyResult(LatencySummary EndToEnd, double CompletedPerSecond, double FirstAttemptSuccess, double RetriesPerJob,
        double CostPerJob, double DegradedShareBefore, double DegradedShareAfter, double AdaptSeconds, double ServerCpu);

    private static async Task<PolicyResult> RunPolicyAsync(TargetOptions targetOptions, RoutingSettings settings, string policy)
    {
        await using var target = await MeshTarget.StartAsync(targetOptions.With(new Dictionary<string, string>
        {
            ["MeshOs:Routing:Policy"] = policy,
            // The baseline is dispatch as it was: round-robin with the advertised concurrency (and a Degraded agent's quarter).
            ["MeshOs:Routing:AdaptiveConcurrency"] = policy == "adaptive" ? "true" : "false",
            ["MeshOs:Routing:Seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
        }));
        var tenants = await target.Operator.CreateTenantsAsync(4, "route");
        using var submitter = BenchJobs.Create(SubmitProtocol.Grpc, target, tenants);
        var start = Ticks.Now;
        var window = new Window(start + Ticks.FromSeconds(settings.Warmup.TotalSeconds),
            start + Ticks.FromSeconds((settings.Warmup + settings.Duration).TotalSeconds));
        var fleet = new HeterogeneousFleet(target, settings, start, window);
        await fleet.StartAsync();
        var cpu = new CpuMeter(target.ServerPids, null);
        cpu.Start();
        try
        {
            await SubmitAsync(submitter, tenants.Count, settings, start);
            var usage = cpu.Stop();
            // Let the window's jobs finish (retries take a backoff or two).
            var drainUntil = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (DateTime.UtcNow < drainUntil && fleet.Pending > 0)
            {
                await Task.Delay(200);
            }

            return fleet.Summarize(settings, usage.Server);
        }
        finally
        {
            await fleet.DisposeAsync();
        }
    }

    private static async Task SubmitAsync(IJobSubmitter submitter, int tenants, RoutingSettings settings, long start)
    {
        var total = (settings.Warmup + settings.Duration).TotalSeconds;
        var end = start + Ticks.FromSeconds(total);
        var interval = 1.0 / settings.Rate;
        var next = 0L;
        var inFlight = new SemaphoreSlim(512);
        var pending = new List<Task>();
        while (true)
        {
            var due = start + Ticks.FromSeconds(next * interval);
            if (due >= end)
            {
                break;
            }

            var wait = Ticks.ToMs(due - Ticks.Now);
            if (wait > 1)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait));
            }

            await inFlight.WaitAsync();
            var n = next++;
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    await submitter.SubmitAsync((int)(n % tenants), BenchJobs.Payload(due), CancellationToken.None);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Counted by the fleet as never run; the report's completed/s shows it.
                }
                finally
                {
                    inFlight.Release();
                }
            }));
            if (pending.Count > 4096)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
        }

        await Task.WhenAll(pending);
    }

    /// <summary>The SDK agents of every profile, recording each attempt.</summary>
    private sealed class HeterogeneousFleet : IAsyncDisposable
    {
        private readonly List<(MeshAgent Agent, AgentProfile Profile)> _agents = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<Attempt> _attempts = new();
        private readonly ConcurrentDictionary<Guid, bool> _open = new();
        private readonly long _start;
        private readonly Window _window;
        private readonly Random _random;
        private Task[] _runs = [];

        public HeterogeneousFleet(MeshTarget target, RoutingSettings settings, long start, Window window)
        {
            _start = start;
            _window = window;
            _random = new Random(settings.Seed);
            foreach (var profile in settings.Fleet)
            {
                for (var i = 0; i < profile.Count; i++)
                {
                    var p = profile;
                    var agent = new MeshAgent(new MeshAgentOptions
                    {
                        Endpoint = target.GrpcUrl,
                        AgentId = $"route-{p.Name}-{i:00}",
                        Capabilities = [BenchJobs.Capability],
                        MaxConcurrency = settings.Concurrency,
                        EnrollmentToken = target.EnrollmentToken,
                        Version = "bench",
                        CostPerHour = p.CostPerHour,
                    }, (job, ct) => HandleAsync(p, job, ct), channel: target.AgentsChannel);
                    _agents.Add((agent, p));
                }
            }
        }

        /// <summary>Window jobs begun and not yet succeeded or given up.</summary>
        public int Pending => _open.Count(p => p.Value);

        public async Task StartAsync()
        {
            _runs = [.. _agents.Select(a => a.Agent.RunAsync(_stop.Token))];
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!_agents.All(a => a.Agent.Connected))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"Only {_agents.Count(a => a.Agent.Connected)} of {_agents.Count} agents connected.");
                }

                await Task.Delay(50);
            }
        }

        private async Task<JobOutcome> HandleAsync(AgentProfile profile, AgentJob job, CancellationToken cancellationToken)
        {
            var began = Ticks.Now;
            var changed = profile.ChangeAt is { } at && began >= _start + Ticks.FromSeconds(at);
            double latency, draw;
            lock (_random)
            {
                latency = (changed ? profile.ChangedLatencyMs : profile.LatencyMs) + ((2 * _random.NextDouble()) - 1) * profile.JitterMs;
                draw = _random.NextDouble();
            }

            var fail = draw < (changed ? profile.ChangedFailureRate : profile.FailureRate);
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, latency)), cancellationToken);
            var due = BenchJobs.DueTicksOf(job.PayloadJson) ?? 0;
            var ended = Ticks.Now;
            var lastAttempt = job.Attempt >= 3;
            _attempts.Enqueue(new Attempt(profile.Name, profile.ChangeAt is not null, job.Attempt, !fail, due, began, ended, profile.CostPerHour));
            if (_window.Contains(due))
            {
                _open[job.JobId] = fail && !lastAttempt;
            }

            return fail ? JobOutcome.Failure("simulated failure", retryable: true) : JobOutcome.Success("{}");
        }

        public PolicyResult Summarize(RoutingSettings settings, double serverCores)
        {
            var attempts = _attempts.ToArray();
            var inWindow = attempts.Where(a => _window.Contains(a.Due)).ToArray();
            var e2e = new LatencyRecorder();
            foreach (var a in inWindow.Where(a => a.Succeeded))
            {
                e2e.Record(Ticks.ToMs(a.Ended - a.Due));
            }

            var succeeded = inWindow.Count(a => a.Succeeded);
            var first = inWindow.Where(a => a.Number == 1).ToArray();
            var jobs = Math.Max(1, first.Length);
            var cost = inWindow.Sum(a => a.CostPerHour * Ticks.ToMs(a.Ended - a.Began) / 3_600_000.0);

            // Adaptation: the degraded group's share of attempts begun per second, before and after its change.
            var changeAt = settings.Fleet.Where(p => p.ChangeAt is not null).Select(p => p.ChangeAt!.Value).DefaultIfEmpty(double.NaN).Min();
            double before = double.NaN, after = double.NaN, adapt = double.NaN;
            if (!double.IsNaN(changeAt))
            {
                var bySecond = attempts.GroupBy(a => (int)Math.Floor(Ticks.ToMs(a.Began - _start) / 1000 - changeAt))
                    .ToDictionary(g => g.Key, g => (Total: g.Count(), Changed: g.Count(a => a.Changing)));
                double Share(IEnumerable<int> seconds)
                {
                    var total = seconds.Sum(s => bySecond.TryGetValue(s, out var v) ? v.Total : 0);
                    return total == 0 ? double.NaN : seconds.Sum(s => bySecond.TryGetValue(s, out var v) ? v.Changed : 0) / (double)total;
                }

                before = Share(Enumerable.Range(-10, 10));
                var last = (int)Math.Floor((settings.Warmup + settings.Duration).TotalSeconds - changeAt);
                after = Share(Enumerable.Range(last - 10, 10));
                for (var s = 0; s + 3 <= last; s++)
                {
                    if (Enumerable.Range(s, 3).All(x => Share([x]) <= before / 2))
                    {
                        adapt = s + 1; // the second s ended fully adapted
                        break;
                    }
                }
            }

            return new PolicyResult(e2e.Drain(), succeeded / settings.Duration.TotalSeconds,
                first.Length == 0 ? double.NaN : first.Count(a => a.Succeeded) / (double)first.Length,
                inWindow.Count(a => a.Number > 1) / (double)jobs, cost / Math.Max(1, succeeded), before, after, adapt, serverCores);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_runs).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
            foreach (var (agent, _) in _agents)
            {
                await agent.DisposeAsync();
            }

            _stop.Dispose();
        }

        private readonly record struct Attempt(string Profile, bool Changing, int Number, bool Succeeded, long Due, long Began, long Ended, double CostPerHour);
    }
}
