using System.Net;
using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Messaging;
using Orleans.Runtime;
using Orleans.Runtime.Membership;
using Orleans.Runtime.MembershipService;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>
/// Drives the ADO.NET membership table directly, the way the membership protocol does: table version as
/// etag, optimistic inserts and updates, I-am-alive, gateways, cleanup and deletion.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MembershipTableTests(PostgresFixture postgres)
{
    private const string ClusterId = "membership-contract";

    [Fact]
    public async Task Membership_table_follows_the_version_etag_contract()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        var table = CreateTable(database);

        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true); // a second silo: the version row stays
        var empty = await table.ReadAllAsync();
        Assert.Equal((0, "0", 0), (empty.Version.Version, empty.Version.VersionEtag, empty.Members.Count));

        var now = Microseconds(DateTime.UtcNow);
        var first = Entry(11111, generation: 1, SiloStatus.Joining, now);
        Assert.True(await table.InsertRowAsync(first, empty.Version.Next()));
        Assert.False(await table.InsertRowAsync(first, (await table.ReadAllAsync()).Version.Next())); // already there
        var second = Entry(22222, generation: 2, SiloStatus.Active, now.AddMinutes(-10));
        Assert.False(await table.InsertRowAsync(second, empty.Version.Next())); // stale table version
        Assert.True(await table.InsertRowAsync(second, (await table.ReadAllAsync()).Version.Next()));

        var all = await table.ReadAllAsync();
        Assert.Equal((2, "2"), (all.Version.Version, all.Version.VersionEtag));
        var (read, etag) = Assert.Single(all.Members, m => m.Item1.SiloAddress.Equals(first.SiloAddress));
        Assert.Equal("2", etag);
        Assert.Equal(
            (first.SiloName, first.HostName, first.Status, first.ProxyPort, first.StartTime, first.IAmAliveTime, DateTimeKind.Utc),
            (read.SiloName, read.HostName, read.Status, read.ProxyPort, read.StartTime, read.IAmAliveTime, read.StartTime.Kind));
        Assert.Null(read.SuspectTimes);

        // Update with the row's etag and the next table version; a stale etag loses.
        first.Status = SiloStatus.Active;
        var suspectedAt = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc); // stored as text with milliseconds
        first.SuspectTimes = [Tuple.Create(second.SiloAddress, suspectedAt)];
        Assert.True(await table.UpdateRowAsync(first, "2", all.Version.Next()));
        Assert.False(await table.UpdateRowAsync(first, "2", all.Version.Next()));
        var updated = await table.ReadRowAsync(first.SiloAddress);
        Assert.Equal((3, 1), (updated.Version.Version, updated.Members.Count));
        var updatedEntry = updated.Members[0].Item1;
        Assert.Equal(SiloStatus.Active, updatedEntry.Status);
        Assert.Equal([(second.SiloAddress, suspectedAt)], updatedEntry.SuspectTimes!.Select(s => (s.Item1, s.Item2)));

        // I-am-alive moves the timestamp only, not the table version.
        first.IAmAliveTime = now.AddSeconds(30);
        await table.UpdateIAmAliveAsync(first);
        var alive = await table.ReadRowAsync(first.SiloAddress);
        Assert.Equal((3, now.AddSeconds(30)), (alive.Version.Version, alive.Members[0].Item1.IAmAliveTime));

        // An unknown silo reads as the version alone.
        var unknown = await table.ReadRowAsync(SiloAddress.New(IPAddress.Loopback, 33333, 3));
        Assert.Equal((3, 0), (unknown.Version.Version, unknown.Members.Count));

        // Gateways: active silos with a proxy port.
        var gateways = CreateGatewayListProvider(database);
        await gateways.InitializeGatewayListProvider();
        Assert.Equal(
            new[] { first, second }.Select(e => SiloAddress.New(e.SiloAddress.Endpoint.Address, e.ProxyPort, e.SiloAddress.Generation).ToGatewayUri().ToString()).Order(),
            (await gateways.GetGateways()).Select(uri => uri.ToString()).Order());

        // Cleanup removes dead silos that stopped beating before the cut-off, nothing else.
        second.Status = SiloStatus.Dead;
        var beforeCleanup = await table.ReadAllAsync();
        Assert.True(await table.UpdateRowAsync(second, beforeCleanup.Version.VersionEtag, beforeCleanup.Version.Next()));
        await table.CleanupDefunctSiloEntriesAsync(now.AddMinutes(-20));
        Assert.Equal(2, (await table.ReadAllAsync()).Members.Count);
        await table.CleanupDefunctSiloEntriesAsync(now.AddMinutes(1));
        Assert.Equal([first.SiloAddress], (await table.ReadAllAsync()).Members.Select(m => m.Item1.SiloAddress));

        await table.DeleteMembershipTableEntriesAsync(ClusterId);
        Assert.Equal(
            (0L, 0L),
            (await Db.ScalarAsync<long>(database, "SELECT count(*) FROM orleans_membership"),
             await Db.ScalarAsync<long>(database, "SELECT count(*) FROM orleans_membership_version")));
    }

    private static AdoNetClusteringTable CreateTable(string database) =>
        new(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = ClusterId, ServiceId = "membership" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = TestSilo.Invariant, ConnectionString = database }),
            NullLogger<AdoNetClusteringTable>.Instance);

    private static AdoNetGatewayListProvider CreateGatewayListProvider(string database) =>
        new(
            NullLogger<AdoNetGatewayListProvider>.Instance,
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new AdoNetClusteringClientOptions { Invariant = TestSilo.Invariant, ConnectionString = database }),
            Options.Create(new GatewayOptions()),
            Options.Create(new ClusterOptions { ClusterId = ClusterId, ServiceId = "membership" }));

    private static MembershipEntry Entry(int port, int generation, SiloStatus status, DateTime iAmAlive) => new()
    {
        SiloAddress = SiloAddress.New(IPAddress.Loopback, port, generation),
        SiloName = $"silo-{port}",
        HostName = "host-a",
        Status = status,
        ProxyPort = port + 1,
        StartTime = iAmAlive.AddSeconds(-5),
        IAmAliveTime = iAmAlive,
    };

    // PostgreSQL keeps microseconds; DateTime has 100 ns ticks.
    private static DateTime Microseconds(DateTime value) => new(value.Ticks - (value.Ticks % 10), DateTimeKind.Utc);
}
