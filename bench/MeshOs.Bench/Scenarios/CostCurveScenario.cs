using System.Globalization;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;

namespace MeshOs.Bench.Scenarios;

/// <summary>When a step counts as saturated.</summary>
public sealed record SaturationRule(double MinCompletedFraction, double MaxDispatchP99Ms);

/// <summary>
/// Warm-ups and window that differ from the other steps': the first step warms the server's JIT up (measuring it
/// after 5 s would measure tier-1 compilation), and the half-saturation step, which follows a saturated one, settles
/// first and is measured longer, being the step the dispatch target is read from.
/// </summary>
public sealed record CurveTiming(TimeSpan FirstWarmup, TimeSpan HalfWarmup, TimeSpan HalfDuration);

/// <summary>
/// The cost curve: the open-loop rate steps up on one deployment until saturation (completed/s falls below a fraction
/// of the target, or dispatch p99 passes a limit); per step throughput, latency and CPU. Then one more step at half
/// the saturation throughput, for the target "dispatch p99 at half the saturation rate".
/// </summary>
public static class CostCurveScenario
{
    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, LoadSettings settings, IReadOnlyList<double> rates, SaturationRule rule, CurveTiming timing)
    {
        await using var target = await MeshTarget.StartAsync(targetOptions);
        try
        {
            await using var load = await MeshLoad.StartAsync(target, settings);
            var run = new RunResult();
            var saturation = 0.0;
            var saturatedAt = double.NaN;
            foreach (var rate in rates)
            {
                var warmup = rate == rates[0] && timing.FirstWarmup > settings.Warmup ? timing.FirstWarmup : settings.Warmup;
                Progress.Say($"step {rate:0}/s: warm-up {warmup.TotalSeconds:0} s, window {settings.Duration.TotalSeconds:0} s");
                var step = await load.RunStepAsync(rate, warmup);
                AddStep(run, $"@{rate:0}/s ", step);
                saturation = Math.Max(saturation, step.CompletedPerSecond);
                Progress.Say($"  completed {step.CompletedPerSecond:0}/s, refused {step.RefusedInWindow / step.WindowSeconds:0}/s, dispatch p99 {step.Dispatch.P99:0.0} ms, server CPU {step.Cpu.Server:0.00}");
                if (step.CompletedPerSecond < rule.MinCompletedFraction * rate || !(step.Dispatch.P99 <= rule.MaxDispatchP99Ms))
                {
                    saturatedAt = rate;
                    break;
                }
            }

            run.Add("saturation throughput (max completed)", "/s", saturation);
            run.Add("first saturated step", "/s", saturatedAt);
            var half = Math.Round(saturation / 2);
            Progress.Say($"half the saturation throughput: {half:0}/s: warm-up {timing.HalfWarmup.TotalSeconds:0} s, window {timing.HalfDuration.TotalSeconds:0} s");
            var halfStep = await load.RunStepAsync(half, timing.HalfWarmup, timing.HalfDuration);
            AddStep(run, "@half ", halfStep);
            run.Add("half-saturation rate", "/s", half);
            run.Add("dispatch p99 at half saturation", "ms", halfStep.Dispatch.P99);

            Progress.Say("verifying every acknowledged job…");
            ThroughputScenario.AddVerification(run, await load.VerifyAsync());
            ThroughputScenario.AddErrors(run, load.Ledger);
            run.Notes.Add($"target: {target.ModeName}; {load.Fleet.Description}; {settings.Producers} producers over {settings.Protocol}, open loop");
            run.Notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"saturated: completed/s < {rule.MinCompletedFraction:0.00} × target, or dispatch p99 > {rule.MaxDispatchP99Ms:0} ms; between steps the backlog is drained"));
            if (double.IsNaN(saturatedAt))
            {
                run.Notes.Add("no step saturated: the saturation throughput is a lower bound; add higher --rates");
            }

            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
    }

    private static void AddStep(RunResult run, string prefix, StepMeasurement step)
    {
        run.Add(prefix + "submitted", "/s", step.SubmittedPerSecond);
        run.Add(prefix + "completed", "/s", step.CompletedPerSecond);
        run.Add(prefix + "submit errors", step.ErrorsInWindow);
        run.Add(prefix + "submits refused (429)", "/s", step.RefusedInWindow / step.WindowSeconds);
        run.Add(prefix + "submit ack p99", "ms", step.Submit.P99);
        run.Add(prefix + "dispatch p50", "ms", step.Dispatch.P50);
        run.Add(prefix + "dispatch p99", "ms", step.Dispatch.P99);
        if (step.EndToEndReportAck is { } ack)
        {
            run.Add(prefix + "end-to-end (ReportAck) p99", "ms", ack.P99);
        }

        run.Add(prefix + "end-to-end (Watch) p99", "ms", step.EndToEndWatch.P99);
        run.Add(prefix + "CPU server", "cores", step.Cpu.Server);
        run.Add(prefix + "CPU bench", "cores", step.Cpu.Bench);
        run.Add(prefix + "CPU postgres", "cores", step.Cpu.Postgres);
        if (step.Postgres is { } pg)
        {
            run.Add(prefix + "pg commits", "/s", pg.CommitsPerSecond);
        }

        if (!step.Drained)
        {
            run.Notes.Add($"{prefix.Trim()}: the backlog was not drained before the next step");
        }
    }
}
