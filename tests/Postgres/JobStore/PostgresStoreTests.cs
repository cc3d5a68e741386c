using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Persistence.Events;
using MeshOs.Testing;
using MeshOs.Tests.Postgres.AgentStore;
using Npgsql;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// The job store contract on PostgreSQL (a fresh database per test, built the way a silo builds it), and what only
/// the group commit can get wrong.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobStoreTests(PostgresFixture postgres) : JobStoreContract
{
    private string? _database;

    private string Database => _database ?? throw new InvalidOperationException("The database is not created yet.");

    protected override async Task<StoreBackend> CreateBackendAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        return await PostgresBackend.StartAsync(_database);
    }

    public static TheoryData<string> Rejected => new() { "text with a NUL character", "cost beyond numeric(20,6)" };

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task A_write_the_database_rejects_fails_on_its_own_not_with_the_writes_sharing_its_batch(string rejected)
    {
        await using var backend = await SingleWriterAsync();
        var store = backend.Jobs;
        var jobs = Enumerable.Range(1, 20).Select(i => Pending(createdAt: At(i))).ToList();
        await InsertAllAsync(store, jobs);
        var bad = Finished(Running(Leased(jobs[0], "agent-bad", 1)), JobStatus.Failed, At(50));
        bad = rejected.StartsWith("text", StringComparison.Ordinal)
            ? bad with { Error = "segfault\0core dumped" }
            : bad with { Usage = new JobUsage(1, 1, 1_000_000_000_000_000m) };
        var good = jobs.Skip(1).Select(j => Leased(j, "agent-1", 1)).ToList();

        var (badWrite, goodWrites) = await InOneBatchAsync(store, () =>
            (store.UpdateAsync(bad, [AttemptEnded(bad, 0)]), good.Select((g, i) => store.UpdateAsync(g, [AttemptEnded(g, i + 1)])).ToList()));

        var outcomes = await Task.WhenAll(goodWrites.Select(async w => (await Record.ExceptionAsync(() => w))?.GetBaseException().Message ?? "applied"));
        Assert.Equal(Enumerable.Repeat("applied", good.Count), outcomes);
        foreach (var job in good)
        {
            Assert.Equal(job, await store.GetAsync(job.JobId));
        }

        // The rejected write itself may fail, but not hang; its event is appended only if it was applied.
        var badApplied = false;
        var badError = await Record.ExceptionAsync(async () => badApplied = await badWrite.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsNotType<TimeoutException>(badError);
        Assert.Equal(
            good.Select((g, i) => AttemptEnded(g, i + 1)).Prepend(AttemptEnded(bad, 0)).Skip(badApplied ? 0 : 1),
            (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt));
    }

    [Fact]
    public async Task Inserts_of_one_job_id_in_one_batch_insert_it_once_and_return_it_to_the_others()
    {
        await using var backend = await SingleWriterAsync();
        var job = Pending();

        var inserts = await InOneBatchAsync(backend.Jobs, () => Enumerable.Range(0, 3).Select(_ => backend.Jobs.InsertAsync(job)).ToList());

        var results = await Task.WhenAll(inserts);
        Assert.Equal(1, results.Count(r => r is null));
        Assert.Equal(new[] { job, job }, results.Where(r => r is not null));
    }

    [Fact]
    public async Task Of_two_updates_with_the_same_version_in_one_batch_exactly_one_applies_with_its_events()
    {
        await using var backend = await SingleWriterAsync();
        var job = Pending();
        await InsertAllAsync(backend.Jobs, [job]);
        var toA = Leased(job, "agent-a", 1);
        var toB = Leased(job, "agent-b", 1);

        var writes = await InOneBatchAsync(backend.Jobs, () => new[]
        {
            backend.Jobs.UpdateAsync(toA, [AttemptEnded(toA, 1)]),
            backend.Jobs.UpdateAsync(toB, [AttemptEnded(toB, 2)]),
        });

        var applied = await Task.WhenAll(writes);
        Assert.Single(applied, a => a);
        var winner = applied[0] ? toA : toB;
        Assert.Equal(winner, await backend.Jobs.GetAsync(job.JobId));
        Assert.Equal(
            new[] { AttemptEnded(winner, applied[0] ? 1 : 2) },
            (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()));
    }

    [Fact]
    public async Task Updates_of_one_job_in_one_batch_leave_the_highest_version_and_append_only_the_events_of_those_reported_applied()
    {
        await using var backend = await SingleWriterAsync();
        var job = Pending();
        await InsertAllAsync(backend.Jobs, [job]);
        var versions = Enumerable.Range(2, 4).Select(v => job with { Version = v, Attempts = v, UpdatedAt = At(v) }).ToList();

        var writes = await InOneBatchAsync(backend.Jobs, () => Enumerable.Reverse(versions).Select(v => backend.Jobs.UpdateAsync(v, [AttemptEnded(v, (int)v.Version)])).ToList());

        var applied = (await Task.WhenAll(writes)).Reverse().ToArray();
        Assert.Equal(versions[^1], await backend.Jobs.GetAsync(job.JobId));
        Assert.True(applied[^1]);
        Assert.Equal(
            versions.Where((v, i) => applied[i]).Select(v => AttemptEnded(v, (int)v.Version)),
            (await backend.Events.ReadAllAsync()).Select(e => e.Unpositioned()).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt));
    }

    /// <summary>A second store on the test's database with a single writer connection, so batches can be staged.</summary>
    [Fact]
    public async Task Agent_writes_share_the_batch_of_job_writes_and_of_one_agent_only_the_highest_version_applies_with_its_events()
    {
        await using var backend = await SingleWriterAsync();
        var v1 = TestAgents.Agent("agent-1");
        Assert.True(await backend.Agents.WriteAsync(v1, []));
        var v2 = TestAgents.Next(v1, AgentState.Unresponsive, 20);
        var v3 = TestAgents.Next(v2, AgentState.Healthy, 30);
        var job = Pending();
        await InsertAllAsync(backend.Jobs, [job]);
        var leased = Leased(job, "agent-1", 1);

        var writes = await InOneBatchAsync(backend.Jobs, () => new[]
        {
            backend.Agents.WriteAsync(v2, [AgentChanged(2)]),
            backend.Agents.WriteAsync(v3, [AgentChanged(3)]),
            backend.Agents.WriteAsync(v2 with { StateReason = "a rival activation" }, [AgentChanged(4)]),
            backend.Agents.WriteAsync(TestAgents.Agent("agent-2"), [AgentChanged(5)]),
            backend.Jobs.UpdateAsync(leased, [AttemptEnded(leased, 6)]),
        });

        Assert.Equal(new[] { false, true, false, true, true }, await Task.WhenAll(writes));
        TestAgents.AssertSame(v3, await backend.Agents.GetAsync("agent-1"));
        var events = await backend.Events.ReadAllAsync();
        Assert.Equal(
            new[] { AgentChanged(3), AgentChanged(5), AttemptEnded(leased, 6) },
            events.Select(e => e.Unpositioned()).OrderBy(e => e.At));
        Assert.Single(events.Select(e => e.Position >> 20).Distinct()); // one transaction
    }

    private Task<StoreBackend> SingleWriterAsync() =>
        PostgresBackend.StartAsync(Database, new Dictionary<string, string?> { ["MeshOs:Storage:Writers"] = "1" });

    /// <summary>
    /// Runs <paramref name="enqueue"/> while the single writer's current batch waits on a row lock, so that every
    /// write it starts is taken together into the next batch.
    /// </summary>
    private async Task<T> InOneBatchAsync<T>(IJobStore store, Func<T> enqueue)
    {
        var blocker = Pending(tenant: "tenant-blocker", createdAt: At(-1));
        Assert.Null(await store.InsertAsync(blocker));
        await using var rowLock = await LockRowAsync(blocker.JobId);
        var blocked = store.UpdateAsync(Leased(blocker, "agent-0", 1), []);
        await WaitForLockWaitersAsync(1);
        var enqueued = enqueue();
        await rowLock.CommitAsync();
        Assert.True(await blocked);
        return enqueued;
    }

    private static async Task InsertAllAsync(IJobStore store, IEnumerable<JobRecord> jobs)
    {
        foreach (var job in jobs)
        {
            Assert.Null(await store.InsertAsync(job));
        }
    }

    private async Task<NpgsqlTransaction> LockRowAsync(Guid jobId)
    {
        var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("SELECT 1 FROM meshos_jobs WHERE id = $1 FOR UPDATE", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        await command.ExecuteScalarAsync();
        return transaction;
    }

    private async Task WaitForLockWaitersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await Db.ScalarAsync<long>(Database,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") < count)
        {
            Assert.True(DateTime.UtcNow < deadline, "The writer never waited on the row lock.");
            await Task.Delay(10);
        }
    }
}

