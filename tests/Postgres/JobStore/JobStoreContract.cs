using System.Collections.Immutable;
using System.Text;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Routing;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Jobs;
using static MeshOs.Tests.Postgres.JobStore.EventLogReading;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;
using MeshOs.Grains.Storage;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// The contract of <see cref="IJobStore"/> (its XML docs), run against every backend: each backend derives from this
/// class and says how to build a fresh, empty store for each test.
/// </summary>
public abstract class JobStoreContract : StoreContract
{
    private static readonly QueueKey Queue = new("gpu", "llm", 0);

    protected IJobStore Store => Backend.Jobs;

    protected IEventLog Log => Backend.Events;

    // ---- Insert and get ----

    [Fact]
    public async Task Insert_returns_null_for_a_new_job_and_get_returns_it()
    {
        var job = Pending();

        Assert.Null(await Store.InsertAsync(job));

        Assert.Equal(job, await Store.GetAsync(job.JobId));
        Assert.Null(await Store.GetAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Jobs_round_trip_every_field_exactly_through_insert_update_get_and_list()
    {
        var full = Full();
        var minimal = Pending(tenant: "tenant-rt", createdAt: At(1)) with { Usage = new JobUsage(0, 0, 0.000001m) };
        var big = Pending(tenant: "tenant-rt", createdAt: At(2)) with
        {
            Spec = Spec() with { PayloadJson = BigPayload(1_000_000) },
            ResultJson = BigPayload(250_000),
            Usage = new JobUsage(long.MaxValue, long.MaxValue, 99_999_999_999_999.999999m),
        };
        var unicode = Pending(tenant: "tenant-rt", createdAt: At(3), type: "ТИП-类型-🙂", pool: "プール", capability: "能力") with
        {
            Spec = Spec(type: "ТИП-类型-🙂", pool: "プール", capability: "能力", key: "ключ-🔑") with
            {
                PayloadJson = """{"emoji":"👩‍👩‍👧‍👦","rtl":"مرحبا","combining":"é","escaped":"\u0000\n"}""",
            },
            Error = "ℹ️ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            AgentId = "агент-1",
        };

        foreach (var job in new[] { full, minimal, big, unicode })
        {
            Assert.Null(await Store.InsertAsync(job));
        }

        Assert.Equal(full, await Store.GetAsync(full.JobId));
        Assert.Equal(minimal, await Store.GetAsync(minimal.JobId));
        Assert.Equal(big, await Store.GetAsync(big.JobId));
        Assert.Equal(unicode, await Store.GetAsync(unicode.JobId));
        Assert.Equal(new[] { unicode, big, minimal }, (await Store.ListAsync(Query("tenant-rt"))).Jobs);
        Assert.Equal(new[] { full }, (await Store.ListAsync(Query(full.TenantId))).Jobs);

        // The update path writes the mutable fields on its own: every one of them must round-trip too.
        var target = Full();
        var initial = target with
        {
            Status = JobStatus.Pending, Attempts = 0, Version = 1, AgentId = null, Epoch = 0, LeaseExpiresAt = null, StartedAt = null,
            CompletedAt = null, ResultJson = null, Error = null, Usage = JobUsage.None, LeasedAt = null, AgentVersion = null, UpdatedAt = target.CreatedAt,
            Spec = target.Spec with { IdempotencyKey = "another-key" },
        };
        // The routing decision is written by updates only (the lease's).
        var routing = new RoutingDecision("adaptive", "best-score", 7,
        [
            new RoutingCandidateScore("агент-1", "2.1.0", 0.8125, 0.9643, 41.5, 0.000023, 112, 3, 4),
            new RoutingCandidateScore("agent-2", null, null, null, null, null, 0, 0, 1),
        ]);
        var updated = target with { Spec = initial.Spec, Routing = routing };
        Assert.Null(await Store.InsertAsync(initial));
        Assert.True(await Store.UpdateAsync(updated, []));
        Assert.Equal(updated, await Store.GetAsync(updated.JobId));

        // …and back to nulls.
        var cleared = initial with { Version = updated.Version + 1, Attempts = 8, Epoch = long.MaxValue, UpdatedAt = At(500) };
        Assert.True(await Store.UpdateAsync(cleared, []));
        Assert.Equal(cleared, await Store.GetAsync(cleared.JobId));
    }

    [Fact]
    public async Task Inserting_the_same_id_again_returns_the_stored_job_and_writes_nothing()
    {
        var first = Pending(key: "k-1");
        Assert.Null(await Store.InsertAsync(first));

        // Everything differs but the id: tenant, status, key, times.
        var again = Full(first.JobId);
        Assert.Equal(first, await Store.InsertAsync(again));
        Assert.Equal(first, await Store.InsertAsync(first));

        Assert.Equal(first, await Store.GetAsync(first.JobId));
        Assert.Equal(Counts((JobStatus.Pending, 1)), await Store.CountByStatusAsync());
        Assert.Empty((await Store.ListAsync(Query(again.TenantId))).Jobs);
        Assert.Equal(new[] { first }, (await Store.ListAsync(Query(first.TenantId))).Jobs);

        // The refused job's idempotency key was not taken either.
        var keyed = Pending(tenant: again.TenantId, key: again.Spec.IdempotencyKey);
        Assert.Null(await Store.InsertAsync(keyed));
    }

    [Fact]
    public async Task The_same_tenant_and_idempotency_key_under_another_id_returns_the_first_job()
    {
        var first = Pending(key: "order-17", createdAt: At(1));
        var duplicate = Pending(key: "order-17", createdAt: At(2), type: "other", priority: 1);
        Assert.Null(await Store.InsertAsync(first));

        Assert.Equal(first, await Store.InsertAsync(duplicate));

        Assert.Null(await Store.GetAsync(duplicate.JobId));
        Assert.Equal(new[] { first }, (await Store.ListAsync(Query(first.TenantId))).Jobs);
        Assert.Equal(Counts((JobStatus.Pending, 1)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task The_same_idempotency_key_under_another_tenant_is_another_job_and_jobs_without_a_key_never_collide()
    {
        var a = Pending(tenant: "tenant-a", key: "shared-key");
        var b = Pending(tenant: "tenant-b", key: "shared-key");
        var noKey1 = Pending(tenant: "tenant-a", createdAt: At(1));
        var noKey2 = Pending(tenant: "tenant-a", createdAt: At(2));

        Assert.Null(await Store.InsertAsync(a));
        Assert.Null(await Store.InsertAsync(b));
        Assert.Null(await Store.InsertAsync(noKey1));
        Assert.Null(await Store.InsertAsync(noKey2));

        Assert.Equal(a, await Store.GetAsync(a.JobId));
        Assert.Equal(b, await Store.GetAsync(b.JobId));
        Assert.Equal(Counts((JobStatus.Pending, 4)), await Store.CountByStatusAsync());
    }

    // ---- Update ----

    [Fact]
    public async Task Update_applies_only_when_the_version_is_greater_than_the_stored_one()
    {
        var v1 = Pending();
        Assert.Null(await Store.InsertAsync(v1));

        Assert.False(await Store.UpdateAsync(Running(v1) with { Version = 1 }, []));
        Assert.Equal(v1, await Store.GetAsync(v1.JobId));

        var v2 = Leased(v1, "agent-1", epoch: 1);
        Assert.True(await Store.UpdateAsync(v2, []));
        Assert.Equal(v2, await Store.GetAsync(v1.JobId));

        // Equal version with other content, then a lower one: both refused, nothing moves back.
        Assert.False(await Store.UpdateAsync(v2 with { AgentId = "agent-2", Epoch = 9, Status = JobStatus.Running }, []));
        Assert.False(await Store.UpdateAsync(Finished(v1, JobStatus.Succeeded, At(30)) with { Version = 1 }, []));
        Assert.False(await Store.UpdateAsync(v1 with { Version = 0 }, []));
        Assert.Equal(v2, await Store.GetAsync(v1.JobId));

        // Greater is enough: versions need not be consecutive.
        var v10 = Running(v2) with { Version = 10 };
        Assert.True(await Store.UpdateAsync(v10, default));
        Assert.Equal(v10, await Store.GetAsync(v1.JobId));
        Assert.Equal(Counts((JobStatus.Running, 1)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task Updating_an_unknown_job_returns_false_and_stores_nothing()
    {
        var ghost = Leased(Pending(), "agent-1", 1);

        Assert.False(await Store.UpdateAsync(ghost, [AttemptEnded(ghost, 1)]));

        Assert.Null(await Store.GetAsync(ghost.JobId));
        Assert.Empty(await Store.CountByStatusAsync());
        Assert.Empty(await Log.ReadAsync(0, 100));
    }

    [Fact]
    public async Task Events_passed_with_an_update_are_appended_only_when_the_update_applies()
    {
        var v1 = Pending();
        Assert.Null(await Store.InsertAsync(v1));
        var v2 = Leased(v1, "agent-1", epoch: 1);
        var applied = ImmutableArray.Create(AttemptEnded(v2, 1), AgentChanged(2), AttemptEnded(v2, 3));

        Assert.True(await Store.UpdateAsync(v2, applied));
        var afterApplied = (await Log.ReadAsync(0, 100)).ToList();
        Assert.Equal(applied, afterApplied.Select(e => e.Unpositioned()));
        AssertIncreasing(afterApplied);

        // Refused updates (same version, older version, unknown job) append nothing.
        Assert.False(await Store.UpdateAsync(v2 with { Epoch = 5 }, [AttemptEnded(v2, 4)]));
        Assert.False(await Store.UpdateAsync(v1, [AttemptEnded(v1, 5)]));
        Assert.False(await Store.UpdateAsync(Leased(Pending(), "agent-9", 1), [AgentChanged(6)]));
        Assert.Equal(afterApplied, await Log.ReadAsync(0, 100));

        // Applied updates without events append nothing.
        var v3 = Running(v2);
        Assert.True(await Store.UpdateAsync(v3, []));
        Assert.True(await Store.UpdateAsync(Finished(v3, JobStatus.Succeeded, At(40)), default));
        Assert.Equal(afterApplied, await Log.ReadAsync(0, 100));
        Assert.Empty(await Log.ReadAsync(afterApplied[^1].Position, 100));
    }

    // ---- ListAsync ----

    [Fact]
    public async Task List_returns_a_tenants_jobs_newest_first_by_created_at_then_id_one_page_at_a_time()
    {
        // Ties in CreatedAt (three at 5 s, four at 7 s) are broken by id; another tenant's jobs share the same times.
        double[] times = [1, 2, 5, 5, 5, 6, 7, 7, 7, 7, 9, 12];
        var mine = times.Select(t => Pending(tenant: "tenant-a", createdAt: At(t))).ToList();
        var theirs = times.Take(5).Select(t => Pending(tenant: "tenant-b", createdAt: At(t))).ToList();
        await InsertAllAsync([.. mine, .. theirs]);
        var expected = NewestFirst(mine);

        var pages = await ListPagesAsync(Query("tenant-a", limit: 5));
        Assert.Equal([5, 5, 2], pages.Select(p => p.Jobs.Length));
        Assert.Equal(expected, pages.SelectMany(p => p.Jobs));
        Assert.NotNull(pages[0].NextCursor);
        Assert.NotNull(pages[1].NextCursor);
        Assert.Null(pages[2].NextCursor);

        var whole = await Store.ListAsync(Query("tenant-a", limit: 100));
        Assert.Equal(expected, whole.Jobs);
        Assert.Null(whole.NextCursor);

        var one = await Store.ListAsync(Query("tenant-a", limit: 1));
        Assert.Equal(new[] { expected[0] }, one.Jobs);
        Assert.NotNull(one.NextCursor);

        Assert.Equal(NewestFirst(theirs), (await Store.ListAsync(Query("tenant-b"))).Jobs);
        var nobody = await Store.ListAsync(Query("tenant-nobody"));
        Assert.Empty(nobody.Jobs);
        Assert.Null(nobody.NextCursor);
    }

    [Fact]
    public async Task List_filters_by_status_type_and_created_time_from_inclusive_to_exclusive()
    {
        var jobs = new List<JobRecord>();
        for (var i = 0; i < 24; i++)
        {
            var job = Pending(tenant: "tenant-a", createdAt: At(i / 2), type: (i % 3) switch { 0 => "a", 1 => "b", _ => "B" });
            jobs.Add(i % 4 == 0 ? Finished(job, JobStatus.Succeeded, At(100)) : job);
        }

        var other = Pending(tenant: "tenant-b", createdAt: At(4), type: "a");
        await InsertAllAsync([.. jobs, other]);

        async Task CheckAsync(JobStatus? status, string? type, DateTimeOffset? from, DateTimeOffset? to)
        {
            var expected = NewestFirst(jobs.Where(j =>
                (status is null || j.Status == status) && (type is null || j.Spec.Type == type)
                && (from is null || j.CreatedAt >= from) && (to is null || j.CreatedAt < to)));
            Assert.Equal(expected, await ListAllAsync(Query("tenant-a", limit: 2, status, type, from, to)));
            Assert.Equal(expected, (await Store.ListAsync(Query("tenant-a", limit: 100, status, type, from, to))).Jobs);
        }

        await CheckAsync(JobStatus.Succeeded, null, null, null);
        await CheckAsync(JobStatus.Pending, null, null, null);
        await CheckAsync(JobStatus.Failed, null, null, null);
        await CheckAsync(null, "b", null, null);
        await CheckAsync(null, "B", null, null);
        await CheckAsync(null, "missing", null, null);
        await CheckAsync(null, null, At(3), null);
        await CheckAsync(null, null, null, At(7));
        await CheckAsync(null, null, At(3), At(7));
        await CheckAsync(JobStatus.Pending, "a", At(2), At(9));
        await CheckAsync(null, null, At(5), At(5));

        // The bounds themselves: from is inclusive, to exclusive.
        var atFive = jobs.Where(j => j.CreatedAt == At(5)).ToList();
        Assert.Equal(2, atFive.Count);
        Assert.Equal(NewestFirst(atFive), (await Store.ListAsync(Query("tenant-a", from: At(5), to: At(5.000001)))).Jobs);
        Assert.DoesNotContain((await Store.ListAsync(Query("tenant-a", to: At(5)))).Jobs, j => j.CreatedAt == At(5));
    }

    [Fact]
    public async Task Cursor_paging_walks_ties_in_created_at_by_id_without_skips_or_repeats_even_while_jobs_arrive()
    {
        var tie = At(50);
        var tied = Enumerable.Range(0, 9).Select(_ => Pending(createdAt: tie)).ToList();
        var older = Pending(createdAt: At(10));
        var newer = Pending(createdAt: At(90));
        await InsertAllAsync([.. tied, older, newer]);
        var expected = NewestFirst([.. tied, older, newer]);

        var first = await Store.ListAsync(Query("tenant-a", limit: 3));
        Assert.Equal(expected.Take(3), first.Jobs);

        // Between two pages: a job sorting before the cursor must not show up, one sorting after it must.
        var cursorJob = first.Jobs[^1];
        var beforeCursor = Pending(id: MaxId(), createdAt: tie);
        var afterCursor = Pending(id: MinId(), createdAt: tie);
        var newest = Pending(createdAt: At(1000));
        await InsertAllAsync(beforeCursor, afterCursor, newest);

        var rest = await ListAllAsync(Query("tenant-a", limit: 3) with { Cursor = first.NextCursor });
        Assert.Equal(
            NewestFirst([.. tied, older, newer, beforeCursor, afterCursor, newest])
                .SkipWhile(j => j != cursorJob).Skip(1),
            rest);
        Assert.Contains(afterCursor, rest);
        Assert.DoesNotContain(beforeCursor, rest);
        Assert.DoesNotContain(newest, rest);
    }

    [Fact]
    public async Task The_page_that_ends_a_listing_has_no_next_cursor_even_when_it_is_full()
    {
        var jobs = Enumerable.Range(0, 6).Select(i => Pending(createdAt: At(i))).ToList();
        await InsertAllAsync([.. jobs]);

        var first = await Store.ListAsync(Query("tenant-a", limit: 3));
        var second = await Store.ListAsync(Query("tenant-a", limit: 3) with { Cursor = first.NextCursor });

        Assert.Equal(NewestFirst(jobs), first.Jobs.Concat(second.Jobs));
        Assert.Null(second.NextCursor);
        Assert.Null((await Store.ListAsync(Query("tenant-a", limit: 6))).NextCursor);
    }

    [Fact]
    public async Task A_cursor_older_than_every_job_gives_an_empty_last_page_and_one_newer_than_every_job_gives_them_all()
    {
        var jobs = Enumerable.Range(1, 4).Select(i => Pending(createdAt: At(i))).ToList();
        await InsertAllAsync([.. jobs]);

        var older = await Store.ListAsync(Query("tenant-a") with { Cursor = new JobCursor(At(0), Guid.Empty).Encode() });
        Assert.Empty(older.Jobs);
        Assert.Null(older.NextCursor);

        var newer = await Store.ListAsync(Query("tenant-a") with { Cursor = new JobCursor(At(10), Guid.Empty).Encode() });
        Assert.Equal(NewestFirst(jobs), newer.Jobs);
        Assert.Null(newer.NextCursor);
    }

    [Theory]
    [InlineData("not a cursor")]
    [InlineData("AAAA")]
    [InlineData("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%")]
    [InlineData("________________________________")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task A_cursor_the_store_did_not_produce_is_an_invalid_argument(string cursor)
    {
        await InsertAllAsync(Pending());

        var ex = await Assert.ThrowsAsync<MeshException>(() => Store.ListAsync(Query("tenant-a") with { Cursor = cursor }));

        Assert.Equal(MeshErrorCode.InvalidArgument, ex.Code);
    }

    // ---- Queue shards ----

    [Fact]
    public async Task List_pending_returns_one_queue_shards_pending_jobs_of_every_tenant_in_id_order_page_by_page()
    {
        // Ids spread over the whole range (high bits set and not) so that the id order is really exercised.
        var inQueue = Enumerable.Range(0, 23)
            .Select(i => Pending(tenant: i % 3 == 0 ? "tenant-b" : "tenant-a", id: SpreadId(i), createdAt: At(i), priority: i % 10) with
            {
                AvailableAt = At(i + 0.5),
                UpdatedAt = At(i + 0.25),
            })
            .ToList();
        var leased = Leased(Pending(), "agent-1", 1);
        var done = Finished(Pending(), JobStatus.Succeeded, At(5));
        var elsewhere = new[]
        {
            Pending(shard: 1), Pending(capability: "chat"), Pending(pool: "cpu"), Pending(pool: "gpu2", capability: "llm"),
        };
        await InsertAllAsync([.. inQueue, leased, done, .. elsewhere]);
        var expected = inQueue.OrderBy(j => j.JobId).Select(PendingRef).ToList();

        Assert.Equal(expected, await Store.ListPendingAsync(Queue, null, 100));

        var pages = new List<ImmutableArray<PendingJobRef>>();
        Guid? after = null;
        do
        {
            pages.Add(await Store.ListPendingAsync(Queue, after, 10));
            after = pages[^1].IsEmpty ? after : pages[^1][^1].JobId;
        }
        while (pages[^1].Length == 10);

        Assert.Equal([10, 10, 3], pages.Select(p => p.Length));
        Assert.Equal(expected, pages.SelectMany(p => p));

        // afterJobId need not be a listed job: the page starts at the next id above it.
        var pivot = new Guid("80000000-0000-0000-0000-000000000000");
        Assert.Equal(expected.Where(r => r.JobId.CompareTo(pivot) > 0), await Store.ListPendingAsync(Queue, pivot, 100));
        Assert.Empty(await Store.ListPendingAsync(Queue, MaxId(), 100));
        Assert.Empty(await Store.ListPendingAsync(new QueueKey("gpu", "llm", 7), null, 100));
        Assert.Equal([elsewhere[0].JobId], (await Store.ListPendingAsync(Queue with { Shard = 1 }, null, 100)).Select(r => r.JobId));
    }

    [Fact]
    public async Task A_pending_jobs_data_classes_are_listed_with_it_for_its_queue()
    {
        var classified = Pending() with { Spec = Spec() with { DataClasses = ["phi", "pii"] } };
        var plain = Pending();
        await InsertAllAsync(classified, plain);

        var listed = (await Store.ListPendingAsync(Queue, null, 100)).ToDictionary(r => r.JobId);

        Assert.Equal(new[] { "phi", "pii" }, listed[classified.JobId].DataClasses);
        Assert.True(listed[plain.JobId].DataClasses.IsDefaultOrEmpty);
        Assert.Equal(new[] { "phi", "pii" }, (await Store.GetAsync(classified.JobId))!.Spec.DataClasses);
    }

    [Fact]
    public async Task Status_changes_move_jobs_between_the_pending_and_leased_lists_and_terminal_jobs_are_in_neither()
    {
        var jobs = Enumerable.Range(0, 6).Select(i => Pending(id: SpreadId(i * 4), createdAt: At(i))).ToList();
        await InsertAllAsync([.. jobs]);
        Assert.Equal(jobs.Select(j => j.JobId).Order(), (await Store.ListPendingAsync(Queue, null, 100)).Select(r => r.JobId));
        Assert.Empty(await Store.ListLeasedAsync(Queue, null, 100));

        var leased = Leased(jobs[0], "agent-1", epoch: 1);
        var running = Running(Leased(jobs[1], "agent-2", epoch: 3));
        var retried = Next(Running(Leased(jobs[2], "agent-1", epoch: 1)), JobStatus.Pending, 20) with
        {
            AgentId = null,
            LeaseExpiresAt = null,
            AvailableAt = At(25),
        };
        var cancelled = Finished(jobs[3], JobStatus.Cancelled, At(12));
        await UpdateChainAsync(jobs[0], leased);
        await UpdateChainAsync(jobs[1], Leased(jobs[1], "agent-2", epoch: 3), running);
        await UpdateChainAsync(jobs[2], Leased(jobs[2], "agent-1", epoch: 1), Running(Leased(jobs[2], "agent-1", epoch: 1)), retried);
        await UpdateChainAsync(jobs[3], cancelled);

        Assert.Equal(
            new[] { retried, jobs[4], jobs[5] }.OrderBy(j => j.JobId).Select(PendingRef),
            await Store.ListPendingAsync(Queue, null, 100));
        Assert.Equal(
            new[] { leased, running }.OrderBy(j => j.JobId).Select(LeasedRef),
            await Store.ListLeasedAsync(Queue, null, 100));
        Assert.Equal(new[] { LeasedRef(new[] { leased, running }.MaxBy(j => j.JobId)!) },
            await Store.ListLeasedAsync(Queue, new[] { leased, running }.Min(j => j.JobId), 100));
        Assert.Equal(new[] { LeasedRef(new[] { leased, running }.MinBy(j => j.JobId)!) }, await Store.ListLeasedAsync(Queue, null, 1));

        // Every live job ends: both lists empty.
        await UpdateChainAsync(leased, Running(leased, 30), Finished(Running(leased, 30), JobStatus.Succeeded, At(31)));
        await UpdateChainAsync(running, Finished(running, JobStatus.TimedOut, At(32)));
        await UpdateChainAsync(retried, Finished(retried, JobStatus.DeadLettered, At(33)));
        await UpdateChainAsync(jobs[4], Finished(jobs[4], JobStatus.Failed, At(34)));
        await UpdateChainAsync(jobs[5], Finished(jobs[5], JobStatus.Succeeded, At(35)));
        Assert.Empty(await Store.ListPendingAsync(Queue, null, 100));
        Assert.Empty(await Store.ListLeasedAsync(Queue, null, 100));
    }

    [Fact]
    public async Task List_leased_pages_by_job_id_within_one_queue_shard()
    {
        var live = Enumerable.Range(0, 12)
            .Select(i => Pending(id: SpreadId(i * 2), createdAt: At(i)))
            .Select((j, i) => i % 2 == 0 ? Leased(j, $"agent-{i}", epoch: i + 1) : Running(Leased(j, $"agent-{i}", epoch: i + 1)))
            .ToList();
        var otherShard = Leased(Pending(shard: 2), "agent-x", 1);
        await InsertAllAsync([.. live, otherShard]);
        var expected = live.OrderBy(j => j.JobId).Select(LeasedRef).ToList();

        var page1 = await Store.ListLeasedAsync(Queue, null, 5);
        var page2 = await Store.ListLeasedAsync(Queue, page1[^1].JobId, 5);
        var page3 = await Store.ListLeasedAsync(Queue, page2[^1].JobId, 5);

        Assert.Equal(expected, page1.Concat(page2).Concat(page3));
        Assert.Equal(2, page3.Length);
        Assert.Equal(new[] { LeasedRef(otherShard) }, await Store.ListLeasedAsync(Queue with { Shard = 2 }, null, 5));
    }

    [Fact]
    public async Task List_leased_by_agent_returns_the_agents_leased_and_running_jobs_with_their_epochs()
    {
        var leased = Leased(Pending(), "agent-1", epoch: 3);
        var running = Running(Leased(Pending(shard: 3, pool: "cpu"), "agent-1", epoch: 5));
        var otherTenant = Leased(Pending(tenant: "tenant-b"), "agent-1", epoch: 1);
        var finished = Finished(Running(Leased(Pending(), "agent-1", epoch: 2)), JobStatus.Succeeded, At(20));
        var requeued = Next(Leased(Pending(), "agent-1", epoch: 4), JobStatus.Pending) with { LeaseExpiresAt = null };
        var someoneElse = Leased(Pending(), "agent-2", epoch: 7);
        await InsertAllAsync(leased, running, otherTenant, finished, requeued, someoneElse);

        Assert.Equal(
            new[] { leased, running, otherTenant }.Select(j => new LeaseRef(j.JobId, j.Epoch)).OrderBy(r => r.JobId),
            (await Store.ListLeasedByAgentAsync("agent-1")).OrderBy(r => r.JobId));
        Assert.Equal(new[] { new LeaseRef(someoneElse.JobId, 7) }, await Store.ListLeasedByAgentAsync("agent-2"));
        Assert.Empty(await Store.ListLeasedByAgentAsync("agent-unknown"));

        // Leaving the agent (ending, or going back to Pending) removes the job from the agent's list.
        await UpdateChainAsync(leased, Finished(leased, JobStatus.Cancelled, At(30)));
        await UpdateChainAsync(running, Next(running, JobStatus.Pending, 31) with { AgentId = null, LeaseExpiresAt = null });
        Assert.Equal(new[] { new LeaseRef(otherTenant.JobId, 1) }, await Store.ListLeasedByAgentAsync("agent-1"));
    }

    // ---- Counts and retention ----

    [Fact]
    public async Task Count_by_status_follows_inserts_status_changes_and_pruned_days()
    {
        Assert.Empty(await Store.CountByStatusAsync());

        var jobs = Enumerable.Range(0, 5).Select(i => Pending(createdAt: At(i))).ToList();
        var running = Running(Leased(Pending(), "agent-1", 1));
        await InsertAllAsync([.. jobs, running]);
        Assert.Equal(Counts((JobStatus.Pending, 5), (JobStatus.Running, 1)), await Store.CountByStatusAsync());

        // A refused insert and a refused update change nothing.
        Assert.NotNull(await Store.InsertAsync(jobs[0] with { Status = JobStatus.Running }));
        Assert.False(await Store.UpdateAsync(jobs[0] with { Status = JobStatus.Failed }, []));
        // An update that keeps the status changes nothing either.
        Assert.True(await Store.UpdateAsync(Next(jobs[0], JobStatus.Pending), []));
        Assert.Equal(Counts((JobStatus.Pending, 5), (JobStatus.Running, 1)), await Store.CountByStatusAsync());

        var leased = Leased(jobs[1], "agent-1", 2);
        await UpdateChainAsync(jobs[1], leased);
        await UpdateChainAsync(jobs[2], Finished(jobs[2], JobStatus.Cancelled, At(10)));
        await UpdateChainAsync(running, Finished(running, JobStatus.Succeeded, At(11)));
        Assert.Equal(
            Counts((JobStatus.Pending, 3), (JobStatus.Leased, 1), (JobStatus.Cancelled, 1), (JobStatus.Succeeded, 1)),
            await Store.CountByStatusAsync());

        // A day of finished jobs goes with its counts; statuses that drop to zero disappear.
        var otherDay = new[] { Pending(createdAt: OnDay(1, 1)), Pending(createdAt: OnDay(1, 2)) };
        await InsertAllAsync(otherDay);
        await UpdateChainAsync(otherDay[0], Finished(otherDay[0], JobStatus.Failed, OnDay(1, 3)));
        await UpdateChainAsync(otherDay[1], Finished(otherDay[1], JobStatus.Succeeded, OnDay(1, 3)));
        Assert.Equal(
            Counts((JobStatus.Pending, 3), (JobStatus.Leased, 1), (JobStatus.Cancelled, 1), (JobStatus.Succeeded, 2), (JobStatus.Failed, 1)),
            await Store.CountByStatusAsync());
        await UpdateChainAsync(leased, Running(leased));
        Assert.Equal([Day(1)], (await PruneAsync(OnDay(2, 1))).Dropped);
        Assert.Equal(
            Counts((JobStatus.Pending, 3), (JobStatus.Running, 1), (JobStatus.Cancelled, 1), (JobStatus.Succeeded, 1)),
            await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task Prune_drops_whole_days_whose_jobs_all_finished_before_the_cutoff_and_holds_days_with_unfinished_jobs()
    {
        var cutoff = OnDay(5, 6);
        // Day 0: every terminal status, completed days before the cutoff; one never completed (a cancel without a time).
        var day0 = new[] { JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled, JobStatus.TimedOut, JobStatus.DeadLettered }
            .Select((s, i) => Finished(Pending(createdAt: OnDay(0, i)), s, OnDay(1, i)))
            .Append(Pending(createdAt: OnDay(0, 12)) with { Status = JobStatus.Cancelled, CompletedAt = null })
            .ToList();
        // Day 1: finished, but one job of the day is still pending, another leased: the day is held.
        var day1Done = Finished(Pending(createdAt: OnDay(1, 1)), JobStatus.Succeeded, OnDay(1, 2));
        var day1Pending = Pending(createdAt: OnDay(1, 3));
        var day1Leased = Leased(Pending(createdAt: OnDay(1, 4)), "agent-1", 1);
        // Day 2: finished, the last of them after the cutoff: kept.
        var day2 = new[] { Finished(Pending(createdAt: OnDay(2, 1)), JobStatus.Succeeded, OnDay(2, 2)), Finished(Pending(createdAt: OnDay(2, 3)), JobStatus.Failed, cutoff) };
        // Day 5: not over at the cutoff.
        var day5 = Finished(Pending(createdAt: OnDay(5, 1)), JobStatus.Succeeded, OnDay(5, 2));
        await InsertAllAsync([.. day0, day1Done, day1Pending, day1Leased, .. day2, day5]);

        var pruned = await PruneAsync(cutoff);

        Assert.Equal([Day(0)], pruned.Dropped);
        Assert.Equal([Day(1)], pruned.Held);
        foreach (var job in day0)
        {
            Assert.Null(await Store.GetAsync(job.JobId));
        }

        JobRecord[] kept = [day1Done, day1Pending, day1Leased, .. day2, day5];
        foreach (var job in kept)
        {
            Assert.Equal(job, await Store.GetAsync(job.JobId));
        }

        Assert.Equal(NewestFirst(kept), (await Store.ListAsync(Query("tenant-a"))).Jobs);
        Assert.Equal(Counts((JobStatus.Succeeded, 3), (JobStatus.Failed, 1), (JobStatus.Pending, 1), (JobStatus.Leased, 1)), await Store.CountByStatusAsync());
        var again = await PruneAsync(cutoff);
        Assert.Empty(again.Dropped);
        Assert.Equal([Day(1)], again.Held);

        // The held day's jobs are live as ever; once they finish (long enough ago) their day goes.
        Assert.Equal([day1Pending.JobId], (await Store.ListPendingAsync(Queue, null, 10)).Select(r => r.JobId));
        await UpdateChainAsync(day1Pending, Finished(day1Pending, JobStatus.Succeeded, OnDay(3, 0)));
        await UpdateChainAsync(day1Leased, Finished(day1Leased, JobStatus.Failed, OnDay(3, 0)));
        Assert.Equal([Day(1)], (await PruneAsync(cutoff)).Dropped);
        Assert.Equal(NewestFirst([.. day2, day5]), (await Store.ListAsync(Query("tenant-a"))).Jobs);
        Assert.Equal(Counts((JobStatus.Succeeded, 2), (JobStatus.Failed, 1)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task A_pruned_day_frees_its_idempotency_keys()
    {
        var first = Finished(Pending(key: "nightly-2025-06-01", createdAt: OnDay(0, 1)), JobStatus.Succeeded, OnDay(0, 2));
        await InsertAllAsync(first);
        var second = Pending(key: "nightly-2025-06-01", createdAt: OnDay(3, 1));
        Assert.Equal(first, await Store.InsertAsync(second));

        Assert.Equal([Day(0)], (await PruneAsync(OnDay(2, 0))).Dropped);

        Assert.Null(await Store.InsertAsync(second));
        Assert.Equal(second, await Store.GetAsync(second.JobId));
        Assert.Null(await Store.GetAsync(first.JobId));
    }

    [Fact]
    public async Task The_same_id_or_key_inserted_on_a_later_day_returns_the_first_job()
    {
        await Store.PrepareDaysAsync([Day(0), Day(1), Day(3)]);
        var byId = Pending(createdAt: OnDay(0, 1));
        var byKey = Pending(key: "weekly", createdAt: OnDay(0, 2));
        var fresh = Pending(id: Guid.CreateVersion7(OnDay(0, 3)), createdAt: OnDay(0, 3));
        await InsertAllAsync(byId, byKey, fresh);

        Assert.Equal(byId, await Store.InsertAsync(byId with { CreatedAt = OnDay(3, 1), UpdatedAt = OnDay(3, 1) }));
        Assert.Equal(byKey, await Store.InsertAsync(byKey with { CreatedAt = OnDay(3, 2), UpdatedAt = OnDay(3, 2) }));
        Assert.Equal(byKey, await Store.InsertAsync(Pending(key: "weekly", createdAt: OnDay(3, 2))));
        Assert.Equal(fresh, await Store.InsertAsync(fresh with { CreatedAt = OnDay(1, 3), UpdatedAt = OnDay(1, 3) }));

        Assert.Equal(NewestFirst([byId, byKey, fresh]), (await Store.ListAsync(Query("tenant-a"))).Jobs);
        Assert.Equal(Counts((JobStatus.Pending, 3)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task A_job_whose_version_7_id_is_days_away_from_its_creation_time_is_found_and_updated()
    {
        await Store.PrepareDaysAsync([Day(0), Day(5)]);
        var skewed = Pending(id: Guid.CreateVersion7(OnDay(0, 1)), createdAt: OnDay(5, 1));
        var missing = Guid.CreateVersion7(OnDay(0, 1));
        await InsertAllAsync(skewed);

        Assert.Equal(skewed, await Store.GetAsync(skewed.JobId));
        Assert.Null(await Store.GetAsync(missing));
        var leased = Leased(skewed, "agent-1", 1);
        await UpdateChainAsync(skewed, leased);
        Assert.Equal(leased, await Store.GetAsync(skewed.JobId));
    }

    /// <summary>The UTC day <paramref name="day"/> days after <see cref="TestJobs.T0"/>'s.</summary>
    private static DateOnly Day(int day) => JobRetentionPolicy.Days.PeriodOf(T0).AddDays(day);

    /// <summary>An instant on <see cref="Day"/>, <paramref name="hours"/> after its start.</summary>
    private static DateTimeOffset OnDay(int day, double hours) => JobRetentionPolicy.Days.Start(Day(day)).AddHours(hours);

    /// <summary>A retention pass as the maintenance service makes it: room for the days stored, then the prune.</summary>
    private async Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff)
    {
        await Store.PrepareDaysAsync([]);
        return await Store.PruneAsync(cutoff);
    }

    // ---- Concurrency ----

    [Fact]
    public async Task Two_hundred_jobs_inserted_and_updated_concurrently_all_apply_with_their_events()
    {
        const int Jobs = 200;
        var finals = new JobRecord[Jobs];
        var results = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(i => Task.Run(async () =>
        {
            var job = Pending(tenant: $"tenant-{i % 7}", createdAt: At(i), key: i % 2 == 0 ? $"key-{i}" : null);
            var leased = Leased(job, $"agent-{i % 13}", epoch: i + 1);
            var running = Running(leased);
            var done = Finished(running, i % 5 == 0 ? JobStatus.Failed : JobStatus.Succeeded, At(1000 + i));
            finals[i] = done;
            var outcomes = new List<bool> { await Store.InsertAsync(job) is null };
            outcomes.Add(await Store.UpdateAsync(leased, []));
            outcomes.Add(await Store.UpdateAsync(running, []));
            outcomes.Add(await Store.UpdateAsync(done, [AttemptEnded(done, i)]));
            return outcomes;
        })));

        Assert.All(results, r => Assert.Equal([true, true, true, true], r));
        foreach (var job in finals)
        {
            Assert.Equal(job, await Store.GetAsync(job.JobId));
        }

        Assert.Equal(Counts((JobStatus.Succeeded, 160), (JobStatus.Failed, 40)), await Store.CountByStatusAsync());
        var events = await Log.ReadAllAsync();
        Assert.Equal(
            finals.Select((j, i) => AttemptEnded(j, i)).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt),
            events.Select(e => e.Unpositioned()).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt));
        Assert.Equal(29, (await Store.ListAsync(Query("tenant-3"))).Jobs.Length);
    }

    [Fact]
    public async Task Fifty_concurrent_inserts_with_one_idempotency_key_insert_exactly_one_job_and_return_it_to_the_others()
    {
        var candidates = Enumerable.Range(0, 50).Select(i => Pending(key: "same-key", createdAt: At(i))).ToList();

        var results = await Task.WhenAll(candidates.Select(c => Task.Run(() => Store.InsertAsync(c))));

        var winners = candidates.Where((c, i) => results[i] is null).ToList();
        var winner = Assert.Single(winners);
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(winner, r));
        Assert.Equal(winner, await Store.GetAsync(winner.JobId));
        Assert.Equal(new[] { winner }, (await Store.ListAsync(Query("tenant-a"))).Jobs);
        Assert.Equal(Counts((JobStatus.Pending, 1)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task Concurrent_inserts_of_one_job_id_insert_it_once_and_return_it_to_the_others()
    {
        // Twenty jobs, each submitted five times at once (as duplicate activations or retried calls would).
        var jobs = Enumerable.Range(0, 20).Select(i => Pending(createdAt: At(i))).ToList();
        var attempts = jobs.SelectMany(j => Enumerable.Repeat(j, 5)).ToList();

        var results = await Task.WhenAll(attempts.Select(j => Task.Run(() => Store.InsertAsync(j))));

        foreach (var job in jobs)
        {
            var forJob = results.Where((r, i) => attempts[i] == job).ToList();
            Assert.Equal(1, forJob.Count(r => r is null));
            Assert.All(forJob.Where(r => r is not null), r => Assert.Equal(job, r));
        }

        Assert.Equal(Counts((JobStatus.Pending, 20)), await Store.CountByStatusAsync());
    }

    [Fact]
    public async Task Of_concurrent_updates_carrying_the_same_version_exactly_one_applies_and_only_its_events_are_appended()
    {
        // Two writers (say, two activations of one job grain) race to write version 2 of each of 20 jobs.
        var jobs = Enumerable.Range(0, 20).Select(i => Pending(createdAt: At(i))).ToList();
        await InsertAllAsync([.. jobs]);
        var contenders = jobs
            .SelectMany((j, i) => new[]
            {
                (Job: Leased(j, "agent-a", epoch: 1), Event: AttemptEnded(j, 2 * i)),
                (Job: Leased(j, "agent-b", epoch: 1), Event: AttemptEnded(j, (2 * i) + 1)),
            })
            .ToList();

        var applied = await Task.WhenAll(contenders.Select(c => Task.Run(() => Store.UpdateAsync(c.Job, [c.Event]))));

        var winners = contenders.Where((c, i) => applied[i]).ToList();
        foreach (var job in jobs)
        {
            var winner = Assert.Single(winners, w => w.Job.JobId == job.JobId);
            Assert.Equal(winner.Job, await Store.GetAsync(job.JobId));
        }

        Assert.Equal(
            winners.Select(w => w.Event).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt),
            (await Log.ReadAllAsync()).Select(e => e.Unpositioned()).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt));
    }

    [Fact]
    public async Task Concurrent_updates_of_one_job_leave_the_highest_version_and_append_the_events_of_those_that_applied()
    {
        var jobs = Enumerable.Range(0, 10).Select(i => Pending(createdAt: At(i))).ToList();
        await InsertAllAsync([.. jobs]);
        var updates = jobs
            .SelectMany((j, i) => Enumerable.Range(2, 7).Select(v =>
            {
                var next = j with { Version = v, Attempts = v, UpdatedAt = At(100 + v) };
                return (Job: next, Event: AttemptEnded(next, (i * 100) + v));
            }))
            .ToList();

        var applied = await Task.WhenAll(updates.Select(u => Task.Run(() => Store.UpdateAsync(u.Job, [u.Event]))));

        foreach (var job in jobs)
        {
            var stored = await Store.GetAsync(job.JobId);
            Assert.Equal(8, stored!.Version);
            Assert.Equal(8, stored.Attempts);
            Assert.True(applied[updates.FindIndex(u => u.Job.JobId == job.JobId && u.Job.Version == 8)]);
        }

        Assert.Equal(
            updates.Where((u, i) => applied[i]).Select(u => u.Event).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt),
            (await Log.ReadAllAsync()).Select(e => e.Unpositioned()).OrderBy(e => e.PayloadAs<JobAttemptEnded>()!.Attempt));
    }

    // ---- Helpers ----

    protected static JobQuery Query(
        string tenant,
        int limit = 100,
        JobStatus? status = null,
        string? type = null,
        DateTimeOffset? from = null,
        DateTimeOffset? to = null) => new(tenant, status, type, from, to, null, limit);

    protected static List<JobRecord> NewestFirst(IEnumerable<JobRecord> jobs) =>
        [.. jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.JobId)];

    protected static ImmutableDictionary<JobStatus, long> Counts(params (JobStatus Status, long Count)[] counts) =>
        counts.ToImmutableDictionary(c => c.Status, c => c.Count);

    protected async Task InsertAllAsync(params JobRecord[] jobs)
    {
        foreach (var job in jobs)
        {
            Assert.Null(await Store.InsertAsync(job));
        }
    }

    /// <summary>Applies each version in turn; each must apply.</summary>
    protected async Task UpdateChainAsync(JobRecord stored, params JobRecord[] versions)
    {
        var expectedVersion = stored.Version;
        foreach (var version in versions)
        {
            Assert.True(version.Version > expectedVersion);
            Assert.True(await Store.UpdateAsync(version, []));
            expectedVersion = version.Version;
        }
    }

    /// <summary>Every page of a listing; each page but the last is full.</summary>
    protected async Task<List<JobPage>> ListPagesAsync(JobQuery query)
    {
        var pages = new List<JobPage> { await Store.ListAsync(query) };
        while (pages[^1].NextCursor is { } cursor)
        {
            Assert.Equal(query.Limit, pages[^1].Jobs.Length);
            Assert.True(pages.Count < 1000, "The listing does not end.");
            pages.Add(await Store.ListAsync(query with { Cursor = cursor }));
        }

        Assert.True(pages[^1].Jobs.Length <= query.Limit);
        return pages;
    }

    protected async Task<List<JobRecord>> ListAllAsync(JobQuery query) => [.. (await ListPagesAsync(query)).SelectMany(p => p.Jobs)];

    private static PendingJobRef PendingRef(JobRecord j) => new(j.JobId, j.TenantId, j.Spec.Priority, j.AvailableAt, j.CreatedAt, j.UpdatedAt);

    private static LeasedJobRef LeasedRef(JobRecord j) => new(j.JobId, j.TenantId, j.AgentId, j.Epoch, j.LeaseExpiresAt);

    /// <summary>Ids that differ in their first, middle and last bytes, high bits included.</summary>
    private static Guid SpreadId(int i)
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        bytes[0] = (byte)(i * 37);
        bytes[8] = (byte)(255 - (i * 11));
        bytes[15] = (byte)i;
        return new Guid(bytes, bigEndian: true);
    }

    private static Guid MinId() => new("00000000-0000-0000-0000-000000000001");

    private static Guid MaxId() => new("ffffffff-ffff-ffff-ffff-fffffffffffe");

    private static string BigPayload(int approximateLength)
    {
        var text = new StringBuilder(approximateLength + 64).Append("{\"data\":\"");
        const string Pattern = "abcdefghij0123456789é漢字🙂-";
        while (text.Length < approximateLength)
        {
            text.Append(Pattern);
        }

        return text.Append("\"}").ToString();
    }
}
