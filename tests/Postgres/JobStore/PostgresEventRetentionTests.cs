using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using MeshOs.Persistence.Events;
using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// The event log's daily partitions on a real PostgreSQL (sql/0009_events_partitioned.sql): retention with a fake clock
/// drops whole partitions and only those, inserts land in their day's partition, and the migration keeps old rows.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresEventRetentionTests(PostgresFixture postgres)
{
    private static readonly DateOnly March1 = new(2030, 3, 1);

    private static DateTimeOffset Day(int day, double hours = 0) => EventRetentionPolicy.Days.Start(March1.AddDays(day)).AddHours(hours);

    private static string Partition(int day) => EventRetentionPolicy.Days.Name(March1.AddDays(day));

    private static EventRetention Retention(IEventLog log, TimeProvider clock, TimeSpan retention) =>
        new(log, Options.Create(new EventOptions { Retention = retention, DaysAhead = 2 }), clock, NullLogger<EventRetention>.Instance);

    private static Task<List<string>> PartitionsAsync(string db) => Db.PartitionsAsync(db, "meshos_events");

    /// <summary>The partition each event is stored in, in position order.</summary>
    private static Task<List<(long Position, string Partition)>> PlacesAsync(string db) =>
        Db.ListAsync(db, "SELECT position, tableoid::regclass::text FROM meshos_events ORDER BY position", r => (r.GetInt64(0), r.GetString(1)));

    [Fact]
    public async Task Maintenance_with_a_fake_clock_drops_exactly_the_days_past_retention_and_never_one_a_consumer_has_not_read()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var backend = await PostgresBackend.StartAsync(db);
        var clock = new FakeTimeProvider(Day(0));
        var retention = Retention(backend.Events, clock, TimeSpan.FromDays(3));
        var madeByMigration = await PartitionsAsync(db);

        // The first pass makes today's and the next two days' partitions; the migration's (made by the database's own
        // clock, years before this fake one) are empty and past the retention: dropped.
        var first = await retention.ApplyAsync(new Dictionary<string, long>());
        Assert.Equal(madeByMigration.Where(p => p != "meshos_events_default"), first.Dropped.Select(EventRetentionPolicy.Days.Name));
        Assert.Equal([Partition(0), Partition(1), Partition(2), "meshos_events_default"], await PartitionsAsync(db));

        // Six days, a pass each noon (as the maintenance service runs them), two events a day.
        var appended = new List<MeshEvent>();
        for (var day = 0; day < 6; day++)
        {
            clock.SetUtcNow(Day(day, 12));
            await retention.ApplyAsync(new Dictionary<string, long> { ["healing"] = long.MaxValue });
            foreach (var e in new[] { AgentChanged(day * 10, Day(day, 0.5)), AgentChanged((day * 10) + 1, Day(day + 1).AddTicks(-10)) })
            {
                await backend.Events.AppendAsync([e]);
                appended.Add(e);
            }
        }

        // Noon of day 5, retention 3 days: days 0 and 1 ended by the cutoff (day 2, noon) and went, day 2 has not.
        Assert.Equal(
            [Partition(2), Partition(3), Partition(4), Partition(5), Partition(6), Partition(7), "meshos_events_default"],
            await PartitionsAsync(db));
        var kept = await backend.Events.ReadAllAsync();
        Assert.Equal(appended.Skip(4), kept.Select(e => e.Unpositioned()));
        Assert.Equal(Enumerable.Range(2, 4).SelectMany(d => new[] { Partition(d), Partition(d) }), (await PlacesAsync(db)).Select(p => p.Partition));

        // A day later day 2 is past the retention, but the cost consumer has read only its first event: it stays.
        clock.SetUtcNow(Day(6, 12));
        var cursors = new Dictionary<string, long> { ["healing"] = kept[^1].Position, ["cost"] = kept[0].Position };
        var held = await retention.ApplyAsync(cursors);
        Assert.Empty(held.Dropped);
        Assert.Equal([March1.AddDays(2)], held.Held);
        Assert.Contains(Partition(2), await PartitionsAsync(db));
        Assert.Equal(kept, await backend.Events.ReadAllAsync());

        // Once it has read day 2 the partition goes, and nothing else.
        cursors["cost"] = kept[1].Position;
        var caughtUp = await retention.ApplyAsync(cursors);
        Assert.Equal([March1.AddDays(2)], caughtUp.Dropped);
        Assert.Empty(caughtUp.Held);
        Assert.Equal(
            [Partition(3), Partition(4), Partition(5), Partition(6), Partition(7), Partition(8), "meshos_events_default"],
            await PartitionsAsync(db));
        Assert.Equal(kept.Skip(2), await backend.Events.ReadAllAsync());
        Assert.Equal(0L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_events_default"));
    }

    [Fact]
    public async Task Events_of_one_transaction_either_side_of_midnight_land_in_their_own_days_partitions()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var backend = await PostgresBackend.StartAsync(db);
        await backend.Events.PrepareDaysAsync([March1, March1.AddDays(1)]);
        MeshEvent[] events = [AgentChanged(1, Day(1).AddTicks(-10)), AgentChanged(2, Day(1)), AgentChanged(3, Day(0))];

        await backend.Events.AppendAsync([.. events]);

        Assert.Equal(events, (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
        Assert.Equal([Partition(0), Partition(1), Partition(0)], (await PlacesAsync(db)).Select(p => p.Partition));
    }

    [Fact]
    public async Task An_event_of_a_day_without_a_partition_is_written_to_the_default_partition_and_moved_to_its_day_by_the_next_pass()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var backend = await PostgresBackend.StartAsync(db);
        await backend.Events.AppendAsync([AgentChanged(1, Day(0, 6)), AgentChanged(2, Day(40, 6))]);
        var before = await PlacesAsync(db);
        Assert.Equal(["meshos_events_default", "meshos_events_default"], before.Select(p => p.Partition));

        var made = await backend.Events.PrepareDaysAsync([]);

        Assert.Equal([March1, March1.AddDays(40)], made);
        Assert.Equal([(before[0].Position, Partition(0)), (before[1].Position, Partition(40))], await PlacesAsync(db));
        Assert.Equal([AgentChanged(1, Day(0, 6)), AgentChanged(2, Day(40, 6))], (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
        Assert.Empty(await backend.Events.PrepareDaysAsync([March1]));
    }

    [Fact]
    public async Task The_migration_keeps_the_old_tables_events_readable_in_one_partition_that_retention_later_drops_whole()
    {
        var db = await postgres.CreateDatabaseAsync();
        var before = SchemaMigration.LoadEmbedded().Where(m => m.Version < 9).ToList();
        await SchemaMigrator.MigrateAsync(db, NullLogger.Instance, new MigrationOptions { Migrations = before });
        MeshEvent[] old = [AgentChanged(1, Day(0, 1)), AgentChanged(2, Day(2, 23)), AgentChanged(3, Day(1, 5))];
        await using (var conn = new NpgsqlConnection(db))
        {
            await conn.OpenAsync();
            for (var i = 0; i < old.Length; i++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO meshos_events (position, kind, at, payload) VALUES ($1, $2, $3, $4::jsonb)", conn);
                insert.Parameters.Add(new NpgsqlParameter { Value = (i + 1L) << 20 });
                insert.Parameters.Add(new NpgsqlParameter { Value = (short)old[i].Kind });
                insert.Parameters.Add(new NpgsqlParameter { Value = old[i].At.UtcDateTime });
                insert.Parameters.Add(new NpgsqlParameter { Value = MeshEventJson.Serialize(old[i]) });
                await insert.ExecuteNonQueryAsync();
            }
        }

        await using var backend = await PostgresBackend.StartAsync(db);

        Assert.Equal(old, (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
        Assert.Contains(Partition(2), await PartitionsAsync(db));
        Assert.StartsWith(
            "FOR VALUES FROM (MINVALUE) TO (",
            await Db.ScalarAsync<string>(db, $"SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = '{Partition(2)}'"));
        Assert.Equal(Enumerable.Repeat(Partition(2), 3), (await PlacesAsync(db)).Select(p => p.Partition));

        // It ends with the day of its newest event: the next day's event has no partition yet.
        var fresh = AgentChanged(4, Day(3, 1));
        await backend.Events.AppendAsync([fresh]);
        Assert.Equal([.. old, fresh], (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
        Assert.Equal("meshos_events_default", (await PlacesAsync(db))[^1].Partition);

        // Past the retention the old table goes whole, only once it has all been read.
        var all = await backend.Events.ReadAllAsync();
        Assert.Equal([March1.AddDays(2)], (await backend.Events.PruneAsync(Day(3), all[1].Position)).Held);
        var pruned = await backend.Events.PruneAsync(Day(3), all[2].Position);
        Assert.Equal([March1.AddDays(2)], pruned.Dropped);
        Assert.Equal([fresh], (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
    }
}