/// <summary>
/// The event log contract on PostgreSQL (a fresh database per test), and the visibility rule that makes it safe with
/// writers committing out of order: a reader never passes an event whose transaction is still open.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresEventLogTests(PostgresFixture postgres) : EventLogContract
{
    private string? _database;

    private string Database => _database ?? throw new InvalidOperationException("The database is not created yet.");

    protected override async Task<StoreBackend> CreateBackendAsync()
    {
        _database = await postgres.CreateDatabaseAsync();
        return await PostgresBackend.StartAsync(_database);
    }

    [Fact]
    public async Task A_reader_stops_below_an_event_whose_transaction_is_still_open_and_reads_it_once_it_commits()
    {
        var first = AgentChanged(1);
        await Log.AppendAsync([first]);
        var cursor = Assert.Single(await Log.ReadAsync(0, 100)).Position;

        // A writer takes its position (from its transaction id) now but commits last.
        var held = AgentChanged(2);
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var heldPosition = await InsertEventAsync(transaction, held);
        var later = new[] { AgentChanged(3), AgentChanged(4) };
        await Log.AppendAsync([later[0]]);
        await Log.AppendAsync([later[1]]);

        // The later events are committed and positioned above the open one, yet no read goes past it.
        var committed = await Db.ListAsync(Database, "SELECT position FROM meshos_events ORDER BY position", r => r.GetInt64(0));
        Assert.Equal(3, committed.Count);
        Assert.All(committed.Skip(1), p => Assert.True(p > heldPosition));
        Assert.Empty(await Log.ReadAsync(cursor, 100));
        Assert.Equal(new[] { first }, (await Log.ReadAsync(0, 100)).Select(e => e.Unpositioned()));

        await transaction.CommitAsync();

        var rest = await Log.ReadAsync(cursor, 100);
        Assert.Equal(new[] { held, later[0], later[1] }, rest.Select(e => e.Unpositioned()));
        Assert.Equal(heldPosition, rest[0].Position);
        EventLogReading.AssertIncreasing(rest);
    }

    [Fact]
    public async Task A_reader_moves_on_once_an_open_transaction_rolls_back_its_event()
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await InsertEventAsync(transaction, AgentChanged(1));
        var after = AgentChanged(2);
        await Log.AppendAsync([after]);
        Assert.Empty(await Log.ReadAsync(0, 100));

        await transaction.RollbackAsync();
        await transaction.DisposeAsync();

        Assert.Equal(new[] { after }, (await Log.ReadAsync(0, 100)).Select(e => e.Unpositioned()));
    }

    [Fact]
    public async Task The_events_of_an_update_commit_with_it_and_wait_behind_an_older_open_transaction()
    {
        var job = Pending();
        Assert.Null(await Backend.Jobs.InsertAsync(job));

        // A transaction opened before the update's holds back the update's events, and the update is visible to the
        // store's readers as soon as the update returns: the events are in the same transaction as the row.
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await InsertEventAsync(transaction, AgentChanged(1));
        var leased = Leased(job, "agent-1", 1);
        Assert.True(await Backend.Jobs.UpdateAsync(leased, [AttemptEnded(leased, 2)]));
        Assert.Equal(leased, await Backend.Jobs.GetAsync(job.JobId));
        Assert.Equal(1, await Db.ScalarAsync<long>(Database, "SELECT count(*) FROM meshos_events WHERE kind = 1"));
        Assert.Empty(await Log.ReadAsync(0, 100));

        await transaction.CommitAsync();
        Assert.Equal(new[] { AgentChanged(1), AttemptEnded(leased, 2) }, (await Log.ReadAsync(0, 100)).Select(e => e.Unpositioned()));
    }

    [Fact]
    public async Task An_unrelated_long_transaction_does_not_hold_readers_back()
    {
        var first = AgentChanged(1);
        await Log.AppendAsync([first]);

        // An analyst's session: a transaction with an id, older than every event below, kept open for the whole test.
        await using var analyst = new NpgsqlConnection(Database);
        await analyst.OpenAsync();
        await using var longTransaction = await analyst.BeginTransactionAsync();
        await using (var txid = new NpgsqlCommand("SELECT txid_current()", analyst, longTransaction))
        {
            await txid.ExecuteScalarAsync();
        }

        var later = new[] { AgentChanged(2), AgentChanged(3) };
        await Log.AppendAsync([later[0]]);
        await Log.AppendAsync([later[1]]);

        // Appended events are committed when AppendAsync returns: the very next read has them all.
        var read = await Log.ReadAsync(0, 100);
        Assert.Equal(new[] { first, later[0], later[1] }, read.Select(e => e.Unpositioned()));
        EventLogReading.AssertIncreasing(read);
        Assert.Equal(1L, await Db.ScalarAsync<long>(Database,
            $"SELECT count(*) FROM pg_stat_activity WHERE pid = {analyst.ProcessID} AND backend_xid IS NOT NULL AND state = 'idle in transaction'"));
    }

    [Fact]
    public async Task A_slow_writers_event_that_commits_after_a_later_one_is_delivered_exactly_once_in_position_order()
    {
        var consumed = new List<MeshEvent>();
        var cursor = 0L;
        async Task PumpAsync()
        {
            var batch = await Log.ReadAsync(cursor, 100);
            consumed.AddRange(batch);
            cursor = batch.IsEmpty ? cursor : batch[^1].Position;
        }

        var before = AgentChanged(1);
        await Log.AppendAsync([before]);
        await PumpAsync();

        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var slow = await connection.BeginTransactionAsync();
        var slowEvent = AgentChanged(2);
        var slowPosition = await InsertEventAsync(slow, slowEvent);
        var fast = AgentChanged(3);
        await Log.AppendAsync([fast]);
        await PumpAsync();
        await PumpAsync();
        Assert.Equal(new[] { before }, consumed.Select(e => e.Unpositioned()));

        await slow.CommitAsync();
        await PumpAsync();
        await PumpAsync();

        Assert.Equal(new[] { before, slowEvent, fast }, consumed.Select(e => e.Unpositioned()));
        Assert.Equal(slowPosition, consumed[1].Position);
        Assert.True(consumed[2].Position > slowPosition);
        EventLogReading.AssertIncreasing(consumed);
    }

    /// <summary>
    /// Inserts an event the way the group commit does: the transaction first marks itself as an event writer, then its
    /// event's position comes from the transaction's id.
    /// </summary>
    private static async Task<long> InsertEventAsync(NpgsqlTransaction transaction, MeshEvent e)
    {
        await using (var writerLock = new NpgsqlCommand(EventRows.WriterLockSql, transaction.Connection, transaction))
        {
            await writerLock.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(
            """
            INSERT INTO meshos_events (position, kind, at, payload)
            VALUES (pg_current_xact_id()::text::bigint << 20, $1, $2, $3::jsonb)
            RETURNING position
            """,
            transaction.Connection,
            transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = (short)e.Kind });
        command.Parameters.Add(new NpgsqlParameter { Value = e.At.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = MeshEventJson.Serialize(e) });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
