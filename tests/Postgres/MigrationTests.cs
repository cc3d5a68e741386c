using System.Diagnostics;
using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace MeshOs.Tests.Postgres;

[Collection(PostgresCollection.Name)]
public sealed class MigrationTests(PostgresFixture postgres)
{
    private static readonly IReadOnlyList<SchemaMigration> Embedded = SchemaMigration.LoadEmbedded();
    private static readonly int[] EmbeddedVersions = [.. Embedded.Select(m => m.Version)];

    [Fact]
    public void Embedded_migrations_start_with_the_orleans_schema_in_version_order()
    {
        Assert.Equal(
            [(1, "orleans_clustering"), (2, "orleans_persistence"), (3, "orleans_reminders")],
            Embedded.Take(3).Select(m => (m.Version, m.Name)));
        Assert.Equal(EmbeddedVersions.Order(), EmbeddedVersions);
        Assert.All(Embedded, m => Assert.Matches("^[0-9a-f]{64}$", m.Checksum));
    }

    [Fact]
    public async Task Applies_every_migration_to_an_empty_database_and_nothing_on_a_second_run()
    {
        var database = await postgres.CreateDatabaseAsync();

        var first = await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        var second = await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);

        Assert.False(first.CreatedDatabase);
        Assert.Equal(EmbeddedVersions, first.Applied);
        Assert.Empty(first.AlreadyPresent);
        Assert.Empty(second.Applied);
        Assert.Equal(EmbeddedVersions, second.AlreadyPresent);
        Assert.Empty(second.UnknownVersions);

