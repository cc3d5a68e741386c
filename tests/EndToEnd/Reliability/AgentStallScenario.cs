using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Scenario d: one silo (gateway co-hosted) on PostgreSQL, a simulated fleet and the steady load, plus one
/// <see cref="StallingAgent"/> on the raw protocol. It takes jobs, says it started them, then its network stalls: no
/// heartbeats, nothing read or written, the connection still open. Its leases must end (healing declares it dead
/// after missed heartbeats and revokes them, or they expire) and its jobs run elsewhere. When it comes back and
/// reports them succeeded under its old epochs, every report is refused (ReportAck accepted = false) and changes
/// nothing: the stored jobs stay exactly as the agents that really ran them left them. Nothing lost: every
/// acknowledged job Succeeded with exactly one terminal result; the stalled agent's jobs are the duplicated executions.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class AgentStallScenario(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int StalledJobs = 4;

    /// <summary>Three missed heartbeats (3 s) + the grace before death (2 s), or a lease (5 s), with room for a loaded machine.</summary>
    private static readonly TimeSpan LatencyBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_stalled_agent_loses_its_leases_its_jobs_run_elsewhere_and_its_late_results_are_refused()
    {
        var profile = ReliabilityProfile.Current;
        var report = new ScenarioReport("agent-stall", profile, output);
        var database = await postgres.CreateDatabaseAsync();
        await using var mesh = await ReliabilityMesh.StartSiloAsync(database, "rel-stall");
        report.Log("silo (gateway co-hosted) ready");

        var (tenantId, key) = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("rel-stall");
        await using var stalling = await StallingAgent.ConnectAsync(mesh.GrpcUrl, capability + "-stalling", capability, StalledJobs);
        await using var fleet = mesh.NewFleet(profile, capability, capability + "-");
        await using var load = mesh.NewLoad(profile, key, capability, capability);
        load.Start();

        // The fleet works through the warm-up; then, under the load, the stalling agent asks for its jobs, starts
        // them and stalls at once (holding them through the warm-up would let their timeouts end the leases first).
        await fleet.StartAsync();
        await ScenarioSteps.WarmUpAsync(profile, load, database, tenantId, report);
        var taken = await stalling.TakeAsync(StalledJobs, TimeSpan.FromSeconds(30));

        await stalling.Stall();
        var stalledAt = DateTimeOffset.UtcNow;
        var ids = taken.Select(a => Guid.Parse(a.JobId)).ToList();
        report.Log($"{stalling.AgentId} stalls holding {StalledJobs} job(s) (epochs {string.Join(", ", taken.Select(a => a.Epoch))})");

        // Its jobs must run elsewhere, without it.
        var rerun = await Eventually.WaitAsync(() => JobAudit.JobsAsync(database, ids), jobs => jobs.Values.All(j => j.Status == 3),
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        var rerunAfter = rerun.Values.Max(j => j.CompletedAt) - stalledAt;
        report.Log($"its jobs succeeded elsewhere, the last {rerunAfter?.TotalSeconds:0.0} s after the stall");
        var agentState = (await MeshApi.JsonAsync(await mesh.Api.Operator.GetAsync($"/v1/agents/{stalling.AgentId}")))["state"]?.GetValue<string>();
        report.Log($"the mesh sees {stalling.AgentId} as {agentState}");

        // The network comes back: the late results under the old epochs.
        var resumedAt = DateTimeOffset.UtcNow;
        var (acks, heartbeat) = await stalling.ResumeAsync(TimeSpan.FromSeconds(30));
        var after = await JobAudit.JobsAsync(database, ids);
        report.Log($"resumed after {(resumedAt - stalledAt).TotalSeconds:0.0} s: {acks.Count(a => !a.Accepted)} of {acks.Count} late results refused " +
            $"({string.Join(" | ", acks.Select(a => a.Error).Distinct())}); heartbeat answered {heartbeat.State}, {heartbeat.Revoked.Count} lease(s) revoked");
        await Task.Delay(profile.Aftermath);

        var events = await JobAudit.AttemptEventsAsync(database, tenantId);
        var stats = fleet.GetStats();
        report.Figure("fault", $"{stalling.AgentId} stalls (no reads, no writes, connection open) holding {StalledJobs} started job(s)");
        report.Figure("mesh's view of the stalled agent", agentState ?? "unknown");
        report.Figure("its jobs done elsewhere, the last", rerunAfter);
        report.Figure("how its leases ended", string.Join(", ", ids.SelectMany(id => events[id].Where(e => e.AgentId == stalling.AgentId))
            .GroupBy(e => e.Outcome).Select(g => $"{g.Key} ×{g.Count()}")));
        report.Figure("late results under old epochs", $"{acks.Count(a => !a.Accepted)} of {acks.Count} refused; stored jobs changed by them: " +
            $"{ids.Count(id => after[id] != rerun[id])}");
        report.Figure("submits after the stall", ScenarioSteps.SubmitImpact(load, stalledAt));
        await ScenarioSteps.DrainAndAuditAsync(profile, mesh, tenantId, load, report, stalledAt, LatencyBound,
            $"of which {StalledJobs} ran on the stalled agent and elsewhere; fleet's results accepted {stats.Completed}, refused {stats.Refused}");

        Assert.All(ids, id =>
        {
            var job = rerun[id];
            Assert.NotEqual(stalling.AgentId, job.AgentId);
            Assert.True(job.Attempts >= 2, $"Job {id} succeeded in attempt {job.Attempts}");
            Assert.True(job.Epoch > taken.Single(a => a.JobId == id.ToString()).Epoch);
            Assert.DoesNotContain("late", job.Result, StringComparison.Ordinal);
        });
        Assert.All(acks, ack => Assert.False(ack.Accepted, $"The late result for {ack.JobId} under epoch {ack.Epoch} was accepted"));
        Assert.Equal(ids.Order(), acks.Select(a => Guid.Parse(a.JobId)).Order());
        Assert.All(ids, id => Assert.Equal(rerun[id], after[id]));
    }
}
