using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Tests.Postgres.JobStore;
using static MeshOs.Tests.Postgres.AgentStore.TestAgents;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;

namespace MeshOs.Tests.Postgres.AgentStore;

/// <summary>
/// The contract of <see cref="IAgentStore"/> (its XML docs), run against every backend: each backend derives from this
/// class and says how to build a fresh, empty store for each test.
/// </summary>
public abstract class AgentStoreContract : StoreContract
{
    protected IAgentStore Store => Backend.Agents;

    protected IEventLog Log => Backend.Events;

    [Fact]
    public async Task Get_returns_null_for_an_unknown_agent_and_every_field_of_a_written_one()
    {
        var full = Agent("agent-full", shard: 3) with
        {
            Registration = Registration("agent-full") with
            {
                Owner = "tenant-ü",
                Pool = "tenant-ü/gpu.eu",
                Capabilities = ["llm", "vision/v2", "a.b_c-d"],
                MaxConcurrency = 10_000,
                Version = "2.0.0-β",
                Region = "eu-west-1",
                CostPerHour = 1_234.567891m,
                Runtime = "runtime-7",
                Certifications = ["phi", "pii"],
            },
            State = AgentState.Quarantined,
            StateReason = "3 failures within 10 min ✓",
            QuarantineHold = true,
            DrainHold = true,
            ProbationUntil = At(600),
            Version = 7,
        };
        var minimal = Agent("m", shard: 0) with { Registration = Registration("m") with { Version = "", Region = "", CostPerHour = 0m } };

        Assert.Null(await Store.GetAsync("agent-full"));
        Assert.True(await Store.WriteAsync(full, []));
        Assert.True(await Store.WriteAsync(minimal, []));

        AssertSame(full, await Store.GetAsync("agent-full"));
        AssertSame(minimal, await Store.GetAsync("m"));
        Assert.Null(await Store.GetAsync("agent-ful"));
    }

    [Fact]
    public async Task A_write_applies_only_when_newer_than_the_stored_record()
    {
        var v1 = Agent("agent-1");
        var v2 = Next(v1, AgentState.Unresponsive, 20);
        var v3 = Next(v2, AgentState.Healthy, 30);

        Assert.True(await Store.WriteAsync(v1, []));
        Assert.False(await Store.WriteAsync(v1 with { State = AgentState.Degraded }, []));
        Assert.True(await Store.WriteAsync(v3, []));
        Assert.False(await Store.WriteAsync(v2, []));
        Assert.False(await Store.WriteAsync(v3 with { StateReason = "the same version again" }, []));

        AssertSame(v3, await Store.GetAsync("agent-1"));
    }

    [Fact]
    public async Task The_events_of_a_write_are_appended_with_it_and_not_when_it_is_refused()
    {
        var v1 = Agent("agent-1");
        var v2 = Next(v1, AgentState.Unresponsive, 20);

        Assert.True(await Store.WriteAsync(v1, [AgentChanged(1)]));
        Assert.False(await Store.WriteAsync(v1, [AgentChanged(2)]));
        Assert.True(await Store.WriteAsync(v2, [AgentChanged(3), AgentChanged(4)]));

        Assert.Equal(new[] { AgentChanged(1), AgentChanged(3), AgentChanged(4) }, (await Log.ReadAllAsync()).Select(e => e.Unpositioned()));
    }

    [Fact]
    public async Task A_shard_lists_only_its_agents_in_ordinal_id_order_page_by_page()
    {
        // Ordinal order: digits < upper case < lower case; '-' and '.' before digits, '_' between cases.
        string[] ids = ["b", "B", "a", "A", "0", "9z", "-x", "a_b", "a.b", "Z", "ab", "a-b"];
        foreach (var id in ids)
        {
            Assert.True(await Store.WriteAsync(Agent(id, shard: 1), []));
        }

        Assert.True(await Store.WriteAsync(Agent("other-shard", shard: 2), []));
        var expected = ids.Order(StringComparer.Ordinal).ToList();

        var listed = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await Store.ListShardAsync(1, after, 5);
            Assert.True(page.Length <= 5);
            listed.AddRange(page.Select(a => a.AgentId));
            if (page.Length < 5)
            {
                break;
            }

            after = page[^1].AgentId;
        }

