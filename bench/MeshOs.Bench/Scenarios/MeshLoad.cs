using MeshOs.Bench.Agents;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;

namespace MeshOs.Bench.Scenarios;

/// <summary>The workload of the job scenarios: producers, agents, and how long to warm up and measure.</summary>
public sealed record LoadSettings(
    SubmitProtocol Protocol,
    int Producers,
    int Tenants,
    double? Rate,
    int Agents,
    int Concurrency,
    AgentKind AgentKind,
    TimeSpan Warmup,
    TimeSpan Duration,
    int WatchEvery,
    TimeSpan DrainTimeout,
    int BatchSize = 1);

/// <summary>What one measured window gave.</summary>
public sealed record StepMeasurement(
    double? TargetRate,
    double WindowSeconds,
    double SubmittedPerSecond,
    double CompletedPerSecond,
    long ErrorsInWindow,
    long RefusedInWindow,
    long Capped,
    LatencySummary Submit,
    LatencySummary Dispatch,
    LatencySummary EndToEndWatch,
    LatencySummary? EndToEndReportAck,
    long WatchFailed,
    CpuUsage Cpu,
    PostgresActivity? Postgres,
    bool Drained);

/// <summary>
/// Tenants, agents and producers on one MeshOs, measured window by window. The ledger of acknowledged jobs spans every
/// window, so the final verification covers everything that was ever acknowledged.
/// </summary>
public sealed class MeshLoad : IAsyncDisposable
{
    private readonly MeshTarget _target;
    private readonly LoadSettings _settings;
    private readonly IJobSubmitter _submitter;

    private MeshLoad(MeshTarget target, LoadSettings settings, IReadOnlyList<BenchTenant> tenants, IBenchFleet fleet, WindowClock window)
    {
        _target = target;
        _settings = settings;
        Tenants = tenants;
        Fleet = fleet;
        Window = window;
        _submitter = BenchJobs.Create(settings.Protocol, target, tenants);
        Watcher = new WatchSampler(target.Channel, tenants);
    }

    public IReadOnlyList<BenchTenant> Tenants { get; }

    public IBenchFleet Fleet { get; }

    public WindowClock Window { get; }

    public JobLedger Ledger { get; } = new();

    public WatchSampler Watcher { get; }

    public static async Task<MeshLoad> StartAsync(MeshTarget target, LoadSettings settings)
    {
        var prefix = "b" + Guid.NewGuid().ToString("N")[..6];
        var tenants = await target.Operator.CreateTenantsAsync(settings.Tenants, prefix);
        var window = new WindowClock();
        var fleet = IBenchFleet.Create(settings.AgentKind, target, settings.Agents, settings.Concurrency, window, prefix + "-agent");
        await fleet.StartAsync();
        Progress.Say($"{settings.Tenants} tenants, {fleet.Description}");
        return new MeshLoad(target, settings, tenants, fleet, window);
    }

    /// <summary>
    /// Submits at <paramref name="rate"/> (null: as fast as possible) for the warm-up and the window, stops, waits
    /// for the agents to finish the backlog (up to the drain timeout) and returns the window's figures.
    /// </summary>
    public async Task<StepMeasurement> RunStepAsync(double? rate, TimeSpan? warmup = null, TimeSpan? duration = null)
    {
        Ledger.ResetWindowCounts();
        var generator = new LoadGenerator(_submitter, Window, Ledger, Watcher)
        {
            Producers = _settings.Producers,
            Tenants = Tenants.Count,
            Rate = rate,
            WatchEvery = _settings.WatchEvery,
            BatchSize = _settings.BatchSize,
        };
        var cpu = new CpuMeter(_target.ServerPids, _target.PostmasterPid);
        var pg = _target.DatabaseConnectionString is { } cs ? new PostgresCounters(cs) : null;

        using var stop = new CancellationTokenSource();
        var producing = generator.RunAsync(stop.Token);
        await Task.Delay(warmup ?? _settings.Warmup);

        var start = Ticks.Now;
        Window.Open(start);
        var completedAtStart = Fleet.Completed;
        cpu.Start();
        if (pg is not null)
        {
            await pg.StartAsync();
        }

        await Task.Delay(duration ?? _settings.Duration);
        var end = Ticks.Now;
        Window.Close(end);
        var completed = Fleet.Completed - completedAtStart;
        var usage = cpu.Stop();
        var activity = pg is null ? null : await pg.StopAsync();
        await stop.CancelAsync();
        await producing;

        var seconds = Ticks.ToMs(end - start) / 1000;
        var drained = await DrainAsync(_settings.DrainTimeout);
        await Watcher.DrainAsync(TimeSpan.FromSeconds(30));
        return new StepMeasurement(
            rate, seconds, Ledger.AckedInWindow / seconds, completed / seconds, Ledger.ErrorsInWindow, Ledger.RefusedInWindow, generator.Capped,
            generator.SubmitLatency.Summarize(), Fleet.Dispatch.Drain(), Watcher.EndToEnd.Drain(), Fleet.ReportAck?.Drain(),
            Watcher.Failed, usage, activity, drained);
    }

    /// <summary>
    /// Waits until as many jobs are Succeeded as were acknowledged, by the agents' count or (every second) by the
    /// server's; false on timeout.
    /// </summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var nextServerCheck = DateTime.UtcNow;
        while (Fleet.Completed < Ledger.Acked)
        {
            if (DateTime.UtcNow >= nextServerCheck)
            {
                if (await _target.SucceededJobsAsync() is { } succeeded && succeeded >= Ledger.Acked)
                {
                    return true;
                }

                nextServerCheck = DateTime.UtcNow.AddSeconds(1);
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    /// <summary>
    /// Drains (up to the drain timeout), then checks every acknowledged job; while some are not Succeeded yet and the
    /// drain time is not used up, checks again every 2 s. The drain's counts can be met early: a submit that failed on
    /// the client (a deadline, a dead silo) may still have been stored and run, and then counts among the server's
    /// Succeeded jobs while an acknowledged job is still being retried.
    /// </summary>
    public async Task<Verification> VerifyAsync()
    {
        var deadline = DateTime.UtcNow + _settings.DrainTimeout;
        await DrainAsync(_settings.DrainTimeout);
        while (true)
        {
            var verification = await JobVerifier.VerifyAsync(_target, Tenants, Ledger);
            if (verification.Lost == 0 || DateTime.UtcNow >= deadline)
            {
                return verification;
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Fleet.DisposeAsync();
        _submitter.Dispose();
        Watcher.Dispose();
    }

    /// <summary>The figures of a window, named as the reports print them.</summary>
    public static void Report(RunResult run, StepMeasurement m, string prefix = "")
    {
        run.Add(prefix + "submitted (acknowledged)", "/s", m.SubmittedPerSecond);
        run.Add(prefix + "completed (Succeeded)", "/s", m.CompletedPerSecond);
        run.Add(prefix + "submit errors", m.ErrorsInWindow);
        run.Add(prefix + "submits refused (429)", "/s", m.RefusedInWindow / m.WindowSeconds);
        if (m.TargetRate is not null)
        {
            run.Add(prefix + "submits skipped (client in-flight cap)", m.Capped);
        }

        run.AddLatency(prefix + "submit ack", m.Submit);
        run.AddLatency(prefix + "dispatch", m.Dispatch);
        if (m.EndToEndReportAck is { } ack)
        {
            run.AddLatency(prefix + "end-to-end (ReportAck)", ack);
        }

        run.AddLatency(prefix + "end-to-end (Watch sample)", m.EndToEndWatch);
        run.AddCpu(m.Cpu);
        run.AddPostgres(m.Postgres);
    }
}
