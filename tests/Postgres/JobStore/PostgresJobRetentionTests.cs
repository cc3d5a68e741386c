using System.Security.Cryptography;
using System.Text;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Persistence.Jobs;
using MeshOs.Persistence.Migrations;
using MeshOs.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// The job table's daily partitions on a real PostgreSQL (sql/0011_jobs_partitioned.sql): the migration keeps the old
/// rows, retention with a fake clock drops whole days of finished jobs and holds days with unfinished ones, the
/// per-status counts stay equal to a real count, and an idempotency key names one job across days.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobRetentionTests(PostgresFixture postgres)
{
    /// <summary>Years after the database's clock, by which the migration made its partitions (as the event log's tests).</summary>
    private static readonly DateOnly Day0 = new(2030, 3, 1);

    private static DateTimeOffset OnDay(int day, double hours = 0) => JobRetentionPolicy.Days.Start(Day0.AddDays(day)).AddHours(hours);

    private static string Partition(int day) => JobRetentionPolicy.Days.Name(Day0.AddDays(day));

    private static JobRetention Retention(IJobStore store, TimeProvider clock, TimeSpan retention) =>
        new(store, Options.Create(new JobOptions { Retention = retention, DaysAhead = 2 }), clock, NullLogger<JobRetention>.Instance);

    private static Task<List<string>> PartitionsAsync(string db) => Db.ListAsync(db, """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'meshos_jobs'::regclass ORDER BY c.relname
        """, r => r.GetString(0));

    private static async Task<string> PlaceAsync(string db, Guid jobId) =>
        Assert.Single(await Db.ListAsync(db, $"SELECT tableoid::regclass::text FROM meshos_jobs WHERE id = '{jobId}'", r => r.GetString(0)));

    /// <summary>Counts per status by counting the rows: what the trigger-kept counts must equal.</summary>
    private static async Task<Dictionary<JobStatus, long>> RealCountsAsync(string db) =>
        (await Db.ListAsync(db, "SELECT status, count(*) FROM meshos_jobs GROUP BY status", r => ((JobStatus)r.GetInt16(0), r.GetInt64(1))))
        .ToDictionary(c => c.Item1, c => c.Item2);

    private static async Task AssertCountsExactAsync(string db, IJobStore store) =>
        Assert.Equal(
            (await RealCountsAsync(db)).OrderBy(c => c.Key),
            (await store.CountByStatusAsync()).OrderBy(c => c.Key));

    [Fact]
    public async Task The_migration_keeps_existing_jobs_readable_writable_and_counted_in_one_partition_that_retention_drops_whole()
    {
        var db = await postgres.CreateDatabaseAsync();
        var before = SchemaMigration.LoadEmbedded().Where(m => m.Version < 11).ToList();
        await SchemaMigrator.MigrateAsync(db, NullLogger.Instance, new MigrationOptions { Migrations = before });
        var done = Finished(Pending(key: "nightly", createdAt: OnDay(0, 1)), JobStatus.Succeeded, OnDay(0, 2));
        var pending = Pending(createdAt: OnDay(1, 1));
        var leased = Leased(Pending(createdAt: OnDay(2, 1)), "agent-1", 1, atSeconds: 3 * 86_400);
        var failed = Full() with { CreatedAt = OnDay(2, 5) };
        JobRecord[] old = [done, pending, leased, failed];
        await InsertWithOldSchemaAsync(db, old);
        var countsBefore = await RealCountsAsync(db);

        await using var backend = await PostgresBackend.StartAsync(db);
        var store = backend.Jobs;

        foreach (var job in old)
        {
            Assert.Equal(job, await store.GetAsync(job.JobId));
        }

        // The old table is the partition of everything up to the end of its newest job's day.
        Assert.Contains(Partition(2), await PartitionsAsync(db));
        Assert.StartsWith(
            "FOR VALUES FROM (MINVALUE) TO (",
            await Db.ScalarAsync<string>(db, $"SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = '{Partition(2)}'"));
        foreach (var job in old)
        {
            Assert.Equal(Partition(2), await PlaceAsync(db, job.JobId));
        }

        Assert.Equal(countsBefore.OrderBy(c => c.Key), (await store.CountByStatusAsync()).OrderBy(c => c.Key));

        // Writable as before: updates apply, a key still names its job, new jobs go to their day.
        var leasedNow = Leased(pending, "agent-2", 1, atSeconds: 3 * 86_400);
        Assert.True(await store.UpdateAsync(leasedNow, []));
        Assert.Equal(leasedNow, await store.GetAsync(pending.JobId));
        Assert.Equal(done, await store.InsertAsync(Pending(key: "nightly", createdAt: OnDay(3, 1))));
        var fresh = Pending(createdAt: OnDay(3, 2));
        Assert.Null(await store.InsertAsync(fresh));
        Assert.Equal("meshos_jobs_default", await PlaceAsync(db, fresh.JobId));
        Assert.Equal([Day0.AddDays(3)], await store.PrepareDaysAsync([]));
        Assert.Equal(Partition(3), await PlaceAsync(db, fresh.JobId));
        Assert.Equal(fresh, await store.GetAsync(fresh.JobId));
        await AssertCountsExactAsync(db, store);

        // Past the retention the old table is held while it holds unfinished jobs, and goes whole once they finished.
        var held = await store.PruneAsync(OnDay(10));
        Assert.Empty(held.Dropped);
        Assert.Equal([Day0.AddDays(2), Day0.AddDays(3)], held.Held);
        await UpdateAsync(store, Finished(leasedNow, JobStatus.Succeeded, OnDay(4)), Finished(leased, JobStatus.Failed, OnDay(4)));
        var dropped = await store.PruneAsync(OnDay(10));
        Assert.Equal([Day0.AddDays(2)], dropped.Dropped);
        Assert.Equal([Day0.AddDays(3)], dropped.Held);
        foreach (var job in old)
        {
            Assert.Null(await store.GetAsync(job.JobId));
        }

        Assert.Equal(fresh, await store.GetAsync(fresh.JobId));
        Assert.DoesNotContain(Partition(2), await PartitionsAsync(db));
        await AssertCountsExactAsync(db, store);
        Assert.Equal(Counts((JobStatus.Pending, 1)), await store.CountByStatusAsync());
    }

    [Fact]
    public async Task Retention_with_a_fake_clock_drops_days_of_finished_jobs_holds_a_day_with_an_unfinished_one_and_keeps_counts_exact()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var backend = await PostgresBackend.StartAsync(db);
        var store = backend.Jobs;
        var clock = new FakeTimeProvider(OnDay(0));
        var retention = Retention(store, clock, TimeSpan.FromDays(3));
        var madeByMigration = await PartitionsAsync(db);

        // The first pass makes today's and the next two days' partitions; the migration's (made by the database's own
        // clock, far from this fake one) are empty and past the retention: dropped.
        var first = await retention.ApplyAsync();
        Assert.Equal(madeByMigration.Where(p => p != "meshos_jobs_default"), first.Dropped.Select(JobRetentionPolicy.Days.Name));
        Assert.Equal([Partition(0), Partition(1), Partition(2), "meshos_jobs_default"], await PartitionsAsync(db));

        // Six days, a pass each noon, three jobs a day finished within the hour; day 1 also has one left pending.
        var jobs = new List<JobRecord>();
        JobRecord? waiting = null;
        for (var day = 0; day < 6; day++)
        {
            clock.SetUtcNow(OnDay(day, 12));
            await retention.ApplyAsync();
            for (var i = 0; i < 3; i++)
            {
                var job = Pending(createdAt: OnDay(day, 1 + i));
                Assert.Null(await store.InsertAsync(job));
                var finished = Finished(job, (JobStatus)(3 + i), OnDay(day, 1.5 + i));
                await UpdateAsync(store, finished);
                jobs.Add(finished);
            }

            if (day == 1)
            {
                waiting = Pending(createdAt: OnDay(1, 23));
                Assert.Null(await store.InsertAsync(waiting));
            }
        }

        await AssertCountsExactAsync(db, store);

        // Retention 3 days: day 0 went at day 4's pass; at day 5 day 1 is past the retention too, but holds a pending job.
        clock.SetUtcNow(OnDay(5, 13));
        var pass = await retention.ApplyAsync();
        Assert.Empty(pass.Dropped);
        Assert.Equal([Day0.AddDays(1)], pass.Held);
        Assert.Equal(
            [Partition(1), Partition(2), Partition(3), Partition(4), Partition(5), Partition(6), Partition(7), "meshos_jobs_default"],
            await PartitionsAsync(db));
        foreach (var job in jobs.Take(3))
        {
            Assert.Null(await store.GetAsync(job.JobId));
        }

        await AssertCountsExactAsync(db, store);

        // The held day's jobs stay readable, and its pending job leaseable, as ever.
        foreach (var job in jobs.Skip(3).Append(waiting!))
        {
            Assert.Equal(job, await store.GetAsync(job.JobId));
        }

        var queue = new Abstractions.Dispatch.QueueKey("gpu", "llm", 0);
        Assert.Equal([waiting!.JobId], (await store.ListPendingAsync(queue, null, 10)).Select(r => r.JobId));
        var leased = Leased(waiting, "agent-1", 1, atSeconds: (5 * 86_400) + 3_600);
        Assert.True(await store.UpdateAsync(leased, []));
        Assert.Equal([waiting.JobId], (await store.ListLeasedAsync(queue, null, 10)).Select(r => r.JobId));
        Assert.Equal([waiting.JobId], (await store.ListLeasedByAgentAsync("agent-1")).Select(r => r.JobId));

        // It finishes on day 5: its day is then kept until that is past the retention too, and goes whole.
        await UpdateAsync(store, Finished(leased, JobStatus.Succeeded, OnDay(5, 14)));
        clock.SetUtcNow(OnDay(8, 13));
        var kept = await retention.ApplyAsync();
        Assert.Equal([Day0.AddDays(2), Day0.AddDays(3), Day0.AddDays(4)], kept.Dropped);
        Assert.Empty(kept.Held);
        Assert.Contains(Partition(1), await PartitionsAsync(db));
        await AssertCountsExactAsync(db, store);

        clock.SetUtcNow(OnDay(8, 15));
        Assert.Equal([Day0.AddDays(1)], (await retention.ApplyAsync()).Dropped);
        Assert.Null(await store.GetAsync(waiting.JobId));
        Assert.Equal(jobs.Skip(15).Select(j => j.JobId).Order(), (await Db.ListAsync(db, "SELECT id FROM meshos_jobs", r => r.GetGuid(0))).Order());
        await AssertCountsExactAsync(db, store);
        Assert.Equal(Counts((JobStatus.Succeeded, 1), (JobStatus.Failed, 1), (JobStatus.Cancelled, 1)), await store.CountByStatusAsync());
    }

    [Fact]
    public async Task An_idempotent_submit_on_another_day_with_a_fake_clock_returns_the_first_days_job()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var backend = await PostgresBackend.StartAsync(db);
        var store = backend.Jobs;
        var clock = new FakeTimeProvider(OnDay(0, 23.5));
        await store.PrepareDaysAsync([Day0, Day0.AddDays(1), Day0.AddDays(2)]);

        // As the Job grain submits it: the id is the key's, the times are the silo clock's.
        JobRecord Submit() => Pending(id: IdempotentJobId("tenant-a", "invoice-7"), key: "invoice-7", createdAt: clock.GetUtcNow());
        var first = Submit();
        Assert.Null(await store.InsertAsync(first));

        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(first, await store.InsertAsync(Submit()));
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(first, await store.InsertAsync(Submit()));
        // Another id under the same key (not how the gateway makes them) is refused as well.
        Assert.Equal(first, await store.InsertAsync(Pending(key: "invoice-7", createdAt: clock.GetUtcNow())));

        Assert.Equal(1L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_jobs"));
        Assert.Equal(Partition(0), await PlaceAsync(db, first.JobId));
        Assert.Equal(Counts((JobStatus.Pending, 1)), await store.CountByStatusAsync());

        // Concurrent submits of one key on one day (two activations racing): one job.
        var racing = Enumerable.Range(0, 8)
            .Select(_ => Pending(id: IdempotentJobId("tenant-a", "invoice-8"), key: "invoice-8", createdAt: clock.GetUtcNow().AddTicks(Random.Shared.Next(1, 1000) * 10)))
            .ToList();
        var outcomes = await Task.WhenAll(racing.Select(j => Task.Run(() => store.InsertAsync(j))));
        var winner = Assert.Single(racing, j => outcomes[racing.IndexOf(j)] is null);
        Assert.All(outcomes.Where(o => o is not null), o => Assert.Equal(winner, o));
        Assert.Equal(2L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_jobs"));
        await AssertCountsExactAsync(db, store);
    }

    /// <summary>The id an idempotency key maps to, made as JobSubmitter.IdempotentJobId makes it (a version-8 hash).</summary>
    private static Guid IdempotentJobId(string tenantId, string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"meshos.job|{tenantId}|{key}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    private static async Task UpdateAsync(IJobStore store, params JobRecord[] jobs)
    {
        foreach (var job in jobs)
        {
            Assert.True(await store.UpdateAsync(job, []));
        }
    }

    private static System.Collections.Immutable.ImmutableDictionary<JobStatus, long> Counts(params (JobStatus Status, long Count)[] counts) =>
        System.Collections.Immutable.ImmutableDictionary.CreateRange(counts.Select(c => KeyValuePair.Create(c.Status, c.Count)));

    /// <summary>Writes jobs as rows of the table before sql/0011 (no writer: the store would migrate first).</summary>
    private static async Task InsertWithOldSchemaAsync(string db, IEnumerable<JobRecord> jobs)
    {
        await using var conn = new NpgsqlConnection(db);
        await conn.OpenAsync();
        foreach (var j in jobs)
        {
            object?[] values =
            [
                j.JobId, j.TenantId, j.Spec.Type, j.Spec.Capability, j.Spec.Pool, j.Shard, (short)j.Spec.Priority, (short)j.Status, j.Attempts,
                j.Spec.Retry.MaxAttempts, (long)j.Spec.Retry.InitialBackoff.TotalMilliseconds, (long)j.Spec.Retry.MaxBackoff.TotalMilliseconds,
                j.Spec.Retry.Multiplier, (long)j.Spec.Timeout.TotalMilliseconds, j.Spec.IdempotencyKey, j.Spec.PayloadJson, j.ResultJson, j.Error,
                j.AgentId, j.Epoch, JobRows.Utc(j.LeaseExpiresAt), JobRows.Utc(j.LeasedAt), JobRows.Utc(j.StartedAt), JobRows.Utc(j.CompletedAt),
                JobRows.Utc(j.CreatedAt), JobRows.Utc(j.UpdatedAt), JobRows.Utc(j.AvailableAt), j.Version, j.Usage.TokensIn, j.Usage.TokensOut,
                j.Usage.Cost, j.AgentVersion, j.Spec.DataClasses.IsDefault ? Array.Empty<string>() : j.Spec.DataClasses.ToArray(),
            ];
            await using var insert = new NpgsqlCommand(
                $"INSERT INTO meshos_jobs ({JobRows.Columns}) VALUES ({string.Join(", ", values.Select((_, i) => $"${i + 1}"))})", conn);
            foreach (var value in values)
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            }

            await insert.ExecuteNonQueryAsync();
        }
    }
}
