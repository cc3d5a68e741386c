using System.Collections.Immutable;
using System.Diagnostics;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Cluster.Healing;

/// <summary>Each automatic action of the healing supervisor, on a real (in-process) cluster with short intervals.</summary>
[Collection(HealingClusterCollection.Name)]
public sealed class HealingActionsClusterTests(HealingClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private IGrainFactory Grains => fixture.Grains;

    private IHealingSupervisorGrain Healing => fixture.Healing;

    [Fact]
    public async Task A_dead_agents_leased_job_is_revoked_and_requeued_long_before_its_lease_expires()
    {
        var pool = HealingClusterFixture.NewPool("revoke");
        await using var dying = await new TestAgent(Grains, pool, "heal").StartAsync();
        await using var survivor = await new TestAgent(Grains, pool, "heal").StartAsync();
        var job = await TestJobs.SubmitAsync(Grains, TestJobs.Spec(pool, "heal"));
        var first = await TestJobs.LeaseAndStartAsync(Grains, job, dying);
        dying.Leases = [new LeaseRef(first.JobId, first.Epoch)];
        await dying.BeatAsync(); // renews the 10 s lease

        var silentAt = await dying.StopHeartbeatsAsync();
        var clock = Stopwatch.StartNew();

        // Back in its queue (after the job's 100–200 ms retry backoff), well before the 10 s lease would have expired.
        var queue = Grains.GetGrain<IQueueGrain>(new QueueKey(pool, "heal", 0).ToString());
        var taken = await Poll.UntilAsync(() => queue.TakeAsync("healing-test", 10, 0, TimeSpan.Zero), t => t.Jobs.Length == 1, Timeout,
            "the job of the dead agent back in its queue");
        var requeuedAfter = clock.Elapsed;
        Assert.Equal(first.JobId, taken.Jobs.Single().JobId);
        Assert.True(requeuedAfter < HealingClusterFixture.LeaseDuration / 2, $"re-queued only after {requeuedAfter.TotalSeconds:0.0} s");
        Assert.True(requeuedAfter >= HealingClusterFixture.UnresponsiveAfter, $"re-queued after {requeuedAfter.TotalSeconds:0.0} s: before the agent was even Unresponsive");

        var record = (await job.GetAsync(null))!;
        Assert.Equal(JobStatus.Pending, record.Status);
        Assert.Equal(1, record.Attempts);
        Assert.Null(record.AgentId);
        Assert.Equal("lease revoked: agent declared dead", record.Error);

        var remediations = await Poll.RemediationsAsync(Healing, dying.Id);
        var dead = remediations.First(r => r.Step == RemediationStep.DeclaredDead);
        var reassign = remediations.First(r => r.Step == RemediationStep.Reassign);
        Assert.True(dead.Automatic && reassign.Automatic);
        Assert.Equal("1 leased job(s) returned to their queues at once", reassign.Detail);
        Assert.True(dead.At - silentAt >= HealingClusterFixture.UnresponsiveAfter + HealingClusterFixture.DeadAfter - TimeSpan.FromMilliseconds(150),
            $"declared dead {(dead.At - silentAt).TotalSeconds:0.00} s after falling silent: the grace was not honoured");
        Assert.Equal(AgentState.Unresponsive, (await dying.InfoAsync()).State);

        // The job runs elsewhere; the dead agent, back with its stale lease, is told to drop it and cannot report a result.
        var second = await job.LeaseAsync(survivor.Id, TimeSpan.Zero);
        Assert.Equal(first.Epoch + 1, second!.Epoch);
        var ack = await dying.BeatAsync();
        Assert.Equal(new LeaseRef(first.JobId, first.Epoch), Assert.Single(ack.RevokedLeases));
        var stale = await Assert.ThrowsAsync<MeshException>(() =>
            job.CompleteAsync(dying.Id, first.Epoch, new JobResult(true, "{\"by\":\"dead\"}", null, false, JobUsage.None)));
        Assert.Equal(MeshErrorCode.StaleEpoch, stale.Code);
        var done = await job.CompleteAsync(survivor.Id, second.Epoch, new JobResult(true, "{\"by\":\"survivor\"}", null, false, JobUsage.None));
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(2, done.Attempts);
        Assert.Equal("{\"by\":\"survivor\"}", done.ResultJson);
    }

    [Fact]
    public async Task A_dead_agent_is_restarted_through_its_runtime_immediately_then_with_doubling_backoff()
    {
        var pool = HealingClusterFixture.NewPool("runtime");
        var runtimeId = "rt-" + Guid.NewGuid().ToString("N")[..8];
        var runtime = new RecordingRuntime();
        var session = Grains.CreateObjectReference<IRuntimeObserver>(runtime);
        var runtimeGrain = Grains.GetGrain<IRuntimeGrain>($"platform/{runtimeId}");
        await using var agent = new TestAgent(Grains, pool, "heal", runtime: runtimeId);
        await runtimeGrain.AttachAsync(session, [agent.Id]);
        await agent.StartAsync();
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "agent Healthy");

        // The runtime does not bring it back until the third order: the orders must come at 0, +0.4 s, +0.8 s more.
        runtime.OnOrder = async id =>
        {
            if (runtime.Orders.Count == 3)
            {
                await agent.RegisterAsync();
                agent.StartHeartbeats();
            }
        };
        await agent.StopHeartbeatsAsync();

        var orders = await Poll.UntilAsync(() => Task.FromResult(runtime.Orders.ToArray()), o => o.Length >= 3, Timeout, "three restart orders");
        Assert.All(orders, o => Assert.Equal(agent.Id, o.AgentId));
        Assert.Equal(["healing: restart 1", "healing: restart 2", "healing: restart 3"], orders.Take(3).Select(o => o.Reason));

        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "agent Healthy after the runtime restarted it");

        var remediations = await Poll.UntilAsync(() => Poll.RemediationsAsync(Healing, agent.Id),
            r => r.Any(x => x.Step == RemediationStep.Restart && x.Detail.StartsWith("back Healthy", StringComparison.Ordinal)), Timeout,
            "the restart recorded as done");
        var restarts = remediations.Where(r => r.Step == RemediationStep.Restart && r.Detail.StartsWith("restart ", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "restart 1 through its runtime; next in 0 s if still dead",
            "restart 2 through its runtime; next in 1 s if still dead",
            "restart 3 through its runtime; next in 1 s if still dead",
        ], restarts.Take(3).Select(r => r.Detail));

        // The ladder: immediate on death, then 400 ms, then 800 ms (the supervisor ticks every 100 ms).
        var dead = remediations.Single(r => r.Step == RemediationStep.DeclaredDead);
        Assert.Equal(dead.At, restarts[0].At);
        AssertGap(restarts[0].At, restarts[1].At, HealingClusterFixture.RestartInitialBackoff);
        AssertGap(restarts[1].At, restarts[2].At, HealingClusterFixture.RestartInitialBackoff * 2);
        Assert.Contains("(3 restart(s))", remediations.Last(r => r.Step == RemediationStep.Restart).Detail, StringComparison.Ordinal);

        // Back: no more orders.
        var ordersWhenBack = runtime.Orders.Count;
        await Task.Delay(HealingClusterFixture.RestartMaxBackoff + TimeSpan.FromMilliseconds(300));
        Assert.Equal(ordersWhenBack, runtime.Orders.Count);
        var runtimeInfo = await runtimeGrain.GetAsync();
        Assert.True(runtimeInfo.Connected);
        Assert.Equal(ordersWhenBack, runtimeInfo.Restarts);
        GC.KeepAlive(runtime);
        Grains.DeleteObjectReference<IRuntimeObserver>(session);
    }

    [Fact]
    public async Task A_dead_agent_without_a_connected_runtime_is_restarted_with_a_command_down_its_channel()
    {
        var pool = HealingClusterFixture.NewPool("command");
        var plainChannel = new RecordingChannel();
        var orphanChannel = new RecordingChannel();
        var plainRef = Grains.CreateObjectReference<IAgentChannelObserver>(plainChannel);
        var orphanRef = Grains.CreateObjectReference<IAgentChannelObserver>(orphanChannel);

        // One agent names no runtime; the other names one that never connected.
        await using var plain = await new TestAgent(Grains, pool, "heal", channel: plainRef).StartAsync();
        await using var orphan = await new TestAgent(Grains, pool, "heal", runtime: "rt-never-connected", channel: orphanRef).StartAsync();
        await Task.WhenAll(plain.StopHeartbeatsAsync(), orphan.StopHeartbeatsAsync());

        foreach (var (agent, channel) in new[] { (plain, plainChannel), (orphan, orphanChannel) })
        {
            var command = await Poll.UntilAsync(() => Task.FromResult(channel.Commands.ToArray()),
                c => c.Any(x => x.Kind == AgentCommandKind.Restart), Timeout, $"a restart command to {agent.Id}");
            Assert.Equal(new AgentCommand(AgentCommandKind.Restart, null, "healing: restart 1"), command.First(c => c.Kind == AgentCommandKind.Restart));
            Assert.Contains(AgentState.Unresponsive, channel.States);
            var restart = (await Poll.RemediationsAsync(Healing, agent.Id)).First(r => r.Step == RemediationStep.Restart);
            Assert.StartsWith("restart 1 through a command;", restart.Detail, StringComparison.Ordinal);
        }

        GC.KeepAlive(plainChannel);
        GC.KeepAlive(orphanChannel);
    }

    [Fact]
    public async Task An_agent_failing_K_times_is_quarantined_released_after_probation_then_by_an_operator()
    {
        var pool = HealingClusterFixture.NewPool("quarantine");
        await using var agent = await new TestAgent(Grains, pool, "heal").StartAsync();

        // Failure 1: dies and comes back (restarted: it registers again).
        await DieAndWaitForDeathAsync(agent, deaths: 1);
        await agent.StartAsync();
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "Healthy after the first death");
        Assert.DoesNotContain(await Poll.RemediationsAsync(Healing, agent.Id), r => r.Step == RemediationStep.Quarantine);

        // Failure 2 within the window: quarantined with probation.
        await DieAndWaitForDeathAsync(agent, deaths: 2);
        var quarantined = await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Quarantined, Timeout, "Quarantined after K failures");
        Assert.True(quarantined.Quarantined);
        Assert.NotNull(quarantined.ProbationUntil);
        var quarantine = (await Poll.RemediationsAsync(Healing, agent.Id)).Single(r => r.Step == RemediationStep.Quarantine);
        Assert.Equal("2 failures within 5 min; probation 1.5 s", quarantine.Detail);
        Assert.Equal(quarantine.At + HealingClusterFixture.Probation, quarantined.ProbationUntil!.Value, TimeSpan.FromMilliseconds(200));

        // It heartbeats again but stays out of work until the probation passes, then is Healthy by itself.
        agent.StartHeartbeats();
        await Task.Delay(300);
        Assert.Equal(AgentState.Quarantined, (await agent.InfoAsync()).State);
        var released = await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "released after probation");
        Assert.False(released.Quarantined);
        Assert.Null(released.ProbationUntil);
        Assert.Equal("probation passed", released.StateReason);
        Assert.True(DateTimeOffset.UtcNow >= quarantined.ProbationUntil.Value - TimeSpan.FromMilliseconds(50));

        // Another failure while the earlier ones are still within the window: quarantined again at once; an operator releases it.
        await DieAndWaitForDeathAsync(agent, deaths: 3);
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Quarantined, Timeout, "Quarantined again");
        agent.StartHeartbeats();
        var manual = await agent.Grain.ReleaseAsync("released by the operator");
        Assert.Equal(AgentState.Healthy, manual.State);
        Assert.False(manual.Quarantined);
        Assert.Null(manual.ProbationUntil);
        Assert.Equal("released by the operator", manual.StateReason);
        await Task.Delay(300);
        Assert.Equal(AgentState.Healthy, (await agent.InfoAsync()).State);

        // Every rung was recorded: deaths, reassignments, restarts, two quarantines.
        var steps = (await Poll.RemediationsAsync(Healing, agent.Id)).Select(r => r.Step).ToList();
        Assert.Equal(3, steps.Count(s => s == RemediationStep.DeclaredDead));
        Assert.Equal(3, steps.Count(s => s == RemediationStep.Reassign));
        Assert.Equal(2, steps.Count(s => s == RemediationStep.Quarantine));
    }

    // The issue asks for every rung of the ladder to be recorded, "(4) probation and automatic release" included.
    [Fact]
    public async Task The_automatic_release_after_probation_is_recorded_as_a_remediation()
    {
        var pool = HealingClusterFixture.NewPool("probation");
        await using var agent = await new TestAgent(Grains, pool, "heal").StartAsync();
        await DieAndWaitForDeathAsync(agent, deaths: 1);
        await agent.StartAsync();
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "Healthy after the first death");
        await DieAndWaitForDeathAsync(agent, deaths: 2);
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Quarantined, Timeout, "Quarantined");
        agent.StartHeartbeats();
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "released after probation");

        await Poll.UntilAsync(() => Poll.RemediationsAsync(Healing, agent.Id), r => r.Any(x => x.Step == RemediationStep.Release), TimeSpan.FromSeconds(2),
            "a Release remediation for the probation that passed");
    }

    // Disconnected is not dead, and back is back: an agent that resumed heartbeating after being Unresponsive (a network
    // blip, a long pause) and then really dies must be noticed again after UnresponsiveAfter, not only when its
    // Offline timer comes round minutes later.
    [Fact]
    public async Task An_agent_that_came_back_by_heartbeating_and_falls_silent_again_is_declared_dead_again()
    {
        var pool = HealingClusterFixture.NewPool("relapse");
        await using var agent = await new TestAgent(Grains, pool, "heal").StartAsync();
        await DieAndWaitForDeathAsync(agent, deaths: 1);
        agent.StartHeartbeats(); // no new registration: its heartbeats simply resume
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "Healthy again after heartbeats resumed");

        await agent.StopHeartbeatsAsync();
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Unresponsive,
            HealingClusterFixture.UnresponsiveAfter + TimeSpan.FromSeconds(2), "Unresponsive again after the second silence");
        await DieAndWaitForDeathAsync(agent, deaths: 2);
    }

    [Fact]
    public async Task A_job_running_past_its_timeout_is_cancelled_on_its_agent_retried_then_dead_lettered()
    {
        var pool = HealingClusterFixture.NewPool("stuck");
        var channel = new RecordingChannel();
        var channelRef = Grains.CreateObjectReference<IAgentChannelObserver>(channel);
        await using var agent = await new TestAgent(Grains, pool, "heal", channel: channelRef).StartAsync();
        var job = await TestJobs.SubmitAsync(Grains, TestJobs.Spec(pool, "heal", timeout: TimeSpan.FromMilliseconds(200), maxAttempts: 2));

        var first = await TestJobs.LeaseAndStartAsync(Grains, job, agent);
        agent.Leases = [new LeaseRef(first.JobId, first.Epoch)]; // still heartbeating: the agent is alive, the job is stuck
        var retried = await Poll.UntilAsync(() => job.GetAsync(null), j => j!.Status == JobStatus.Pending, Timeout, "retried after its timeout");
        Assert.Equal(1, retried!.Attempts);
        Assert.StartsWith("timed out after", retried.Error, StringComparison.Ordinal);
        await Poll.UntilAsync(() => Task.FromResult(channel.Commands.ToArray()), c => c.Any(x => x.Kind == AgentCommandKind.CancelJob), Timeout, "cancel command");
        Assert.Equal(new AgentCommand(AgentCommandKind.CancelJob, first.JobId, "timed out", first.Epoch), channel.Commands.First(c => c.Kind == AgentCommandKind.CancelJob));

        await Poll.UntilAsync(() => job.LeaseAsync(agent.Id, TimeSpan.Zero), g => g is not null, Timeout, "second lease after the retry backoff");
        var record = (await job.GetAsync(null))!;
        await job.StartAsync(agent.Id, record.Epoch);
        agent.Leases = [new LeaseRef(first.JobId, record.Epoch)];
        var dead = await Poll.UntilAsync(() => job.GetAsync(null), j => j!.Status.IsTerminal(), Timeout, "dead-lettered after its last timeout");
        Assert.Equal(JobStatus.DeadLettered, dead!.Status);
        Assert.Equal(2, dead.Attempts);

        var stuck = await Poll.UntilAsync(() => Poll.RemediationsAsync(Healing, first.JobId.ToString()), r => r.Count == 2, Timeout, "two stuck-job remediations");
        Assert.All(stuck, r => Assert.Equal(RemediationStep.StuckJob, r.Step));
        Assert.Equal(
        [
            $"ran past its timeout on {agent.Id}: cancelled there, job now Pending",
            $"ran past its timeout on {agent.Id}: cancelled there, job now DeadLettered",
        ], stuck.Select(r => r.Detail));
        agent.Leases = [];
        GC.KeepAlive(channel);
    }

    // HealingOptions.QuarantineFailures: "Failures (deaths, lost leases, timeouts) within QuarantineWindow that quarantine an agent."
    [Fact]
    public async Task An_agent_whose_jobs_keep_timing_out_is_quarantined_after_K_failures()
    {
        var pool = HealingClusterFixture.NewPool("timeouts");
        await using var agent = await new TestAgent(Grains, pool, "heal").StartAsync();
        var leases = new List<LeaseRef>();
        for (var i = 0; i < HealingClusterFixture.QuarantineFailures; i++)
        {
            var job = await TestJobs.SubmitAsync(Grains, TestJobs.Spec(pool, "heal", timeout: TimeSpan.FromMilliseconds(200), maxAttempts: 1));
            var grant = await TestJobs.LeaseAndStartAsync(Grains, job, agent);
            leases.Add(new LeaseRef(grant.JobId, grant.Epoch));
        }

        agent.Leases = [.. leases];
        foreach (var lease in leases)
        {
            await Poll.UntilAsync(() => Grains.GetGrain<IJobGrain>(lease.JobId).GetAsync(null), j => j!.Status == JobStatus.TimedOut, Timeout, "timed out");
        }

        agent.Leases = [];
        await Poll.UntilAsync(agent.InfoAsync, a => a.State == AgentState.Quarantined, TimeSpan.FromSeconds(3),
            $"{HealingClusterFixture.QuarantineFailures} timeouts on a live agent quarantine it");
    }

    [Fact]
    public async Task An_agent_failing_far_more_than_its_pool_is_Degraded_and_recovers_when_back_in_line()
    {
        var pool = HealingClusterFixture.NewPool("degrade");
        await using var good = await new TestAgent(Grains, pool, "heal").StartAsync();
        await using var bad = await new TestAgent(Grains, pool, "heal").StartAsync();
        var runTime = TimeSpan.FromMilliseconds(150); // the same for all, so that no one is judged slow

        // Pool: 50 attempts, 10 failed (20 %, under the 25 % SLO); the bad agent: 10 of 10 failed.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => TestJobs.RunAsync(Grains, good, succeed: true, runTime))
            .Concat(Enumerable.Range(0, 10).Select(_ => TestJobs.RunAsync(Grains, bad, succeed: false, runTime))));

        var degraded = await Poll.UntilAsync(bad.InfoAsync, a => a.State == AgentState.Degraded, Timeout, "the bad agent Degraded");
        Assert.StartsWith("error rate 100", degraded.StateReason, StringComparison.Ordinal);
        Assert.Equal(AgentState.Healthy, (await good.InfoAsync()).State);
        var degrade = (await Poll.RemediationsAsync(Healing, bad.Id)).Single(r => r.Step == RemediationStep.Degrade);
        Assert.True(degrade.Automatic);
        Assert.Equal(degraded.StateReason, degrade.Detail);

        // Degraded is still leasable (fewer leases); 40 successes bring it to 20 % against a pool at 11 %: back in line.
        Assert.True(MeshOs.Grains.Kernel.Agents.AgentLifecycle.IsLeasable(degraded.State));
        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => TestJobs.RunAsync(Grains, bad, succeed: true, runTime)));
        var recovered = await Poll.UntilAsync(bad.InfoAsync, a => a.State == AgentState.Healthy, Timeout, "the bad agent Healthy again");
        Assert.Equal("back in line with its pool", recovered.StateReason);
        var recover = (await Poll.RemediationsAsync(Healing, bad.Id)).Single(r => r.Step == RemediationStep.Recover);
        Assert.StartsWith("error rate ", recover.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(await Poll.RemediationsAsync(Healing, good.Id), r => r.Step is RemediationStep.Degrade or RemediationStep.Recover);
    }

    [Fact]
    public async Task Queue_pressure_above_the_threshold_for_the_duration_recommends_scaling_up_and_opens_a_P2()
    {
        var pool = HealingClusterFixture.NewPool("pressure");
        var start = DateTimeOffset.UtcNow;
        var jobs = new List<IJobGrain>();
        for (var i = 0; i < HealingClusterFixture.QueuePressureThreshold + 2; i++)
        {
            jobs.Add(await TestJobs.SubmitAsync(Grains, TestJobs.Spec(pool, "heal")));
        }

        var recorder = Grains.GetGrain<IRecordingConsumerGrain>("healing");
        var events = await Poll.UntilAsync(recorder.GetEventsAsync,
            e => e.Any(x => x.Scale?.Pool == pool), Timeout, "a ScaleRecommended event delivered to the recorder");
        var scale = events.First(x => x.Scale?.Pool == pool);
        Assert.Equal(MeshOs.Abstractions.Events.MeshEventKind.ScaleRecommended, scale.Kind);
        Assert.Null(scale.Agent);
        Assert.Null(scale.Job);
        var recommendation = scale.Scale!;
        Assert.Equal(("heal", 5, 0, 5), (recommendation.Capability, recommendation.Pending, recommendation.Capacity, recommendation.SuggestedAdditionalAgents));
        Assert.True(recommendation.At - start >= HealingClusterFixture.QueuePressureDuration,
            $"recommended {(recommendation.At - start).TotalSeconds:0.00} s after the backlog began: before the pressure lasted its duration");
        Assert.StartsWith("5 jobs pending for ", recommendation.Reason, StringComparison.Ordinal);
        Assert.EndsWith(" s (threshold 3) with 0 available agent(s)", recommendation.Reason, StringComparison.Ordinal);
        Assert.Contains((await Healing.GetReportAsync(100)).Recommendations, r => r == recommendation);

        var key = $"queue-pressure:{pool}/heal";
        var incidentId = await fixture.Incidents.FindOpenAsync(key);
        Assert.NotNull(incidentId);
        var incident = (await Grains.GetGrain<MeshOs.Abstractions.Incidents.IIncidentGrain>(incidentId).GetAsync())!;
        Assert.Equal(MeshOs.Abstractions.Incidents.IncidentSeverity.P2, incident.Severity);
        Assert.Equal($"Queue {pool}/heal: capacity below demand", incident.Title);
        Assert.EndsWith("recommended: add 5 agent(s)", incident.Timeline[0].Message, StringComparison.Ordinal);
        var scaleUp = (await Poll.RemediationsAsync(Healing, $"{pool}/heal")).First();
        Assert.Equal(RemediationStep.ScaleUp, scaleUp.Step);

        // The backlog drains (cancelled here): the incident resolves itself.
        foreach (var job in jobs)
        {
            await job.CancelAsync(null, "test drains the backlog");
        }

        var resolved = await Poll.UntilAsync(() => Grains.GetGrain<MeshOs.Abstractions.Incidents.IIncidentGrain>(incidentId).GetAsync(),
            i => !i!.IsOpen, Timeout, "the pressure incident resolved");
        Assert.True(resolved!.ResolvedAutomatically);
        Assert.StartsWith($"resolved automatically (automated remediation): backlog of {pool}/heal down to ", resolved.Timeline.Single(t => t.Kind == "resolved").Message,
            StringComparison.Ordinal);
    }

    private async Task DieAndWaitForDeathAsync(TestAgent agent, int deaths)
    {
        await agent.StopHeartbeatsAsync();
        await Poll.UntilAsync(() => Poll.RemediationsAsync(Healing, agent.Id), r => r.Count(x => x.Step == RemediationStep.DeclaredDead) == deaths,
            Timeout, $"death {deaths} of {agent.Id}");
    }

    private static void AssertGap(DateTimeOffset earlier, DateTimeOffset later, TimeSpan expected)
    {
        var gap = later - earlier;
        Assert.True(gap >= expected && gap < expected + TimeSpan.FromMilliseconds(1_500),
            $"restarts {gap.TotalMilliseconds:0} ms apart; expected {expected.TotalMilliseconds:0} ms (plus scheduling slack)");
    }
}
