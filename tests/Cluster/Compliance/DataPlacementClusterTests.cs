using System.Collections.Immutable;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Cluster.Compliance;

/// <summary>
/// What the dispatcher's residency and classification checks rely on in the kernel: a job's data classes travel with
/// it from the submit to the store and to the dispatcher that takes it, and a job held back (no agent of the dispatcher
/// may lease it) is not handed out again before its hold ends, frees its tenant's slot at once and is handed out after.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class DataPlacementClusterTests(MeshClusterFixture fixture)
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(1);

    private IQueueGrain Shard(string capability, int shard) => fixture.Grains.GetGrain<IQueueGrain>(new QueueKey("platform", capability, shard).ToString());

    private async Task<List<(int Shard, TakenJob Job)>> TakeAllAsync(string capability)
    {
        var taken = new List<(int, TakenJob)>();
        for (var shard = 0; shard < 2; shard++)
        {
            taken.AddRange((await Shard(capability, shard).TakeAsync("test", 100, 0, TimeSpan.Zero)).Jobs.Select(j => (shard, j)));
        }

        return taken;
    }

    [Fact]
    public async Task A_job_held_back_keeps_its_data_classes_frees_its_tenants_slot_and_is_taken_again_only_after_its_hold()
    {
        var tenant = await fixture.CreateTenantAsync();
        var capability = "cap-" + Guid.NewGuid().ToString("N")[..8];
        var jobId = Guid.CreateVersion7();
        var spec = new JobSpec("test", capability, "platform", "{}", 5, TimeSpan.FromMinutes(1), RetryPolicy.Default, null, ["phi", "pii"]);
        var submitted = await fixture.Grains.GetGrain<IJobGrain>(jobId).SubmitAsync(tenant.TenantId, spec, 100, 100);
        Assert.Equal(new[] { "phi", "pii" }, submitted.Job.Spec.DataClasses);
        Assert.Equal(new[] { "phi", "pii" }, (await MeshClusterFixture.JobStore.GetAsync(jobId))!.Spec.DataClasses);

        var (shard, taken) = Assert.Single(await TakeAllAsync(capability));
        Assert.Equal((jobId, "phi,pii"), (taken.JobId, string.Join(',', taken.DataClasses)));

        await Shard(capability, shard).HoldBackAsync([taken], Hold);
        var heldAt = fixture.Clock.Now;
        var stats = await Shard(capability, shard).GetStatsAsync();
        Assert.Equal((0, 1, false), (stats.Ready, stats.Delayed, stats.InFlightByTenant.ContainsKey(tenant.TenantId)));
        Assert.Empty(await TakeAllAsync(capability));

        var again = await fixture.Clock.UntilAsync(() => TakeAllAsync(capability), jobs => jobs.Count == 1, Hold + TimeSpan.FromSeconds(1), "the held job offered again");
        Assert.True(fixture.Clock.Now - heldAt >= Hold, $"offered again {(fixture.Clock.Now - heldAt).TotalSeconds:0.0} s after it was held back");
        Assert.Equal((jobId, true, "phi,pii"), (again[0].Job.JobId, again[0].Job.HandedBack, string.Join(',', again[0].Job.DataClasses)));
        Assert.Equal(JobStatus.Pending, (await MeshClusterFixture.JobStore.GetAsync(jobId))!.Status);
        await Shard(capability, shard).ReturnAsync([again[0].Job]);
    }
}