        Assert.Equal(expected, listed);
        Assert.Equal(expected.Where(id => string.CompareOrdinal(id, "a") > 0), (await Store.ListShardAsync(1, "a", 100)).Select(a => a.AgentId));
        Assert.Equal(expected.Where(id => string.CompareOrdinal(id, "Ab") > 0), (await Store.ListShardAsync(1, "Ab", 100)).Select(a => a.AgentId));
        Assert.Empty(await Store.ListShardAsync(1, "z", 100));
        Assert.Empty(await Store.ListShardAsync(1, null, 0));
        Assert.Empty(await Store.ListShardAsync(7, null, 100));
        Assert.Equal(["other-shard"], (await Store.ListShardAsync(2, null, 100)).Select(a => a.AgentId));
    }

    [Fact]
    public async Task A_shard_lists_each_agent_as_last_written()
    {
        var v1 = Agent("agent-1", shard: 0);
        var v2 = Next(v1, AgentState.Unresponsive, 20);
        var moved = Next(v2, AgentState.Healthy, 30) with { DirectoryShard = 5 };
        Assert.True(await Store.WriteAsync(v1, []));
        Assert.True(await Store.WriteAsync(v2, []));

        var summary = Assert.Single(await Store.ListShardAsync(0, null, 10));
        AssertSame(v2.ToSummary(), summary);

        Assert.True(await Store.WriteAsync(moved, []));
        Assert.Empty(await Store.ListShardAsync(0, null, 10));
        AssertSame(moved.ToSummary(), Assert.Single(await Store.ListShardAsync(5, null, 10)));
    }

    [Fact]
    public async Task Concurrent_writes_of_many_agents_all_land_with_their_events()
    {
        var agents = Enumerable.Range(0, 500).Select(i => Agent($"agent-{i:000}", shard: i % 4)).ToList();

        var written = await Task.WhenAll(agents.Select((a, i) => Store.WriteAsync(a, [AgentChanged(i)])));

        Assert.All(written, Assert.True);
        for (var shard = 0; shard < 4; shard++)
        {
            Assert.Equal(
                agents.Where(a => a.DirectoryShard == shard).Select(a => a.AgentId),
                (await Store.ListShardAsync(shard, null, 1_000)).Select(a => a.AgentId));
        }

        Assert.Equal(
            Enumerable.Range(0, 500).Select(i => AgentChanged(i)),
            (await Log.ReadAllAsync()).Select(e => e.Unpositioned()).OrderBy(e => e.At));
    }
}

/// <summary>Agent records for the store tests.</summary>
internal static class TestAgents
{
    public static AgentRegistration Registration(string agentId) =>
        new(agentId, "platform", "platform", ["llm"], 4, "1.0.0", "local", 0.5m);

    public static AgentRecord Agent(string agentId, int shard = 0) =>
        new(Registration(agentId), shard, AgentState.Healthy, "registered", At(1), At(1), QuarantineHold: false, DrainHold: false,
            ProbationUntil: null, Version: 1);

    /// <summary>The record's next version, moved to <paramref name="state"/> at <paramref name="atSeconds"/>.</summary>
    public static AgentRecord Next(AgentRecord agent, AgentState state, double atSeconds) =>
        agent with { State = state, StateReason = $"{state} at {atSeconds}", StateChangedAt = At(atSeconds), Version = agent.Version + 1 };

    /// <summary>Records hold capability and certification arrays, which compare (and Assert.Equal them) by reference: compare them by content.</summary>
    public static void AssertSame(AgentRecord expected, AgentRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Registration.Capabilities.ToArray(), actual.Registration.Capabilities.ToArray());
        Assert.Equal(Certifications(expected), Certifications(actual));
        Assert.Equal(WithoutCapabilities(expected), WithoutCapabilities(actual));
    }

    private static string[] Certifications(AgentRecord agent) =>
        agent.Registration.Certifications.IsDefault ? [] : agent.Registration.Certifications.ToArray();

    public static void AssertSame(AgentSummary expected, AgentSummary actual)
    {
        Assert.Equal(expected.Capabilities.ToArray(), actual.Capabilities.ToArray());
        Assert.Equal(expected with { Capabilities = ImmutableArray<string>.Empty }, actual with { Capabilities = ImmutableArray<string>.Empty });
    }

    private static AgentRecord WithoutCapabilities(AgentRecord agent) =>
        agent with { Registration = agent.Registration with { Capabilities = ImmutableArray<string>.Empty, Certifications = default } };
}
