using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Scenario a: three silos on PostgreSQL behind one standalone gateway (the silos serve no API themselves, so the
/// fault is the silo's alone), a simulated fleet and a tenant working through the gateway. One silo is SIGKILLed
/// under load (one that hosts shards of the scenario's queue), declared dead, then started again on its former
/// ports, and the load goes on. Nothing lost: every acknowledged job Succeeded with exactly one terminal result.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class SiloKillScenario(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>
    /// After the silo is declared dead: the recovery grace of a leased job whose grain died (5 s) + a lease (5 s), with
    /// room for a loaded machine. A job delayed by the kill is done within the outage (kill → the silo restarted and
    /// active again, measured: death detection and a process start take as long as the machine makes them) plus
    /// this, from its submit.
    /// </summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Sigkill_one_silo_of_three_under_load_then_restart_it_and_nothing_acknowledged_is_lost()
    {
        var profile = ReliabilityProfile.Current;
        var report = new ScenarioReport("silo-kill", profile, output);
        var database = await postgres.CreateDatabaseAsync();
        await using var mesh = await ReliabilityMesh.StartClusterAsync(database, "rel-silo", silos: 3);
        report.Log("3 silos and the standalone gateway ready");

        var (tenantId, key) = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("rel-silo");
        await using var fleet = mesh.NewFleet(profile, capability, capability + "-");
        await fleet.StartAsync();
        await using var load = mesh.NewLoad(profile, key, capability, capability);
        load.Start();
        await ScenarioSteps.WarmUpAsync(profile, load, database, tenantId, report);

        // The victim hosts some of the queue's shards (their grains die with it), when the logs tell.
        var victim = Enumerable.Range(0, 3).MaxBy(i => QueueShardsHosted(mesh.Silos[i], capability));
        var shards = QueueShardsHosted(mesh.Silos[victim], capability);
        var orphans = await JobAudit.InFlightAsync(database, tenantId);
        var killedAt = DateTimeOffset.UtcNow;
        mesh.Silos[victim].Kill();
        report.Log($"SIGKILL silo {victim} (hosting {shards} shard(s) of the queue) with {orphans.Count} job(s) leased in the cluster");

        await mesh.WaitForActiveSilosAsync(2, TimeSpan.FromSeconds(60));
        var declaredDead = DateTimeOffset.UtcNow - killedAt;
        report.Log($"silo {victim} declared dead after {declaredDead.TotalSeconds:0.0} s");

        var restartAt = DateTimeOffset.UtcNow;
        await mesh.RestartSiloAsync(victim);
        await mesh.WaitForActiveSilosAsync(3, TimeSpan.FromSeconds(60));
        var back = DateTimeOffset.UtcNow - restartAt;
        report.Log($"silo {victim} restarted on its ports and active again after {back.TotalSeconds:0.0} s");

        var orphansDone = await ScenarioSteps.OrphansDoneAsync(database, orphans, killedAt, TimeSpan.FromSeconds(60));
        report.Log($"jobs in flight at the kill all done {orphansDone?.TotalSeconds:0.0} s after it");
        await Task.Delay(profile.Aftermath);

        var stats = fleet.GetStats();
        report.Figure("fault", $"SIGKILL of silo {victim} of 3 ({shards} queue shard(s) on it), {orphans.Count} job(s) in flight");
        report.Figure("silo declared dead", declaredDead);
        report.Figure("silo restarted and active", back);
        report.Figure("submits after the kill", ScenarioSteps.SubmitImpact(load, killedAt));
        report.Figure("jobs in flight at the kill: last completed", orphansDone);
        await ScenarioSteps.DrainAndAuditAsync(profile, mesh, tenantId, load, report, killedAt, restartAt + back - killedAt + Recovery,
            $"agents' results accepted {stats.Completed}, refused as stale {stats.Refused}");
    }

    private static int QueueShardsHosted(MeshProcess silo, string capability) =>
        silo.Output.Split('\n').Count(l => l.Contains("rebuilt from the store", StringComparison.Ordinal) && l.Contains(capability, StringComparison.Ordinal));
}
