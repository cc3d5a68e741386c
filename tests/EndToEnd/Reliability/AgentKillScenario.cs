using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Scenario b: one silo on PostgreSQL (gateway co-hosted) and the whole fleet in one AgentSim process. Under load the
/// process is SIGKILLed (every agent dies mid-job, its connections with it), stays down a moment and is started again
/// with the same agent ids. The jobs it held must run again elsewhere (or on the restarted agents) once the mesh has
/// declared the agents dead or their leases have expired. Nothing lost: every acknowledged job Succeeded with
/// exactly one terminal result; the jobs in flight at the kill are the re-runs.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class AgentKillScenario(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>
    /// Three missed heartbeats (3 s) + the grace before death (2 s) or a lease (5 s), with room for a loaded machine.
    /// A job delayed by the kill is done within the outage (kill → every restarted agent connected, measured: a
    /// process start takes as long as the machine makes it) plus this, from its submit.
    /// </summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Sigkill_every_agent_at_once_then_restart_them_and_nothing_acknowledged_is_lost()
    {
        var profile = ReliabilityProfile.Current;
        var report = new ScenarioReport("agents-kill", profile, output);
        var database = await postgres.CreateDatabaseAsync();
        await using var mesh = await ReliabilityMesh.StartSiloAsync(database, "rel-agents");
        report.Log("silo (gateway co-hosted) ready");

        var (tenantId, key) = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("rel-agents");
        var idPrefix = capability + "-";
        var fleet = AgentSimProcess.Start(mesh.GrpcUrl, profile, capability, idPrefix);
        await using var restarted = new ProcessSlot();
        try
        {
            await fleet.WaitConnectedAsync(profile.Agents, TimeSpan.FromSeconds(60));
            report.Log($"agent simulator process up: {profile.Agents} agents connected");
            await using var load = mesh.NewLoad(profile, key, capability, capability);
            load.Start();
            await ScenarioSteps.WarmUpAsync(profile, load, database, tenantId, report);

            // Kill while the agents hold work.
            await Eventually.WaitAsync(() => Task.FromResult(fleet.LastStats?.InFlight ?? 0), n => n > 0, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
            var before = fleet.LastStats;
            var orphans = await JobAudit.InFlightAsync(database, tenantId);
            var killedAt = DateTimeOffset.UtcNow;
            fleet.Kill();
            report.Log($"SIGKILL of the agent simulator ({profile.Agents} agents; last figures: {before}) with {orphans.Count} job(s) leased");

            await Task.Delay(profile.AgentDowntime);
            var restartAt = DateTimeOffset.UtcNow;
            restarted.Process = AgentSimProcess.Start(mesh.GrpcUrl, profile, capability, idPrefix);
            await restarted.Process.WaitConnectedAsync(profile.Agents, TimeSpan.FromSeconds(60));
            var reconnected = DateTimeOffset.UtcNow - restartAt;
            report.Log($"restarted after {profile.AgentDowntime.TotalSeconds:0} s down; all {profile.Agents} agents connected {reconnected.TotalSeconds:0.0} s later");

            var orphansDone = await ScenarioSteps.OrphansDoneAsync(database, orphans, killedAt, TimeSpan.FromSeconds(60));
            report.Log($"jobs in flight at the kill all done {orphansDone?.TotalSeconds:0.0} s after it");
            var orphanRows = await JobAudit.JobsAsync(database, orphans);
            await Task.Delay(profile.Aftermath);

            report.Figure("fault", $"SIGKILL of the AgentSim process: all {profile.Agents} agents, {orphans.Count} job(s) leased to them");
            report.Figure("agents down", profile.AgentDowntime);
            report.Figure("restarted agents all connected", reconnected);
            report.Figure("jobs in flight at the kill: last completed", orphansDone);
            report.Figure("jobs in flight at the kill: run again", $"{orphanRows.Values.Count(j => j.Attempts > 1)} of {orphans.Count} with more than one attempt");
            report.Figure("submits after the kill", ScenarioSteps.SubmitImpact(load, killedAt));
            await ScenarioSteps.DrainAndAuditAsync(profile, mesh, tenantId, load, report, killedAt, restartAt + reconnected - killedAt + Recovery,
                $"restarted agents' results: {restarted.Process.LastStats?.Completed} accepted, {restarted.Process.LastStats?.Refused} refused");
            Assert.All(orphans, id => Assert.True(orphanRows[id].Attempts >= 2 || orphanRows[id].CompletedAt <= killedAt.AddSeconds(1),
                $"Job {id}, leased to a killed agent, Succeeded in attempt {orphanRows[id].Attempts}: its interrupted run was not retried"));
        }
        finally
        {
            await fleet.DisposeAsync();
        }
    }

    /// <summary>Holds the restarted simulator so that it is disposed however the test ends.</summary>
    private sealed class ProcessSlot : IAsyncDisposable
    {
        public AgentSimProcess? Process { get; set; }

        public ValueTask DisposeAsync() => Process?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
