using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>
/// Agents and the agent directory on a real PostgreSQL, through the kernel's grains: one row per agent, listing and
/// counting from the directory shards, and a restarted silo that reads it all back from the rows.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AgentDirectoryTests(PostgresFixture postgres)
{
    private const int Shards = 4;

    /// <summary>No agent goes silent during a test: nothing changes but what the test does.</summary>
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["MeshOs:Agents:HeartbeatInterval"] = "00:10:00",
        ["MeshOs:Agents:DirectoryShards"] = Shards.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static readonly string[] Owners = ["platform", "tenant-a", "tenant-b"];

    [Fact]
    public async Task The_directory_lists_and_counts_agents_from_their_rows_and_a_restarted_silo_reads_them_back()
    {
        var database = await MigratedDatabaseAsync();
        var registrations = Owners.SelectMany(owner => Enumerable.Range(0, 80).Select(i => Registration(owner, $"{owner}.agent-{i:000}"))).ToList();
        var quarantined = registrations.Where((_, i) => i % 24 == 0).Select(r => r.AgentId).ToHashSet(StringComparer.Ordinal);
        var drained = registrations.Where((_, i) => i % 12 == 6).Select(r => r.AgentId).ToHashSet(StringComparer.Ordinal);
        var expectedStates = registrations.ToDictionary(
            r => r.AgentId,
            r => quarantined.Contains(r.AgentId) ? AgentState.Quarantined : drained.Contains(r.AgentId) ? AgentState.Offline : AgentState.Healthy,
            StringComparer.Ordinal);

        List<AgentSummary> listedBefore;
        await using (var first = await KernelSilo.StartAsync(database, Settings))
        {
            await Task.WhenAll(registrations.Select(r => first.Grains.GetGrain<IAgentGrain>(r.AgentId).RegisterAsync(r, null)));
            await Task.WhenAll(quarantined.Select(id => first.Grains.GetGrain<IAgentGrain>(id).QuarantineAsync("test: quarantine", null)));
            await Task.WhenAll(drained.Select(id => first.Grains.GetGrain<IAgentGrain>(id).DrainAsync("test: drain")));

            listedBefore = await ListAllAsync(first.Grains, owner: null, pageSize: 50);
            Assert.Equal(registrations.Select(r => r.AgentId).Order(StringComparer.Ordinal), listedBefore.Select(a => a.AgentId));
            Assert.All(listedBefore, a => Assert.Equal(expectedStates[a.AgentId], a.State));
            foreach (var owner in Owners)
            {
                Assert.Equal(
                    registrations.Where(r => r.Owner == owner).Select(r => r.AgentId).Order(StringComparer.Ordinal),
                    (await ListAllAsync(first.Grains, owner, pageSize: 7)).Select(a => a.AgentId));
            }

            Assert.Equal(ExpectedCounts(expectedStates), await CountAsync(first.Grains));
            Assert.Empty(first.Errors.Entries);
        }

        // One row per agent, nothing in Orleans' blob storage for agents or their directory, and one event per change.
        Assert.Equal(
            expectedStates.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, (short)e.Value)),
            await Db.ListAsync(database, "SELECT agent_id, state FROM meshos_agents ORDER BY agent_id", r => (r.GetString(0), r.GetInt16(1))));
        Assert.Equal(0L, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM orleans_storage WHERE grain_type IN ('agent', 'agent-directory')"));
        Assert.Equal(
            (long)(registrations.Count + quarantined.Count + drained.Count),
            await Db.ScalarAsync<long>(database, $"SELECT count(*) FROM meshos_events WHERE kind = {(int)MeshEventKind.AgentStateChanged}"));

        await using var second = await KernelSilo.StartAsync(database, Settings);
        var listedAfter = await ListAllAsync(second.Grains, owner: null, pageSize: 1_000);
        Assert.Equal(listedBefore.Select(Comparable), listedAfter.Select(Comparable));
        Assert.Equal(ExpectedCounts(expectedStates), await CountAsync(second.Grains));

        // The holds came back with the rows: a quarantined agent that registers again stays quarantined.
        var held = quarantined.Order(StringComparer.Ordinal).First();
        var again = await second.Grains.GetGrain<IAgentGrain>(held).RegisterAsync(registrations.Single(r => r.AgentId == held), null);
        Assert.Equal((AgentState.Quarantined, true), (again.Agent.State, again.Agent.Quarantined));
        Assert.Empty(second.Errors.Entries);
    }

    [Fact]
    public async Task A_re_registration_that_changes_nothing_writes_nothing_and_one_that_changes_something_writes_it()
    {
        var database = await MigratedDatabaseAsync();
        await using var silo = await KernelSilo.StartAsync(database, Settings);
        var registration = Registration("platform", "platform.agent-1");
        var agent = silo.Grains.GetGrain<IAgentGrain>(registration.AgentId);
        await agent.RegisterAsync(registration, null);
        var written = await RowAsync(database, registration.AgentId);

        for (var i = 0; i < 3; i++)
        {
            await agent.RegisterAsync(registration with { Capabilities = [.. registration.Capabilities] }, null);
        }

        Assert.Equal(written, await RowAsync(database, registration.AgentId));

        await agent.RegisterAsync(registration with { Version = "2.0.0", Capabilities = ["llm", "vision"] }, null);

        Assert.Equal((written.Version + 1, "2.0.0", "{llm,vision}"), await RowAsync(database, registration.AgentId));
        var listed = Assert.Single(await ListAllAsync(silo.Grains, owner: null, pageSize: 10));
        Assert.Equal(["llm", "vision"], listed.Capabilities.ToArray());
        Assert.Equal(1L, await Db.ScalarAsync<long>(database, $"SELECT count(*) FROM meshos_events WHERE kind = {(int)MeshEventKind.AgentStateChanged}"));
    }

    private static AgentRegistration Registration(string owner, string agentId) =>
        new(agentId, owner, owner, ["llm"], 2, "1.0.0", "local", 0.25m);

    private static Task<(long Version, string AgentVersion, string Capabilities)> RowAsync(string database, string agentId) =>
        Db.ListAsync(database, $"SELECT version, agent_version, capabilities::text FROM meshos_agents WHERE agent_id = '{agentId}'",
            r => (r.GetInt64(0), r.GetString(1), r.GetString(2))).ContinueWith(t => t.Result.Single(), TaskScheduler.Default);

    /// <summary>Every agent, paging through the shards merged in id order, as the gateway's listing does.</summary>
    private static async Task<List<AgentSummary>> ListAllAsync(IGrainFactory grains, string? owner, int pageSize)
    {
        var all = new List<AgentSummary>();
        string? after = null;
        while (true)
        {
            var pages = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s => grains.GetGrain<IAgentDirectoryGrain>(s).ListAsync(owner, after, pageSize)));
            var page = pages.SelectMany(p => p).OrderBy(a => a.AgentId, StringComparer.Ordinal).Take(pageSize).ToList();
            all.AddRange(page);
            if (page.Count < pageSize)
            {
                return all;
            }

            after = page[^1].AgentId;
        }
    }

    private static async Task<ImmutableSortedDictionary<AgentState, int>> CountAsync(IGrainFactory grains)
    {
        var shards = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s => grains.GetGrain<IAgentDirectoryGrain>(s).CountByStateAsync()));
        return shards.SelectMany(s => s).GroupBy(kv => kv.Key).ToImmutableSortedDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
    }

    private static ImmutableSortedDictionary<AgentState, int> ExpectedCounts(Dictionary<string, AgentState> states) =>
        states.Values.GroupBy(s => s).ToImmutableSortedDictionary(g => g.Key, g => g.Count());

    /// <summary>A summary as a value, its time to the microsecond that PostgreSQL keeps.</summary>
    private static (string, string, string, string, AgentState, DateTimeOffset) Comparable(AgentSummary a) =>
        (a.AgentId, a.Owner, a.Pool, string.Join(',', a.Capabilities), a.State, a.StateChangedAt.AddTicks(-(a.StateChangedAt.UtcTicks % 10)));

    private async Task<string> MigratedDatabaseAsync()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        return database;
    }
}
