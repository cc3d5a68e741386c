using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using Orleans.Storage;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>
/// Runs real Orleans silos on a migrated database: proves the project's SQL matches what the ADO.NET
/// clustering, grain storage and reminder providers of Orleans 10 expect.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OrleansProviderTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Grain_state_and_reminders_survive_a_silo_restart_and_a_client_finds_the_new_silo()
    {
        var database = await MigratedDatabaseAsync();

        await using (var first = await TestSilo.StartAsync(database))
        {
            var counter = first.Grains.GetGrain<ICounterGrain>("agent-1");
            Assert.Equal(1, await counter.IncrementAsync());
            Assert.Equal(2, await counter.IncrementAsync());
            Assert.Equal("2", await counter.GetETagAsync());
            await counter.RegisterReminderAsync("health");
            Assert.Empty(first.Errors.Entries);
        }

        Assert.Equal([6], await SiloStatusesAsync(database));

        await using var second = await TestSilo.StartAsync(database);
        var reloaded = second.Grains.GetGrain<ICounterGrain>("agent-1");
        Assert.Equal(2, await reloaded.GetAsync());
        Assert.Equal("2", await reloaded.GetETagAsync());
        Assert.True(await reloaded.HasReminderAsync("health"));
        Assert.Equal([6, 3], await SiloStatusesAsync(database));

        using (var client = await TestSilo.StartClientAsync(database))
        {
            var viaGateway = client.Services.GetRequiredService<IClusterClient>().GetGrain<ICounterGrain>("agent-1");
            Assert.Equal(3, await viaGateway.IncrementAsync());
            await client.StopAsync();
        }

        Assert.Equal(
            [("counter", "agent-1", 3, true)],
            await Db.ListAsync(
                database,
                "SELECT grain_type, grain_id_extension, version, payload_binary IS NOT NULL FROM orleans_storage",
                r => (r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetBoolean(3))));
        Assert.Equal(
            [("counter/agent-1", "health", 600_000L, 1)],
            await Db.ListAsync(
                database,
                "SELECT grain_id, reminder_name, period, version FROM orleans_reminders",
                r => (r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3))));

        await reloaded.UnregisterReminderAsync("health");
        Assert.False(await reloaded.HasReminderAsync("health"));
        Assert.Equal(0L, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM orleans_reminders"));
        Assert.Empty(second.Errors.Entries);
    }

    [Fact]
    public async Task A_stale_grain_write_raises_InconsistentStateException_and_the_next_activation_rereads()
    {
        var database = await MigratedDatabaseAsync();
        await using var silo = await TestSilo.StartAsync(database);
        var counter = silo.Grains.GetGrain<ICounterGrain>("agent-2");
        Assert.Equal(1, await counter.IncrementAsync());

        // Another writer (a second activation somewhere) moved the row on.
        Assert.Equal(1, await Db.ExecuteAsync(database, "UPDATE orleans_storage SET version = version + 1"));

        await Assert.ThrowsAsync<InconsistentStateException>(counter.IncrementAsync);

        // The failed activation is dropped; the next one loads the stored state and its etag.
        Assert.Equal(1, await counter.GetAsync());
        Assert.Equal("2", await counter.GetETagAsync());
        Assert.Equal(2, await counter.IncrementAsync());
        Assert.Equal("3", await counter.GetETagAsync());
    }

    [Fact]
    public async Task Grain_storage_follows_the_etag_contract_for_insert_update_clear_and_delete()
    {
        var database = await MigratedDatabaseAsync();
        await using var silo = await TestSilo.StartAsync(database);
        var storage = silo.Services.GetRequiredKeyedService<IGrainStorage>(TestSilo.StorageName);
        var id = GrainId.Create("contract", "grain-1");

        var state = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync("state", id, state);
        Assert.Equal((0, null, false), (ValueOf(state), state.ETag, state.RecordExists));

        state.State!.Value = 10;
        await storage.WriteStateAsync("state", id, state);
        Assert.Equal(("1", true), (state.ETag, state.RecordExists));
        state.State!.Value = 11;
        await storage.WriteStateAsync("state", id, state);
        Assert.Equal("2", state.ETag);

        // A second writer that never read (null etag) and one with an old etag both conflict.
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("state", id, new GrainState<CounterState>(new CounterState { Value = 99 })));
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("state", id, new GrainState<CounterState>(new CounterState { Value = 99 }, "1")));

        var read = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync("state", id, read);
        Assert.Equal((11, "2", true), (ValueOf(read), read.ETag, read.RecordExists));

        // Clear keeps the row (no payload) and moves the version on; writing continues from there.
        await storage.ClearStateAsync("state", id, read);
        Assert.Equal(("3", false), (read.ETag, read.RecordExists));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("state", id, state));
        var cleared = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync("state", id, cleared);
        Assert.Equal((0, "3", false), (ValueOf(cleared), cleared.ETag, cleared.RecordExists));
        cleared.State!.Value = 12;
        await storage.WriteStateAsync("state", id, cleared);
        Assert.Equal("4", cleared.ETag);

        // DeleteStateOnClear removes the row; the next write inserts again.
        var deleting = silo.Services.GetRequiredKeyedService<IGrainStorage>(TestSilo.DeletingStorageName);
        var other = GrainId.Create("contract", "grain-2");
        var doomed = new GrainState<CounterState>(new CounterState { Value = 5 });
        await deleting.WriteStateAsync("state", other, doomed);
        await deleting.ClearStateAsync("state", other, doomed);
        Assert.Equal((null, false), (doomed.ETag, doomed.RecordExists));
        await deleting.WriteStateAsync("state", other, doomed);
        Assert.Equal("1", doomed.ETag);

        Assert.Equal(
            [("grain-1", 4), ("grain-2", 1)],
            await Db.ListAsync(
                database,
                "SELECT grain_id_extension, version FROM orleans_storage ORDER BY grain_id_extension",
                r => (r.GetString(0), r.GetInt32(1))));
    }

    [Fact]
    public async Task Grains_that_the_provider_keys_alike_share_a_row_unless_the_identity_hash_picker_is_used()
    {
        var database = await MigratedDatabaseAsync();
        await using var silo = await TestSilo.StartAsync(database);
        var byDefault = silo.Services.GetRequiredKeyedService<IGrainStorage>(TestSilo.StorageName);
        var byIdentity = silo.Services.GetRequiredKeyedService<IGrainStorage>(TestSilo.IdentityStorageName);

        // Same key and state name, different grain types; and two string keys the provider reads as the same hex number.
        (GrainId, GrainId)[] lookAlikes =
        [
            (GrainId.Create("agent", "same-key"), GrainId.Create("tenant", "same-key")),
            (GrainId.Create("agent", "00ab"), GrainId.Create("agent", "AB")),
        ];
        foreach (var (first, second) in lookAlikes)
        {
            await byDefault.WriteStateAsync("state", first, new GrainState<CounterState>(new CounterState { Value = 1 }));
            await Assert.ThrowsAsync<InconsistentStateException>(
                () => byDefault.WriteStateAsync("state", second, new GrainState<CounterState>(new CounterState { Value = 2 })));

            await byIdentity.WriteStateAsync("state", first, new GrainState<CounterState>(new CounterState { Value = 1 }));
            await byIdentity.WriteStateAsync("state", second, new GrainState<CounterState>(new CounterState { Value = 2 }));
            var readFirst = new GrainState<CounterState>(new CounterState());
            var readSecond = new GrainState<CounterState>(new CounterState());
            await byIdentity.ReadStateAsync("state", first, readFirst);
            await byIdentity.ReadStateAsync("state", second, readSecond);
            Assert.Equal((1, 2), (ValueOf(readFirst), ValueOf(readSecond)));
        }

        Assert.Equal(6L, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM orleans_storage"));
    }

    [Fact]
    public async Task Reminder_table_follows_the_contract_for_upsert_ranges_and_versioned_delete()
    {
        var database = await MigratedDatabaseAsync();
        await using var silo = await TestSilo.StartAsync(database);
        var table = silo.Services.GetRequiredService<IReminderTable>();
        var grain = GrainId.Create("contract", "reminded");
        var startAt = new DateTime(2030, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);

        var entry = new ReminderEntry { GrainId = grain, ReminderName = "daily", StartAt = startAt, Period = TimeSpan.FromMinutes(5) };
        Assert.Equal("1", await table.UpsertRow(entry));
        entry.Period = TimeSpan.FromDays(30); // beyond int milliseconds: the provider switches to a bigint parameter
        Assert.Equal("2", await table.UpsertRow(entry));

        var row = await table.ReadRow(grain, "daily");
        Assert.NotNull(row);
        Assert.Equal((grain, "daily", startAt, DateTimeKind.Utc, TimeSpan.FromDays(30), "2"), (row.GrainId, row.ReminderName, row.StartAt, row.StartAt.Kind, row.Period, row.ETag));
        Assert.Null(await table.ReadRow(grain, "weekly"));
        Assert.Equal(["daily"], (await table.ReadRows(grain)).Reminders.Select(r => r.ReminderName));

        // Ranges are (begin, end] on the ring of uint hashes.
        var hash = grain.GetUniformHashCode();
        Assert.Equal(["daily"], (await table.ReadRows(hash - 1, hash)).Reminders.Where(r => r.GrainId == grain).Select(r => r.ReminderName));
        Assert.DoesNotContain((await table.ReadRows(hash, hash - 1)).Reminders, r => r.GrainId == grain);
        Assert.Equal(["daily"], (await table.ReadRows(hash, hash)).Reminders.Where(r => r.GrainId == grain).Select(r => r.ReminderName));
        // Nearly the whole ring, once not wrapping in signed order (ReadRangeRows1Key) and once wrapping (ReadRangeRows2Key).
        Assert.Equal(["daily"], (await table.ReadRows(0x8000_0000u, 0x7FFF_FFFFu)).Reminders.Where(r => r.GrainId == grain).Select(r => r.ReminderName));
        Assert.Equal(["daily"], (await table.ReadRows(0x7FFF_FFFFu, 0x7FFF_FFFEu)).Reminders.Where(r => r.GrainId == grain).Select(r => r.ReminderName));

        Assert.False(await table.RemoveRow(grain, "daily", "1"));
        Assert.True(await table.RemoveRow(grain, "daily", "2"));
        Assert.Null(await table.ReadRow(grain, "daily"));
    }

    private static int ValueOf(GrainState<CounterState> state) => Assert.IsType<CounterState>(state.State).Value;

    private async Task<string> MigratedDatabaseAsync()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        return database;
    }

    private static Task<List<int>> SiloStatusesAsync(string database) =>
        Db.ListAsync(database, "SELECT status FROM orleans_membership ORDER BY start_time, generation", r => r.GetInt32(0));
}
