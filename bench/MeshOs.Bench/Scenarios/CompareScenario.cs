using MeshOs.Bench.Peer;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Testing;

namespace MeshOs.Bench.Scenarios;

/// <summary>
/// MeshOs (PostgreSQL mode) and Hangfire.PostgreSql back to back on the same PostgreSQL server, with the same producers,
/// rate and windows, each in a fresh database; prints both and the ratios.
/// </summary>
public static class CompareScenario
{
    private static readonly string[] Compared =
    [
        "submitted (acknowledged)", "completed (Succeeded)", "submit ack p50", "submit ack p99", "dispatch p50", "dispatch p99",
        "CPU postgres", "pg commits", "lost (acknowledged − Succeeded)",
    ];

    public static async Task<RunResult> RunAsync(TargetOptions target, LoadSettings mesh, HangfireRunSettings hangfire)
    {
        Console.WriteLine("  starting the shared PostgreSQL…");
        await using var postgres = await PostgresServer.CreateAsync();
        Progress.Say("MeshOs…");
        var meshRun = await ThroughputScenario.RunAsync(target with { Mode = StorageMode.Postgres }, mesh, postgres);
        Progress.Say("Hangfire…");
        var peerRun = await HangfireScenario.RunAsync(hangfire, postgres);

        var run = new RunResult();
        foreach (var metric in meshRun.Metrics)
        {
            run.Add("MeshOs: " + metric.Name, metric.Unit, metric.Value);
        }

        foreach (var metric in peerRun.Metrics)
        {
            run.Add("Hangfire: " + metric.Name, metric.Unit, metric.Value);
        }

        var meshCompleted = meshRun.Find("completed (Succeeded)") ?? double.NaN;
        var peerCompleted = peerRun.Find("completed (Succeeded)") ?? double.NaN;
        run.Add("ratio MeshOs/Hangfire completed/s", "×", meshCompleted / peerCompleted);
        run.Add("ratio MeshOs/Hangfire submitted/s", "×", (meshRun.Find("submitted (acknowledged)") ?? double.NaN) / (peerRun.Find("submitted (acknowledged)") ?? double.NaN));
        run.Add("ratio Hangfire/MeshOs submit ack p99", "×", (peerRun.Find("submit ack p99") ?? double.NaN) / (meshRun.Find("submit ack p99") ?? double.NaN));
        run.Add("ratio Hangfire/MeshOs dispatch p99", "×", (peerRun.Find("dispatch p99") ?? double.NaN) / (meshRun.Find("dispatch p99") ?? double.NaN));
        run.Notes.AddRange(meshRun.Notes.Select(n => "MeshOs: " + n));
        run.Notes.AddRange(peerRun.Notes.Select(n => "Hangfire: " + n));
        run.Details["meshOs"] = meshRun.Details;
        run.Details["hangfire"] = peerRun.Details;
        run.Details["compared"] = Compared.ToDictionary(name => name, name => new { MeshOs = meshRun.Find(name), Hangfire = peerRun.Find(name) });
        return run;
    }
}
