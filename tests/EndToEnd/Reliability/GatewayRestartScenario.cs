using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Scenario e: one silo on PostgreSQL serving no API itself, and the standalone gateway in front of it, through which
/// the simulated fleet (the agent SDK: reconnecting with backoff) and the tenant's gRPC client work. The gateway is
/// SIGKILLed under load and started again on the same ports after the profile's downtime. Agents and clients must
/// reconnect by themselves, and every acknowledged job must complete. Nothing lost: every acknowledged job Succeeded
/// with exactly one terminal result (jobs whose results were in flight through the dead gateway are re-reported or
/// re-run).
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class GatewayRestartScenario(PostgresFixture postgres, ITestOutputHelper output)
{
    /// <summary>
    /// After the gateway is back: the agents' reconnection (at most 2 s apart) + a lease (5 s) for the jobs held
    /// through the dead gateway + the lease sweep (1 s), with room for a loaded machine. A job delayed by the kill is
    /// done within the outage (kill → restarted gateway ready, measured: a process start takes as long as the machine
    /// makes it) plus this, from its submit.
    /// </summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task Sigkill_the_gateway_under_load_and_restart_it_agents_and_clients_reconnect_and_nothing_acknowledged_is_lost()
    {
        var profile = ReliabilityProfile.Current;
        var report = new ScenarioReport("gateway-restart", profile, output);
        var database = await postgres.CreateDatabaseAsync();
        await using var mesh = await ReliabilityMesh.StartClusterAsync(database, "rel-gateway", silos: 1);
        report.Log($"silo and standalone gateway ready; agents and clients use {mesh.GrpcUrl}");

        var (tenantId, key) = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("rel-gateway");
        await using var fleet = mesh.NewFleet(profile, capability, capability + "-");
        await fleet.StartAsync();
        await using var load = mesh.NewLoad(profile, key, capability, capability);
        load.Start();
        await ScenarioSteps.WarmUpAsync(profile, load, database, tenantId, report);

        var orphans = await JobAudit.InFlightAsync(database, tenantId);
        var killedAt = DateTimeOffset.UtcNow;
        mesh.KillGateway();
        report.Log($"SIGKILL of the gateway with {orphans.Count} job(s) leased through it");
        await Task.Delay(profile.AgentDowntime);

        var restartAt = DateTimeOffset.UtcNow;
        await mesh.RestartGatewayAsync();
        var ready = DateTimeOffset.UtcNow - restartAt;
        report.Log($"gateway restarted on the same ports, ready after {ready.TotalSeconds:0.0} s");

        var connected = await Eventually.WaitAsync(() => Task.FromResult(fleet.GetStats().Connected), n => n == profile.Agents,
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        var agentsBack = DateTimeOffset.UtcNow - restartAt;
        report.Log($"{connected} of {profile.Agents} agents reconnected {agentsBack.TotalSeconds:0.0} s after the restart began");
        var recovered = await Eventually.WaitAsync(() => Task.FromResult(load.FirstAcknowledgedSince(restartAt)), t => t is not null,
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));
        var submitsBack = recovered?.EndedAt - restartAt;
        report.Log($"submits succeed again {submitsBack?.TotalSeconds:0.0} s after the restart began");
        var orphansDone = await ScenarioSteps.OrphansDoneAsync(database, orphans, killedAt, TimeSpan.FromSeconds(60));
        report.Log($"jobs in flight at the kill all done {orphansDone?.TotalSeconds:0.0} s after it");
        await Task.Delay(profile.Aftermath);

        var stats = fleet.GetStats();
        report.Figure("fault", $"SIGKILL of the standalone gateway, down {profile.AgentDowntime.TotalSeconds:0} s, {orphans.Count} job(s) in flight");
        report.Figure("gateway ready again (restart → ready)", ready);
        report.Figure("all agents reconnected (after the restart began)", connected == profile.Agents ? agentsBack : null);
        report.Figure("submits succeed again (after the restart began)", submitsBack);
        report.Figure("jobs in flight at the kill: last completed", orphansDone);
        report.Figure("submits after the kill", ScenarioSteps.SubmitImpact(load, killedAt));
        await ScenarioSteps.DrainAndAuditAsync(profile, mesh, tenantId, load, report, killedAt, restartAt + ready - killedAt + Recovery,
            $"agents' results accepted {stats.Completed}, refused {stats.Refused}");

        Assert.Equal(profile.Agents, connected);
        Assert.NotNull(submitsBack);
    }
}
