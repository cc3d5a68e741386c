using MeshOs.Abstractions;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Tests.Cluster;

[Collection(MeshClusterCollection.Name)]
public sealed class JobLifecycleClusterTests(MeshClusterFixture fixture)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private static JobSpec Spec(string capability, int priority = 5, int maxAttempts = 3, string? key = null) =>
        new("test", capability, "platform", "{\"n\":1}", priority, TimeSpan.FromMinutes(1),
            new RetryPolicy(maxAttempts, TimeSpan.FromMilliseconds(100), MaxBackoff, 2), key);

    private async Task<ImmutableTakeResult> TakeAllAsync(string capability, int max = 100)
    {
        var taken = new List<TakenJob>();
        for (var shard = 0; shard < 2; shard++)
        {
            var result = await fixture.Grains.GetGrain<IQueueGrain>(new QueueKey("platform", capability, shard).ToString())
                .TakeAsync("test", max, 0, TimeSpan.Zero);
            taken.AddRange(result.Jobs);
        }

        return new ImmutableTakeResult(taken);
    }

    [Fact]
    public async Task Submitted_job_is_leased_completed_and_reported_once()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var job = fixture.Grains.GetGrain<IJobGrain>(jobId);

        var submitted = await job.SubmitAsync(tenant.TenantId, Spec(capability), 100, 100);
        Assert.True(submitted.Created);
        Assert.Equal(JobStatus.Pending, submitted.Job.Status);

        var taken = await TakeAllAsync(capability);
        Assert.Equal([jobId], taken.Jobs.Select(t => t.JobId));

        var grant = await job.LeaseAsync("agent-1", "1.0.0", TimeSpan.Zero);
        Assert.NotNull(grant);
        Assert.Equal(1, grant.Epoch);
        Assert.Equal(1, grant.Attempt);

        await job.StartAsync("agent-1", grant.Epoch);
        var done = await job.CompleteAsync("agent-1", grant.Epoch, new JobResult(true, "{\"ok\":true}", null, false, new JobUsage(10, 20, 0.5m)));
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal("{\"ok\":true}", done.ResultJson);

        var stored = await MeshClusterFixture.JobStore.GetAsync(jobId);
        Assert.Equal(JobStatus.Succeeded, stored!.Status);
        Assert.Equal(("agent-1", "1.0.0"), (stored.AgentId, stored.AgentVersion)); // the finished job keeps who ran it
        Assert.Equal(new JobUsage(10, 20, 0.5m), stored.Usage);

        // A repeated report of the same result is answered with the same record; a stale epoch is refused.
        var again = await job.CompleteAsync("agent-1", grant.Epoch, new JobResult(true, "{\"ok\":true}", null, false, JobUsage.None));
        Assert.Equal(done.Version, again.Version);
        var stale = await Assert.ThrowsAsync<MeshException>(() => job.CompleteAsync("agent-1", grant.Epoch - 1, new JobResult(false, null, "x", true, JobUsage.None)));
        Assert.Equal(MeshErrorCode.StaleEpoch, stale.Code);
    }

    [Fact]
    public async Task A_report_under_the_lease_of_a_cancelled_job_is_refused_as_finished_naming_its_status()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var job = fixture.Grains.GetGrain<IJobGrain>(Guid.CreateVersion7());
        await job.SubmitAsync(tenant.TenantId, Spec(capability), 100, 100);
        await TakeAllAsync(capability);
        var grant = await job.LeaseAsync("agent-1", "1.0.0", TimeSpan.Zero);
        await job.StartAsync("agent-1", grant!.Epoch);
        var cancelled = await job.CancelAsync(tenant.TenantId, "no longer needed");

        var late = await Assert.ThrowsAsync<MeshException>(() => job.CompleteAsync("agent-1", grant.Epoch, new JobResult(true, "{}", null, false, JobUsage.None)));
        Assert.Equal((MeshErrorCode.Finished, "Cancelled"), (late.Code, late.State));
        var start = await Assert.ThrowsAsync<MeshException>(() => job.StartAsync("agent-1", grant.Epoch));
        Assert.Equal((MeshErrorCode.Finished, "Cancelled"), (start.Code, start.State));
        Assert.Equal(cancelled, await job.GetAsync(null));
    }

    [Fact]
    public async Task A_second_submit_under_the_same_job_id_with_another_spec_is_refused_and_the_same_spec_returns_the_job()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var job = fixture.Grains.GetGrain<IJobGrain>(Guid.CreateVersion7());
        var first = await job.SubmitAsync(tenant.TenantId, Spec(capability, key: "order-1"), 100, 100);

        var other = await Assert.ThrowsAsync<MeshException>(() => job.SubmitAsync(tenant.TenantId, Spec(capability, priority: 6, key: "order-1"), 100, 100));
        Assert.Equal(MeshErrorCode.IdempotencyKeyReused, other.Code);
        Assert.Contains("order-1", other.Message, StringComparison.Ordinal);
        var same = await job.SubmitAsync(tenant.TenantId, Spec(capability, key: "order-1"), 100, 100);
        Assert.False(same.Created);
        Assert.Equal(first.Job, same.Job);
    }

    [Fact]
    public async Task Expired_lease_returns_the_job_and_fences_the_old_agent()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var job = fixture.Grains.GetGrain<IJobGrain>(jobId);
        await job.SubmitAsync(tenant.TenantId, Spec(capability), 100, 100);
        await TakeAllAsync(capability);
        var first = await job.LeaseAsync("agent-a", "1.0.0", TimeSpan.Zero);
        Assert.NotNull(first);
        var leasedAt = fixture.Clock.Now;

        // No renewals: the 2 s lease expires, the job goes back to Pending and is queued again after its backoff
        // (the queue's sweep and reconciliation are the fallbacks that bound it).
        var requeued = await fixture.Clock.UntilAsync(async () => (await TakeAllAsync(capability)).Jobs, jobs => jobs.Count == 1,
            MeshClusterFixture.LeaseDuration + MaxBackoff + MeshClusterFixture.ReconcileInterval, "the job back in its queue after its lease expired");
        Assert.Equal(jobId, requeued.Single().JobId);
        Assert.True(fixture.Clock.Now - leasedAt >= MeshClusterFixture.LeaseDuration,
            $"back in its queue {(fixture.Clock.Now - leasedAt).TotalSeconds:0.0} s after it was leased: before the lease expired");
        var record = await job.GetAsync(null);
        Assert.Equal(JobStatus.Pending, record!.Status);
        Assert.Equal(1, record.Attempts);

        var second = await job.LeaseAsync("agent-b", "1.0.0", TimeSpan.Zero);
        Assert.Equal(first.Epoch + 1, second!.Epoch);

        var refused = await Assert.ThrowsAsync<MeshException>(() => job.CompleteAsync("agent-a", first.Epoch, new JobResult(true, "{}", null, false, JobUsage.None)));
        Assert.Equal(MeshErrorCode.StaleEpoch, refused.Code);
        var done = await job.CompleteAsync("agent-b", second.Epoch, new JobResult(true, "{\"by\":\"b\"}", null, false, JobUsage.None));
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(2, done.Attempts);
    }

    [Fact]
    public async Task A_lease_another_activation_wrote_and_never_ended_is_expired_by_the_queue_sweep_though_the_copy_here_is_older()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var job = fixture.Grains.GetGrain<IJobGrain>(jobId);
        var submitted = (await job.SubmitAsync(tenant.TenantId, Spec(capability), 100, 100)).Job;

        // While a killed silo's directory partition is rebuilt a second activation can lease the job and die with the
        // grant undelivered: the store says Leased (epoch 1) and this activation still holds Pending (epoch 0).
        var now = fixture.Clock.Now;
        var ghost = submitted with
        {
            Status = JobStatus.Leased, Attempts = 1, AgentId = "agent-gone", Epoch = 1, LeaseExpiresAt = now + MeshClusterFixture.LeaseDuration,
            LeasedAt = now, Version = submitted.Version + 1, UpdatedAt = now,
        };
        Assert.True(await MeshClusterFixture.JobStore.UpdateAsync(ghost, []));

        var recovered = await fixture.Clock.UntilAsync(() => MeshClusterFixture.JobStore.GetAsync(jobId), j => j!.Status != JobStatus.Leased,
            MeshClusterFixture.LeaseDuration + MeshClusterFixture.LeaseSweepInterval + MeshClusterFixture.RecoveryGrace + TimeSpan.FromSeconds(1),
            "the lapsed lease expired by the queue's sweep");
        Assert.Equal((JobStatus.Pending, 1, 1L, (string?)null), (recovered!.Status, recovered.Attempts, recovered.Epoch, recovered.AgentId));
        Assert.Equal("lease expired: the agent stopped renewing it", recovered.Error);
        Assert.Equal(recovered, await job.GetAsync(null));
    }

    [Fact]
    public async Task Concurrent_duplicate_submits_make_one_job()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var submits = Enumerable.Range(0, 50)
            .Select(_ => fixture.Grains.GetGrain<IJobGrain>(jobId).SubmitAsync(tenant.TenantId, Spec(capability, key: "k1"), 100, 100))
            .ToArray();
        var outcomes = await Task.WhenAll(submits);
        Assert.Single(outcomes, o => o.Created);
        Assert.All(outcomes, o => Assert.Equal(jobId, o.Job.JobId));
        Assert.Single((await TakeAllAsync(capability)).Jobs);
    }

    [Fact]
    public async Task Events_reach_registered_consumers_with_the_attempts_and_the_version_of_their_agent()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var job = fixture.Grains.GetGrain<IJobGrain>(jobId);
        await job.SubmitAsync(tenant.TenantId, Spec(capability), 100, 100);
        await TakeAllAsync(capability);
        var grant = await job.LeaseAsync("agent-e", "2.4.0-rc.1", TimeSpan.Zero);
        await job.CompleteAsync("agent-e", grant!.Epoch, new JobResult(false, null, "boom", true, new JobUsage(1, 2, 0.25m)));

        var recorder = fixture.Grains.GetGrain<IRecordingConsumerGrain>("all");
        var events = await fixture.Clock.UntilAsync(
            async () => (await recorder.GetEventsAsync()).Where(e => e.PayloadAs<JobAttemptEnded>()?.JobId == jobId).ToList(),
            list => list.Count > 0, MeshClusterFixture.PumpInterval + fixture.Clock.Step, "the attempt's event delivered to the recorder");
        var attempt = Assert.IsType<JobAttemptEnded>(events.Single().Payload);
        Assert.Equal(MeshEventKind.JobAttemptEnded, events.Single().Kind);
        Assert.Equal((tenant.TenantId, jobId.ToString()), (events.Single().TenantId, events.Single().CorrelationId));
        Assert.Equal("failed", attempt.Outcome);
        Assert.Equal(JobStatus.Pending, attempt.Status);
        Assert.False(attempt.Terminal);
        Assert.Equal("agent-e", attempt.AgentId);
        Assert.Equal("2.4.0-rc.1", attempt.AgentVersion);
        Assert.Equal(new JobUsage(1, 2, 0.25m), attempt.Usage);
        Assert.Null((await MeshClusterFixture.JobStore.GetAsync(jobId))!.AgentVersion); // Pending again: no agent holds it
    }

    private sealed record ImmutableTakeResult(List<TakenJob> Jobs);
}
