using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Routing;
using MeshOs.Tests.Cluster.Cost;

namespace MeshOs.Tests.Cluster.Routing;

/// <summary>
/// The routing learner in a cluster: attempt ends reach the pool's statistics grain through the event log (consumer
/// <c>routing</c>), with run times from the cluster's clock; a dispatcher reads only what changed; what was learned
/// is saved and comes back when the grain starts again.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class RoutingStatsClusterTests(MeshClusterFixture fixture)
{
    [Fact]
    public async Task Attempt_ends_are_learned_per_agent_and_version_read_incrementally_and_kept_across_a_restart()
    {
        var pool = "platform/route-" + Guid.NewGuid().ToString("N")[..8];
        var tenant = await fixture.CreateTenantAsync(null, pool);
        const string agentId = "route-agent-1";

        // Two successes of 100 ms and 300 ms, one failure.
        foreach (var (ms, ok) in new[] { (100, true), (300, true), (50, false) })
        {
            var (job, epoch) = await CostTestJobs.StartAsync(fixture.Grains, tenant.TenantId, pool, "route-cap", agentId);
            await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(ms));
            await job.CompleteAsync(agentId, epoch, new JobResult(ok, ok ? "{}" : null, ok ? null : "boom", false, new JobUsage(0, 0, 0.25m)));
        }

        await fixture.Grains.GetGrain<IEventPumpGrain>("routing").PumpNowAsync();
        var stats = fixture.Grains.GetGrain<IRoutingStatsGrain>(pool);
        var learned = Assert.Single((await stats.GetAsync(agentId)).Agents);
        Assert.Equal((agentId, "route-cap", "1.0.0", 3L), (learned.AgentId, learned.Capability, learned.Version, learned.Attempts));
        // Counts decay with the half-life (10 min) over the cluster clock's 300 ms and 50 ms between the ends.
        static double Decay(int ms) => Math.Pow(0.5, ms / 600_000.0);
        Assert.Equal((Decay(300) + 1) * Decay(50), learned.Successes, 12);
        Assert.Equal(1.0, learned.Failures, 12);
        Assert.Equal(200.0, learned.LatencyMs, 6); // the first two weigh 1 and 1/2: their mean
        Assert.Equal(0.25, learned.CostPerJob, 9);
        var version = Assert.Single((await stats.GetAsync(null)).Versions);
        Assert.Equal(("route-cap", "1.0.0", 2.0, 1.0, 3L), (version.Capability, version.Version, version.Successes, version.Failures, version.Attempts));
        Assert.Equal(200.0, version.LatencyMs, 9);

        // A dispatcher's first read is everything; the next, with nothing new, is nothing.
        var first = await stats.GetChangesAsync("route-cap", 0, 0);
        Assert.True(first.Full);
        Assert.Equal(agentId, Assert.Single(first.Entries).AgentId);
        Assert.Equal(TimeSpan.FromMinutes(10), first.HalfLife);
        var second = await stats.GetChangesAsync("route-cap", first.Epoch, first.Stamp);
        Assert.False(second.Full);
        Assert.Empty(second.Entries);
        Assert.Empty((await stats.GetChangesAsync("other-cap", first.Epoch, first.Stamp)).Entries);

        // Saved when it stops; a new activation has it all, and tells readers of the old one to read everything.
        await stats.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        var again = await stats.GetChangesAsync("route-cap", first.Epoch, first.Stamp);
        Assert.True(again.Full);
        Assert.Equal(learned, Assert.Single(again.Entries));
    }
}
