using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Testing;

namespace MeshOs.Bench.Scenarios;

/// <summary>
/// Tenants submit no-op jobs, agents run them: throughput, latency of submit, dispatch and end to end, CPU and memory,
/// and at the end the check that every acknowledged job Succeeded.
/// </summary>
public static class ThroughputScenario
{
    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, LoadSettings settings, PostgresServer? sharedPostgres = null)
    {
        await using var target = await MeshTarget.StartAsync(targetOptions, sharedPostgres);
        try
        {
            await using var load = await MeshLoad.StartAsync(target, settings);
            Progress.Say($"load: {settings.Producers} producers over {settings.Protocol}, rate {(settings.Rate is { } r ? r.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + "/s (open loop)" : "max (closed loop)")}, " +
                $"warm-up {settings.Warmup.TotalSeconds:0} s, window {settings.Duration.TotalSeconds:0} s");
            var statements = targetOptions.PgStatements && sharedPostgres is null && target.DatabaseConnectionString is { } db ? db : null;
            if (statements is not null)
            {
                await StatementStats.ResetAsync(statements);
            }

            var step = await load.RunStepAsync(settings.Rate);
            Progress.Say("window done; verifying every acknowledged job…");
            var verification = await load.VerifyAsync();

            var run = new RunResult();
            MeshLoad.Report(run, step);
            run.Add("server peak memory (VmHWM)", "MiB", target.PeakRssMiB());
            run.Add("agent streams lost", load.Fleet.Reconnections);
            run.Add("results the agents counted as accepted", load.Fleet.Completed);
            AddVerification(run, verification);
            run.Notes.Add($"target: {target.ModeName} ({target.ServerPids.Count} server process(es)); {load.Fleet.Description}");
            run.Notes.Add("dispatch: submit due time → the agent has the assignment (same machine clock, CLOCK_MONOTONIC)");
            run.Notes.Add($"end-to-end (Watch sample): 1 in {settings.WatchEvery} window jobs watched over gRPC until Succeeded" +
                (load.Fleet.ReportAck is null ? string.Empty : "; end-to-end (ReportAck): every window job, until the mesh accepted its result (durable)"));
            if (!step.Drained)
            {
                run.Notes.Add($"the backlog was not finished {settings.DrainTimeout.TotalSeconds:0} s after the window");
            }

            AddErrors(run, load.Ledger);
            if (statements is not null)
            {
                var top = await StatementStats.TopAsync(statements);
                run.Details["pgStatStatements"] = top;
                Console.WriteLine("  pg_stat_statements (warm-up + window), by total time:");
                foreach (var line in top)
                {
                    Console.WriteLine("    " + line);
                }
            }

            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
    }

    public static void AddVerification(RunResult run, Verification verification)
    {
        run.Add("acknowledged jobs (whole run)", verification.Acknowledged);
        run.Add("of which Succeeded", verification.Succeeded);
        run.Add("lost (acknowledged − Succeeded)", verification.Lost);
        run.Details["lostExamples"] = verification.LostExamples;
        run.Details["jobTableByStatus"] = verification.StoreCounts;
        foreach (var example in verification.LostExamples)
        {
            run.Notes.Add("not Succeeded: " + example);
        }

        if (verification.StoreCounts is { } counts)
        {
            run.Notes.Add("job table: " + string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}")));
        }
    }

    public static void AddErrors(RunResult run, JobLedger ledger)
    {
        var errors = ledger.ErrorsByCode;
        run.Details["submitErrorsByCode"] = errors;
        if (errors.Count > 0)
        {
            run.Notes.Add("submit errors (whole run): " + string.Join(", ", errors.Select(e => $"{e.Key} × {e.Value}")));
        }
    }
}
