using Grpc.Core;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Scenarios;

public sealed record RecoverySiloSettings(bool StandaloneGateway, int ProbeTenants, int ProbeJobs, TimeSpan After, TimeSpan ProbeTimeout);

/// <summary>
/// Two silos on PostgreSQL under a steady load; one is killed with SIGKILL. Measured: kill → every probe answers again
/// (a set of tenants read over REST and a set of acknowledged jobs read over gRPC, whose grains are spread over both
/// silos), kill → the survivor's /status shows the dead silo; and, after the load has run on and drained, the jobs
/// that were acknowledged but did not end Succeeded (must be 0).
/// </summary>
public static class RecoverySiloScenario
{
    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, LoadSettings load, RecoverySiloSettings settings)
    {
        await using var target = await MeshTarget.StartAsync(targetOptions with { Mode = StorageMode.Postgres }, silos: 2, standaloneGateway: settings.StandaloneGateway);
        try
        {
            await WaitAsync(async () => (await target.Operator.StatusAsync())?["cluster"]?["activeSilos"]?.GetValue<int>() == 2, TimeSpan.FromSeconds(60),
                "two active silos");
            await using var mesh = await MeshLoad.StartAsync(target, load);
            var probeTenants = await target.Operator.CreateTenantsAsync(settings.ProbeTenants, "p" + Guid.NewGuid().ToString("N")[..6]);

            using var submitter = BenchJobs.Create(load.Protocol, target, mesh.Tenants);
            var generator = new LoadGenerator(submitter, mesh.Window, mesh.Ledger, null)
            {
                Producers = load.Producers,
                Tenants = mesh.Tenants.Count,
                Rate = load.Rate,
                WatchEvery = 0,
            };
            using var stop = new CancellationTokenSource();
            var producing = generator.RunAsync(stop.Token);
            Progress.Say($"load {(load.Rate is { } r ? $"{r:0}/s" : "max")}; warming up {load.Warmup.TotalSeconds:0} s");
            await Task.Delay(load.Warmup);

            var probeJobs = mesh.Ledger.Jobs.Reverse().Take(settings.ProbeJobs).ToList();
            var victim = target.Silos[1];
            mesh.Window.Open(Ticks.Now);
            var errorsBefore = mesh.Ledger.Errors;
            Progress.Say($"SIGKILL silo 2 (pid {victim.ProcessId})");
            var killedAt = Ticks.Now;
            victim.Kill();

            var deadTask = WaitDeadAsync(target, killedAt, settings.ProbeTimeout);
            var everFailed = new HashSet<string>(StringComparer.Ordinal);
            double recovered = double.NaN;
            var rounds = 0;
            while (Ticks.MsSince(killedAt) < settings.ProbeTimeout.TotalMilliseconds)
            {
                rounds++;
                var failing = await ProbeAsync(target, probeTenants, probeJobs, mesh.Tenants);
                everFailed.UnionWith(failing);
                if (failing.Count == 0 && rounds > 1)
                {
                    recovered = Ticks.MsSince(killedAt) / 1000;
                    break;
                }

                await Task.Delay(100);
            }

            Progress.Say(double.IsNaN(recovered) ? "  probes did not all recover" : $"  every probe served again after {recovered:0.00} s");
            var dead = await deadTask;
            await Task.Delay(settings.After);
            mesh.Window.Close(Ticks.Now);
            await stop.CancelAsync();
            await producing;

            Progress.Say("draining and verifying every acknowledged job…");
            var verification = await mesh.VerifyAsync();
            var run = new RunResult();
            run.Add("kill → silo Dead in /status", "s", dead);
            run.Add("kill → every probed grain served again", "s", recovered);
            run.Add("probes that failed at some point", everFailed.Count);
            run.Add("probes in all", probeTenants.Count + probeJobs.Count);
            run.Add("submit errors after the kill", mesh.Ledger.Errors - errorsBefore);
            run.AddLatency("submit ack after the kill", generator.SubmitLatency.Summarize());
            ThroughputScenario.AddVerification(run, verification);
            ThroughputScenario.AddErrors(run, mesh.Ledger);
            run.Notes.Add($"2 silos on PostgreSQL, {(settings.StandaloneGateway ? "a standalone gateway (Orleans client) in front" : "gateway co-hosted in silo 1")}; " +
                $"silo 2 killed; {mesh.Fleet.Description}");
            run.Notes.Add($"probes every 100 ms: {probeTenants.Count} tenants (GET /v1/tenants/{{id}}) and the last {probeJobs.Count} jobs acknowledged before the kill (gRPC Get)");
            if (everFailed.Count == 0)
            {
                run.Notes.Add("no probe ever failed: none of the probed grains lived on the killed silo, or they moved before the first probe");
            }

            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
    }

    private static async Task<List<string>> ProbeAsync(MeshTarget target, IReadOnlyList<BenchTenant> tenants, List<AckedJob> jobs, IReadOnlyList<BenchTenant> jobTenants)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var client = new Jobs.JobsClient(target.Channel);
        var tenantProbes = tenants.Select(async t => await target.Operator.TenantReadableAsync(t.TenantId, timeout.Token) ? null : "tenant " + t.TenantId);
        var jobProbes = jobs.Select(async j =>
        {
            try
            {
                await client.GetAsync(new GetJobRequest { JobId = j.JobId.ToString() }, new Metadata { { "x-api-key", jobTenants[j.Tenant].ApiKey } },
                    cancellationToken: timeout.Token);
                return null;
            }
            catch (RpcException)
            {
                return "job " + j.JobId;
            }
        });
        var results = await Task.WhenAll(tenantProbes.Concat(jobProbes));
        return [.. results.OfType<string>()];
    }

    private static async Task<double> WaitDeadAsync(MeshTarget target, long killedAt, TimeSpan timeout)
    {
        while (Ticks.MsSince(killedAt) < timeout.TotalMilliseconds)
        {
            var status = await target.Operator.StatusAsync();
            if (status?["cluster"]?["members"]?.AsArray().Any(m => m?["status"]?.GetValue<string>() == "Dead") == true)
            {
                return Ticks.MsSince(killedAt) / 1000;
            }

            await Task.Delay(100);
        }

        return double.NaN;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(250);
        }
    }
}