        var recorded = await Db.ListAsync(
            database,
            "SELECT version, name, checksum FROM meshos_schema_version ORDER BY version",
            r => (r.GetInt32(0), r.GetString(1), r.GetString(2)));
        Assert.Equal(Embedded.Select(m => (m.Version, m.Name, m.Checksum)), recorded);
    }

    [Fact]
    public async Task Concurrent_migrators_on_one_database_both_succeed_and_apply_each_migration_once()
    {
        var database = await postgres.CreateDatabaseAsync();

        using var start = new Barrier(2);
        var reports = await Task.WhenAll(
            Task.Run(() => { start.SignalAndWait(); return SchemaMigrator.MigrateAsync(database, NullLogger.Instance); }),
            Task.Run(() => { start.SignalAndWait(); return SchemaMigrator.MigrateAsync(database, NullLogger.Instance); }));

        // The lock covers the whole run: one migrator did everything, the other found it done.
        var ordered = reports.OrderByDescending(r => r.Applied.Count).ToArray();
        Assert.Equal(EmbeddedVersions, ordered[0].Applied);
        Assert.Empty(ordered[0].AlreadyPresent);
        Assert.Empty(ordered[1].Applied);
        Assert.Equal(EmbeddedVersions, ordered[1].AlreadyPresent);
        Assert.Equal(
            EmbeddedVersions,
            await Db.ListAsync(database, "SELECT version FROM meshos_schema_version ORDER BY version", r => r.GetInt32(0)));
    }

    [Fact]
    public async Task Creates_a_missing_database_once_even_when_two_migrators_race_for_it()
    {
        var name = "missing_" + Guid.NewGuid().ToString("N");
        var database = new NpgsqlConnectionStringBuilder(postgres.Server.ConnectionString) { Database = name }.ConnectionString;

        try
        {
            var reports = await Task.WhenAll(
                SchemaMigrator.MigrateAsync(database, NullLogger.Instance),
                SchemaMigrator.MigrateAsync(database, NullLogger.Instance));

            Assert.Single(reports, r => r.CreatedDatabase);
            Assert.All(reports, r => Assert.Equal(name, r.Database));
            Assert.Equal(EmbeddedVersions, reports.SelectMany(r => r.Applied).Order());
            Assert.Equal(EmbeddedVersions.Length, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM meshos_schema_version"));
        }
        finally
        {
            // Created by the migrator, not by the fixture: drop it here (it matters on a shared MESHOS_TEST_POSTGRES server).
            await Db.ExecuteAsync(postgres.Server.ConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task A_missing_database_the_user_may_not_create_fails_with_a_clear_error()
    {
        var role = "nocreate_" + Guid.NewGuid().ToString("N")[..8];
        await Db.ExecuteAsync(postgres.Server.ConnectionString, $"CREATE ROLE {role} LOGIN NOCREATEDB");
        var name = "missing_" + Guid.NewGuid().ToString("N");
        var database = new NpgsqlConnectionStringBuilder(postgres.Server.ConnectionString) { Database = name, Username = role }.ConnectionString;

        try
        {
            var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => SchemaMigrator.MigrateAsync(database, NullLogger.Instance));

            var server = new NpgsqlConnectionStringBuilder(database);
            Assert.StartsWith($"Database '{name}' does not exist on {server.Host}:{server.Port}, and user '{role}' could not create it", error.Message);
            Assert.Contains("42501", error.Message);
        }
        finally
        {
            await Db.ExecuteAsync(postgres.Server.ConnectionString, $"DROP ROLE {role}");
        }
    }

    [Fact]
    public async Task An_unreachable_server_fails_with_a_clear_error_after_the_retry_budget()
    {
        var closedPort = FreePort.Get();
        var connectionString = $"Host=127.0.0.1;Port={closedPort};Database=meshos;Username=meshos;Password=s3cret-Pa55";
        var options = new MigrationOptions { ConnectAttempts = 3, ConnectRetryDelay = TimeSpan.FromMilliseconds(200) };

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => SchemaMigrator.MigrateAsync(connectionString, NullLogger.Instance, options));
        stopwatch.Stop();

        Assert.StartsWith(
            $"Cannot reach PostgreSQL at 127.0.0.1:{closedPort} (database 'meshos', user 'meshos') after 3 attempt(s) over ",
            error.Message);
        Assert.DoesNotContain("s3cret-Pa55", error.Message);
        Assert.IsAssignableFrom<NpgsqlException>(error.InnerException);
        // Two pauses of 200 ms (timers may fire a little early), far below the 10 s a stuck connect would take.
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Gives_up_with_a_clear_error_when_another_process_holds_the_migration_lock_too_long()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var holder = new NpgsqlConnection(database);
        await holder.OpenAsync();
        await using (var hold = new NpgsqlCommand($"SELECT pg_advisory_lock({SchemaMigrator.AdvisoryLockKey})", holder))
        {
            await hold.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(
            () => SchemaMigrator.MigrateAsync(database, NullLogger.Instance, new MigrationOptions { LockTimeout = TimeSpan.FromSeconds(1) }));

        Assert.StartsWith($"Gave up after 1 s waiting for the migration lock (advisory lock {SchemaMigrator.AdvisoryLockKey}) on database 't_", error.Message);
        Assert.Equal(0L, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'meshos_schema_version'"));
    }

    [Fact]
    public async Task An_edited_applied_migration_is_detected()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        await Db.ExecuteAsync(database, "UPDATE meshos_schema_version SET checksum = 'deadbeef' WHERE version = 2");

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => SchemaMigrator.MigrateAsync(database, NullLogger.Instance));

        Assert.Contains("0002_orleans_persistence: applied ", error.Message);
        Assert.Contains($"with checksum deadbeef, file now has {Embedded[1].Checksum}", error.Message);
        Assert.Contains("Applied migrations must never be edited", error.Message);
    }

    [Fact]
    public async Task A_new_migration_is_picked_up_by_the_next_run()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        var next = new SchemaMigration(9001, "later_table", "CREATE TABLE later_table (id int PRIMARY KEY);");

        var report = await SchemaMigrator.MigrateAsync(database, NullLogger.Instance, new MigrationOptions { Migrations = [.. Embedded, next] });

        Assert.Equal([9001], report.Applied);
        Assert.Equal(EmbeddedVersions, report.AlreadyPresent);
        Assert.Equal(0L, await Db.ScalarAsync<long>(database, "SELECT count(*) FROM later_table"));
    }

    [Fact]
    public async Task A_failing_migration_is_rolled_back_and_not_recorded()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);
        var broken = new SchemaMigration(9001, "broken", "CREATE TABLE half_done (id int); SELECT * FROM no_such_table;");

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(
            () => SchemaMigrator.MigrateAsync(database, NullLogger.Instance, new MigrationOptions { Migrations = [.. Embedded, broken] }));

        Assert.StartsWith("Migration 9001_broken failed on database '", error.Message);
        Assert.Contains("and was rolled back: 42P01 relation \"no_such_table\" does not exist", error.Message);
        Assert.True(await Db.ScalarAsync<bool>(database, "SELECT to_regclass('half_done') IS NULL"));
        Assert.Equal(EmbeddedVersions.Max(), await Db.ScalarAsync<int>(database, "SELECT max(version) FROM meshos_schema_version"));
    }

    [Fact]
    public async Task A_migration_older_than_the_applied_ones_is_refused()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance, new MigrationOptions
        {
            Migrations = [.. Embedded, new SchemaMigration(9002, "second", "SELECT 1;")],
        });

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => SchemaMigrator.MigrateAsync(database, NullLogger.Instance, new MigrationOptions
        {
            Migrations = [.. Embedded, new SchemaMigration(9001, "first", "SELECT 1;"), new SchemaMigration(9002, "second", "SELECT 1;")],
        }));

        Assert.Contains("is at version 9002, but 9001_first was never applied", error.Message);
    }

    [Fact]
    public async Task The_orleans_query_texts_exist_for_every_provider_query_key()
    {
        var database = await postgres.CreateDatabaseAsync();
        await SchemaMigrator.MigrateAsync(database, NullLogger.Instance);

        // The exact query the providers run at start: unquoted names, folded to lower case by PostgreSQL.
        var keys = await Db.ListAsync(database, "SELECT QueryKey, QueryText FROM OrleansQuery ORDER BY QueryKey", r => (Key: r.GetString(0), Text: r.GetString(1)));

        string[] expected =
        [
            // Clustering
            "CleanupDefunctSiloEntriesKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey", "InsertMembershipKey",
            "InsertMembershipVersionKey", "MembershipReadAllKey", "MembershipReadRowKey", "UpdateIAmAlivetimeKey", "UpdateMembershipKey",
            // Persistence
            "ClearStorageKey", "DeleteStorageKey", "ReadFromStorageKey", "WriteToStorageKey",
            // Reminders
            "DeleteReminderRowKey", "DeleteReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey",
            "ReadReminderRowsKey", "UpsertReminderRowKey",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), keys.Select(k => k.Key).Order(StringComparer.Ordinal));
        Assert.All(keys, k => Assert.False(string.IsNullOrWhiteSpace(k.Text)));
    }
}
