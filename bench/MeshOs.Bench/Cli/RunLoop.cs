using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Scenarios;

namespace MeshOs.Bench.Cli;

/// <summary>Runs a scenario --repeat times, prints each run and the medians, and writes the JSON file.</summary>
internal static class RunLoop
{
    public static async Task<int> RepeatAsync(string scenario, IReadOnlyList<string> args, int repeat, string? outPath, TimeSpan quietWait,
        Func<int, Task<RunResult>> runOnce)
    {
        var report = new BenchReport(scenario, args);
        for (var i = 1; i <= Math.Max(1, repeat); i++)
        {
            var busy = await QuietMachine.WaitAsync(quietWait);
            Progress.Say($"{scenario}: run {i} of {repeat} (machine busy before the run: {busy:0.00} cores)");
            if (busy > 0.15)
            {
                Console.WriteLine($"  warning: other processes use {busy:0.00} of {Environment.ProcessorCount} cores; the figures will be disturbed");
            }

            var run = await runOnce(i);
            run.Add("machine busy before the run", "cores", busy);
            report.Runs.Add(run);
            BenchReport.PrintRun(i, run);
        }

        report.PrintSummary();
        var path = await report.SaveAsync(outPath);
        Console.WriteLine($"\nresults: {path}");
        var failures = report.Runs.SelectMany((run, i) => run.Failures.Select(f => $"run {i + 1}: {f}")).ToList();
        if (failures.Count > 0)
        {
            Console.Error.WriteLine($"\n{scenario} FAILED ({failures.Count} finding(s)):");
            failures.ForEach(f => Console.Error.WriteLine("  ✗ " + f));
            return 1;
        }

        return 0;
    }
}
