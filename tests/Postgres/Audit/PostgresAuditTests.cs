using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Persistence.Hosting;
using MeshOs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MeshOs.Tests.Postgres.JobStore;
using Npgsql;

namespace MeshOs.Tests.Postgres.Audit;

/// <summary>
/// The audit chain on a real PostgreSQL: one chain from several writers, the append-only guards, and verification
/// after rows are altered, deleted and truncated directly (as a superuser, the triggers switched off).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresAuditTests(PostgresFixture postgres)
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 15, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Key = "an audit checkpoint key of 32+ bytes"u8.ToArray();
    private readonly FakeTimeProvider _clock = new(T0);

    private static AuditDraft Draft(int i) => new(
        new AuditActor("operator", "operator", null, "127.0.0.1"), "tenants.update", $"tenant/t{i % 3}", $"t{i % 3}", AuditOutcome.Succeeded, null, $"req-{i}", null, "rest", null);

    [Fact]
    public async Task Two_silos_on_one_database_extend_one_gapless_chain_that_verifies()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var a = await AuditHost.StartAsync(db, _clock, Key);
        await using var b = await AuditHost.StartAsync(db, _clock, Key);

        var appends = Enumerable.Range(0, 300).Select(i => (i % 2 == 0 ? a : b).Log.AppendAsync(Draft(i)));
        var entries = await Task.WhenAll(appends);

        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), entries.Select(e => e!.Seq).Order());
        Assert.NotNull(await a.Log.CheckpointAsync(AuditCheckpointKind.Periodic));
        var verdict = await b.Log.VerifyAsync(null, null);
        Assert.Equal(new AuditVerdict(true, 1, 300, 300, 1, null, null, null), verdict);
        Assert.Equal(300L, await Db.ScalarAsync<long>(db, "SELECT seq FROM meshos_audit_head"));
    }

    private static AuditDraft JobDraft(string action, Guid jobId, string request) => new(
        new AuditActor("agent", "enrol-1", null, "127.0.0.1"), action, "job/" + jobId.ToString("D"), "tenant-a", AuditOutcome.Succeeded, null, request, null, "grpc", "digest-" + request);

    [Fact]
    public async Task Entries_written_with_job_changes_are_chained_exactly_when_the_change_is_written()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var host = await AuditHost.StartAsync(db, _clock, Key);
        var jobs = host.Jobs;
        Assert.True(jobs.RecordsAudit);
        var job = TestJobs.Pending();

        Assert.Null(await jobs.InsertAsync(job, [JobDraft("jobs.submit", job.JobId, "submit")]));
        Assert.NotNull(await jobs.InsertAsync(job, [JobDraft("jobs.submit", job.JobId, "submit-again")])); // id taken: nothing written
        var leased = TestJobs.Leased(job, "agent-1", 1);
        Assert.True(await jobs.UpdateAsync(leased, [], [JobDraft("agent.start", job.JobId, "start"), JobDraft("agent.complete", job.JobId, "complete")]));
        Assert.False(await jobs.UpdateAsync(leased, [], [JobDraft("agent.complete", job.JobId, "stale")])); // not newer: nothing written

        var page = await host.Log.QueryAsync(new AuditQuery(null, null, null, "job/" + job.JobId.ToString("D"), null, null, null, 10));

        Assert.Equal(["complete", "start", "submit"], page.Entries.Select(e => e.Draft.RequestId));
        Assert.Equal(JobDraft("agent.complete", job.JobId, "complete"), page.Entries[0].Draft);
        Assert.Equal(0L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_audit_inbox"));
        Assert.Equal(new AuditVerdict(true, 1, 3, 3, 0, null, null, null), await host.Log.VerifyAsync(null, null));
    }

    [Fact]
    public async Task Inbox_rows_left_by_another_writer_are_sealed_before_a_read_and_cannot_be_altered()
    {
        var db = await postgres.CreateDatabaseAsync();
        await using (var first = await AuditHost.StartAsync(db, _clock, Key))
        {
            await first.Log.AppendAsync(Draft(1));
        }

        // As a job writer whose silo stopped before its audit writer sealed: the rows wait in the inbox.
        var jobId = Guid.NewGuid();
        await Db.ExecuteAsync(db, $"""
            INSERT INTO meshos_audit_inbox (job_id, actor_kind, actor_key, action, target, outcome, request_id)
            VALUES ('{jobId}', 'tenant', 'key-1', 'jobs.submit', 'job/{jobId}', 'succeeded', 'left-1'),
                   ('{jobId}', 'agent', 'enrol-1', 'agent.complete', 'job/{jobId}', 'succeeded', 'left-2')
            """);
        var altered = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecuteAsync(db, "UPDATE meshos_audit_inbox SET action = 'x'"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, altered.SqlState);

        await using var second = await AuditHost.StartAsync(db, _clock, Key);
        var page = await second.Log.QueryAsync(new AuditQuery(null, null, null, null, null, null, null, 10));

        Assert.Equal([3L, 2L, 1L], page.Entries.Select(e => e.Seq));
        Assert.Equal(["left-2", "left-1", "req-1"], page.Entries.Select(e => e.Draft.RequestId));
        Assert.Equal(0L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_audit_inbox"));
        Assert.True((await second.Log.VerifyAsync(null, null)).Intact);
    }

    [Theory]
    [InlineData("UPDATE meshos_audit SET action = 'x'")]
    [InlineData("DELETE FROM meshos_audit WHERE seq = 1")]
    [InlineData("TRUNCATE meshos_audit")]
    [InlineData("TRUNCATE meshos_audit_203001")]
    [InlineData("DELETE FROM meshos_audit_checkpoints")]
    public async Task Changing_or_removing_entries_is_refused_even_for_a_superuser(string sql)
    {
        var db = await postgres.CreateDatabaseAsync();
        await using (var host = await AuditHost.StartAsync(db, _clock, Key))
        {
            await host.Log.AppendAsync(Draft(1));
            await host.Log.CheckpointAsync(AuditCheckpointKind.Periodic);
        }

        var refused = await Assert.ThrowsAsync<PostgresException>(() => Db.ExecuteAsync(db, sql));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(1L, await Db.ScalarAsync<long>(db, "SELECT count(*) FROM meshos_audit"));
    }

    public static TheoryData<string, string, long, AuditProblem> Tampering => new()
    {
        { "an altered field", "UPDATE meshos_audit SET outcome = 'refused' WHERE seq = 17", 17, AuditProblem.Altered },
        { "an altered time", "UPDATE meshos_audit SET at = at + interval '1 second' WHERE seq = 3", 3, AuditProblem.Altered },
        { "a deleted entry", "DELETE FROM meshos_audit WHERE seq = 25", 25, AuditProblem.Missing },
        { "deleted entries", "DELETE FROM meshos_audit WHERE seq BETWEEN 5 AND 9", 5, AuditProblem.Missing },
        { "a cut tail", "DELETE FROM meshos_audit WHERE seq > 32", 33, AuditProblem.TruncatedTail },
        { "a cut tail with the head moved back", "DELETE FROM meshos_audit WHERE seq > 36; UPDATE meshos_audit_head SET seq = 36, hash = (SELECT hash FROM meshos_audit WHERE seq = 36)", 37, AuditProblem.TruncatedTail },
        { "a truncated table", "TRUNCATE meshos_audit; UPDATE meshos_audit_head SET seq = 0", 1, AuditProblem.TruncatedTail },
        { "a forged checkpoint", "UPDATE meshos_audit_checkpoints SET mac = sha256(mac) WHERE seq = 20", 20, AuditProblem.BadCheckpoint },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task Verify_names_the_first_broken_entry_and_why(string tampering, string sql, long brokenSeq, AuditProblem problem)
    {
        var db = await postgres.CreateDatabaseAsync();
        await using var host = await AuditHost.StartAsync(db, _clock, Key);
        for (var i = 1; i <= 40; i++)
        {
            await host.Log.AppendAsync(Draft(i));
            if (i is 20 or 40)
            {
                await host.Log.CheckpointAsync(AuditCheckpointKind.Periodic);
            }
        }

        Assert.True((await host.Log.VerifyAsync(null, null)).Intact, "intact before tampering");
        await AsSuperuserWithoutTriggersAsync(db, sql);

        var verdict = await host.Log.VerifyAsync(null, null);

        Assert.False(verdict.Intact, tampering);
        Assert.Equal((brokenSeq, problem), (verdict.BrokenSeq!.Value, verdict.Problem!.Value));
        Assert.Contains(brokenSeq.ToString(System.Globalization.CultureInfo.InvariantCulture), verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_drops_whole_past_months_after_a_boundary_checkpoint_and_the_rest_still_verifies()
    {
        var db = await postgres.CreateDatabaseAsync();
        var retention = TimeSpan.FromDays(2_557);
        await using var host = await AuditHost.StartAsync(db, _clock, Key, retention);
        foreach (var month in new[] { new DateTimeOffset(2030, 1, 20, 0, 0, 0, TimeSpan.Zero), new(2030, 2, 10, 0, 0, 0, TimeSpan.Zero), new(2030, 3, 5, 0, 0, 0, TimeSpan.Zero) })
        {
            _clock.SetUtcNow(month);
            for (var i = 0; i < 5; i++)
            {
                await host.Log.AppendAsync(Draft(i));
            }
        }

        _clock.SetUtcNow(new DateTimeOffset(2030, 3, 10, 0, 0, 0, TimeSpan.Zero) + retention);
        await host.Log.AppendAsync(Draft(99));

        var dropped = await host.Log.ApplyRetentionAsync();

        Assert.Equal([new DateOnly(2030, 1, 1), new DateOnly(2030, 2, 1)], dropped);
        Assert.Equal(
            [("meshos_audit_203003", 5L)],
            await Db.ListAsync(db, "SELECT tableoid::regclass::text, count(*) FROM meshos_audit WHERE at < '2031-01-01' GROUP BY 1", r => (r.GetString(0), r.GetInt64(1))));
        Assert.Equal([(10L, "boundary")], await Db.ListAsync(db, "SELECT seq, kind FROM meshos_audit_checkpoints", r => (r.GetInt64(0), r.GetString(1))));
        Assert.Equal(new AuditVerdict(true, 11, 16, 6, 0, null, null, null), await host.Log.VerifyAsync(null, null));
        Assert.Empty(await host.Log.ApplyRetentionAsync());
    }

    private static async Task AsSuperuserWithoutTriggersAsync(string db, string sql)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SET session_replication_role = replica; {sql}", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A silo's audit side on PostgreSQL: the store (migrated, its writer running) and the log over it.</summary>
    private sealed class AuditHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly List<IHostedService> _started;

        private AuditHost(ServiceProvider provider, List<IHostedService> started, IAuditLog log)
        {
            _provider = provider;
            _started = started;
            Log = log;
        }

        public IAuditLog Log { get; }

        /// <summary>The job store of the same silo (its writes carry audit entries into the inbox).</summary>
        public IJobStore Jobs => _provider.GetRequiredService<IJobStore>();

        public static async Task<AuditHost> StartAsync(string db, TimeProvider clock, byte[] key, TimeSpan? retention = null)
        {
            var configuration = new ConfigurationBuilder().Build();
            var provider = new ServiceCollection().AddLogging()
                .AddKeyedSingleton(TimeProviderNames.Grains, clock)
                .AddMeshPostgres(db, configuration)
                .BuildServiceProvider();
            var started = new List<IHostedService>();
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
                started.Add(service);
            }

            var log = new AuditLog(provider.GetRequiredService<IAuditStore>(), new AuditCheckpointSigner(key), true, retention ?? TimeSpan.FromDays(2_557), clock);
            return new AuditHost(provider, started, log);
        }

        public async ValueTask DisposeAsync()
        {
            for (var i = _started.Count - 1; i >= 0; i--)
            {
                await _started[i].StopAsync(CancellationToken.None);
            }

            await _provider.DisposeAsync();
        }
    }
}
