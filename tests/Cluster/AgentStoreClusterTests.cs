using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;

namespace MeshOs.Tests.Cluster;

/// <summary>Agent grains as the single writers of their records in the agent store (shared by both silos, as one database).</summary>
[Collection(MeshClusterCollection.Name)]
public sealed class AgentStoreClusterTests(MeshClusterFixture fixture)
{
    [Fact]
    public async Task A_registration_writes_the_record_with_its_event_and_a_reconnect_that_changes_nothing_writes_nothing()
    {
        var registration = Registration();
        var agent = fixture.Grains.GetGrain<IAgentGrain>(registration.AgentId);

        await agent.RegisterAsync(registration, null);
        await agent.RegisterAsync(registration with { Capabilities = [.. registration.Capabilities] }, null);
        await agent.HeartbeatAsync(new AgentHeartbeat(0, [], System.Collections.Immutable.ImmutableDictionary<string, double>.Empty));

        var stored = await MeshClusterFixture.AgentStore.GetAsync(registration.AgentId);
        Assert.Equal((1L, AgentState.Healthy, "registered"), (stored!.Version, stored.State, stored.StateReason));
        Assert.Equal([(AgentState.Registering, AgentState.Healthy)], await TransitionsAsync(registration.AgentId));

        await agent.RegisterAsync(registration with { Version = "2.0" }, null);

        stored = await MeshClusterFixture.AgentStore.GetAsync(registration.AgentId);
        Assert.Equal((2L, "2.0", "re-registered"), (stored!.Version, stored.Registration.Version, stored.StateReason));
        Assert.Single(await TransitionsAsync(registration.AgentId)); // no state change, no event
    }

    [Fact]
    public async Task A_stale_activation_cannot_overwrite_a_newer_record_and_the_next_call_reads_the_stored_one()
    {
        var registration = Registration();
        var agent = fixture.Grains.GetGrain<IAgentGrain>(registration.AgentId);
        await agent.RegisterAsync(registration, null);

        // Another activation of the same agent (a silo failover) quarantined it meanwhile.
        var first = (await MeshClusterFixture.AgentStore.GetAsync(registration.AgentId))!;
        var elsewhere = first with { State = AgentState.Quarantined, StateReason = "quarantined elsewhere", QuarantineHold = true, Version = first.Version + 1 };
        Assert.True(await MeshClusterFixture.AgentStore.WriteAsync(elsewhere, []));

        var refused = await Assert.ThrowsAsync<MeshException>(() => agent.DrainAsync("drain from the stale activation"));

        Assert.Equal(MeshErrorCode.Unavailable, refused.Code);
        Assert.Equal(elsewhere, await MeshClusterFixture.AgentStore.GetAsync(registration.AgentId));
        Assert.Equal([(AgentState.Registering, AgentState.Healthy)], await TransitionsAsync(registration.AgentId));
        var info = await agent.GetAsync();
        Assert.Equal((AgentState.Quarantined, true, "quarantined elsewhere"), (info!.State, info.Quarantined, info.StateReason));
    }

    private static AgentRegistration Registration() =>
        new("agent-" + Guid.NewGuid().ToString("N")[..10], "platform", "platform", ["llm"], 2, "1.0", "local", 0.1m);

    private static async Task<List<(AgentState From, AgentState To)>> TransitionsAsync(string agentId) =>
        [.. (await MeshClusterFixture.EventLog.ReadAsync(0, int.MaxValue))
            .Select(e => e.PayloadAs<AgentStateChanged>())
            .Where(a => a?.AgentId == agentId)
            .Select(a => (a!.From, a.To))];
}
