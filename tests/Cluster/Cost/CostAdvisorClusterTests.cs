using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Tests.Cluster.Healing;

namespace MeshOs.Tests.Cluster.Cost;

/// <summary>
/// The cost advisor's API and the runtime side of scale orders on a cluster: a runtime's scalable pools (its owner's
/// own only) are listed while it is attached, scale orders reach its session only for those pools, and the advisor
/// refuses bad policies, unknown recommendations and blank dismissals.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class CostAdvisorClusterTests(MeshClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_runtime_scales_only_its_owners_pools_and_only_while_attached()
    {
        var name = Guid.NewGuid().ToString("N")[..8];
        var pool = $"platform/scale-{name}";
        var foreign = $"acme-{name}/pool";
        var runtime = new RecordingRuntime();
        var session = Grains.CreateObjectReference<IRuntimeObserver>(runtime);
        var runtimeGrain = Grains.GetGrain<IRuntimeGrain>($"platform/rt-{name}");

        await runtimeGrain.AttachAsync(session, ["a-1"], [pool, foreign]);

        Assert.Equal([$"platform/rt-{name}"], (await Grains.GetGrain<IPoolScalersGrain>(pool).ListAsync()).AsEnumerable());
        Assert.Empty(await Grains.GetGrain<IPoolScalersGrain>(foreign).ListAsync());
        Assert.Equal([pool], (await runtimeGrain.GetAsync()).ScalablePools.AsEnumerable());
        Assert.True(await runtimeGrain.ScaleAsync(new ScaleOrder("rec-1", pool, "echo", 2, [], "test")));
        Assert.False(await runtimeGrain.ScaleAsync(new ScaleOrder("rec-2", foreign, null, 1, [], "test")));
        var order = await Eventually(() => runtime.ScaleOrders.TryPeek(out var o) ? o : null);
        Assert.Equal(("rec-1", pool, "echo", 2), (order.OrderId, order.Pool, order.Capability, order.Start));

        await runtimeGrain.DetachAsync(session);
        Assert.Empty(await Grains.GetGrain<IPoolScalersGrain>(pool).ListAsync());
        Assert.False(await runtimeGrain.ScaleAsync(new ScaleOrder("rec-3", pool, null, 1, [], "test")));
        Grains.DeleteObjectReference<IRuntimeObserver>(session);
    }

    [Fact]
    public async Task The_advisor_keeps_a_policy_per_pool_and_refuses_bad_input()
    {
        var advisor = Grains.GetGrain<ICostAdvisorGrain>(0);
        var pool = "platform/policy-" + Guid.NewGuid().ToString("N")[..8];

        Assert.False((await advisor.GetPolicyAsync(pool)).Enabled);
        var bad = await Assert.ThrowsAsync<MeshException>(() => advisor.PutPolicyAsync(new AutoscalePolicy(pool, true, 5, 4, TimeSpan.FromMinutes(1))));
        Assert.Equal(MeshErrorCode.InvalidArgument, bad.Code);
        Assert.StartsWith("minAgents:", bad.Message, StringComparison.Ordinal);
        Assert.False((await advisor.GetPolicyAsync(pool)).Enabled);

        var put = await advisor.PutPolicyAsync(new AutoscalePolicy(pool, true, 1, 4, TimeSpan.FromMinutes(1)));
        Assert.Equal(put, await advisor.GetPolicyAsync(pool));
        Assert.Equal((true, 1, 4), (put.Enabled, put.MinAgents, put.MaxAgents));

        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => advisor.ApplyAsync("rec-404404", "op"))).Code);
        Assert.Equal(MeshErrorCode.InvalidArgument, (await Assert.ThrowsAsync<MeshException>(() => advisor.DismissAsync("rec-404404", " ", "op"))).Code);
        Assert.Empty(await advisor.ListAsync(new RecommendationFilter(Pool: pool)));
    }

    private static async Task<T> Eventually<T>(Func<T?> read) where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (read() is not { } value)
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing arrived within 10 s");
            await Task.Delay(20);
        }

        return read()!;
    }
}
