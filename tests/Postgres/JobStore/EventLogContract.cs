using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Events;
using static MeshOs.Tests.Postgres.JobStore.EventLogReading;
using static MeshOs.Tests.Postgres.JobStore.TestJobs;
using MeshOs.Grains.Storage;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>The contract of <see cref="IEventLog"/> (its XML docs), run against every backend.</summary>
public abstract class EventLogContract : StoreContract
{
    protected IEventLog Log => Backend.Events;

    [Fact]
    public async Task An_empty_log_reads_nothing_and_appending_nothing_writes_nothing()
    {
        Assert.Empty(await Log.ReadAsync(0, 10));

        await Log.AppendAsync([]);

        Assert.Empty(await Log.ReadAsync(0, 10));
    }

    [Fact]
    public async Task Appended_events_read_back_exactly_in_append_order_with_strictly_increasing_positions()
    {
        var job = Pending();
        ImmutableArray<MeshEvent>[] batches =
        [
            [AgentChanged(1), AttemptEnded(job, 2), AgentChanged(3), AttemptEnded(job, 4, At(4).ToOffset(TimeSpan.FromHours(-7)))],
            [AgentChanged(5)],
            [.. Enumerable.Range(6, 5).Select(i => i % 2 == 0 ? AgentChanged(i) : AttemptEnded(Finished(job, JobStatus.Failed, At(i)), i))],
        ];
        foreach (var batch in batches)
        {
            await Log.AppendAsync(batch);
        }

        var read = await Log.ReadAsync(0, 100);

        Assert.Equal(batches.SelectMany(b => b), read.Select(e => e.Unpositioned()));
        Assert.All(read, e => Assert.True(e.Position > 0));
        AssertIncreasing(read);
    }

    [Fact]
    public async Task Read_returns_at_most_max_events_after_a_position_so_a_reader_pages_through_the_log()
    {
        var appended = Enumerable.Range(1, 10).Select(i => AgentChanged(i)).ToList();
        await Log.AppendAsync([.. appended.Take(4)]);
        await Log.AppendAsync([appended[4]]);
        await Log.AppendAsync([.. appended.Skip(5)]);
        var all = await Log.ReadAsync(0, 100);

        var pages = new List<ImmutableArray<MeshEvent>>();
        var after = 0L;
        do
        {
            pages.Add(await Log.ReadAsync(after, 3));
            after = pages[^1].IsEmpty ? after : pages[^1][^1].Position;
        }
        while (!pages[^1].IsEmpty);

        Assert.Equal([3, 3, 3, 1, 0], pages.Select(p => p.Length));
        Assert.Equal(all, pages.SelectMany(p => p));
        Assert.Equal(appended, all.Select(e => e.Unpositioned()));
        Assert.Equal(all.Skip(4), await Log.ReadAsync(all[3].Position, 100));
        Assert.Equal(new[] { all[0] }, await Log.ReadAsync(0, 1));
        Assert.Empty(await Log.ReadAsync(all[^1].Position, 100));
        Assert.Empty(await Log.ReadAsync(0, 0));
    }

    [Fact]
    public async Task Concurrent_writers_and_a_concurrent_reader_see_every_event_once_in_position_order()
    {
        const int Writers = 8;
        const int AppendsPerWriter = 25;
        using var writersDone = new CancellationTokenSource();
        var seen = new List<MeshEvent>();
        var reader = Task.Run(async () =>
        {
            var after = 0L;
            while (true)
            {
                // Decide to stop before reading, so the last read happens after every writer finished.
                var last = writersDone.IsCancellationRequested;
                var batch = await Log.ReadAsync(after, 50);
                seen.AddRange(batch);
                after = batch.IsEmpty ? after : batch[^1].Position;
                if (last && batch.IsEmpty)
                {
                    return;
                }
            }
        });

        var written = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var mine = new List<MeshEvent>();
            for (var a = 0; a < AppendsPerWriter; a++)
            {
                ImmutableArray<MeshEvent> events = [.. Enumerable.Range(0, 1 + (a % 3)).Select(k => AgentChanged((w * 1000) + (a * 10) + k))];
                await Log.AppendAsync(events);
                mine.AddRange(events);
            }

            return mine;
        })));
        await writersDone.CancelAsync();
        await reader;

        AssertIncreasing(seen);
        Assert.Equal(
            written.SelectMany(w => w).Select(e => e.PayloadAs<AgentStateChanged>()!.AgentId).Order(StringComparer.Ordinal),
            seen.Select(e => e.PayloadAs<AgentStateChanged>()!.AgentId).Order(StringComparer.Ordinal));
        Assert.Equal(seen, await Log.ReadAllAsync());

        // Each writer's events are in the log in the order it appended them.
        foreach (var mine in written)
        {
            var ids = mine.Select(e => e.PayloadAs<AgentStateChanged>()!.AgentId).ToHashSet();
            Assert.Equal(mine, seen.Where(e => ids.Contains(e.PayloadAs<AgentStateChanged>()!.AgentId)).Select(e => e.Unpositioned()));
        }
    }

    /// <summary>Four days of events, two a day either side of its midnight (the last microsecond of a day, the first of the next).</summary>
    private static readonly DateOnly Day0 = new(2025, 6, 1);

    private static DateTimeOffset OnDay(int day, TimeSpan timeOfDay) => EventRetentionPolicy.Days.Start(Day0.AddDays(day)) + timeOfDay;

    private static readonly TimeSpan JustBeforeMidnight = TimeSpan.FromDays(1) - TimeSpan.FromTicks(10);

    private async Task<ImmutableArray<MeshEvent>> AppendDaysAsync(int days)
    {
        for (var d = 0; d < days; d++)
        {
            await Log.AppendAsync([AgentChanged(d * 10, OnDay(d, TimeSpan.Zero))]);
            await Log.AppendAsync([AgentChanged((d * 10) + 1, OnDay(d, JustBeforeMidnight))]);
        }

        await Log.PrepareDaysAsync([.. Enumerable.Range(0, days).Select(d => Day0.AddDays(d))]);
        var all = await Log.ReadAsync(0, 100);
        Assert.Equal(days * 2, all.Length);
        return all;
    }

    [Fact]
    public async Task Prune_drops_whole_days_that_ended_by_the_cutoff_and_only_once_every_consumer_has_read_them()
    {
        var all = await AppendDaysAsync(4);
        var day2Starts = OnDay(2, TimeSpan.Zero);

        // Days 0 and 1 ended by the cutoff; day 1's events are not all read yet, so it stays and is reported as held.
        var pruned = await Log.PruneAsync(day2Starts, readUpTo: all[2].Position);

        Assert.Equal([Day0], pruned.Dropped);
        Assert.Equal([Day0.AddDays(1)], pruned.Held);
        Assert.Equal(all.Skip(2), await Log.ReadAsync(0, 100));

        // Read up to the last event but one of day 1: still held.
        AssertPruned(await Log.PruneAsync(day2Starts, all[2].Position), [], [Day0.AddDays(1)]);
        Assert.Equal(all.Skip(2), await Log.ReadAsync(0, 100));

        // Read: it goes. A day ending a microsecond after the cutoff stays.
        AssertPruned(await Log.PruneAsync(day2Starts.AddTicks(10), all[3].Position), [Day0.AddDays(1)], []);
        AssertPruned(await Log.PruneAsync(OnDay(3, TimeSpan.Zero).AddTicks(-10), long.MaxValue), [], []);
        Assert.Equal(all.Skip(4), await Log.ReadAsync(0, 100));

        AssertPruned(await Log.PruneAsync(OnDay(10, TimeSpan.Zero), long.MaxValue), [Day0.AddDays(2), Day0.AddDays(3)], []);
        Assert.Empty(await Log.ReadAsync(0, 100));

        // Positions are not reused after a prune.
        await Log.AppendAsync([AgentChanged(60)]);
        var next = Assert.Single(await Log.ReadAsync(0, 100));
        Assert.True(next.Position > all[^1].Position);
        Assert.Equal(AgentChanged(60), next.Unpositioned());
    }

    [Fact]
    public async Task A_day_is_held_by_its_highest_position_even_when_event_times_are_not_in_position_order()
    {
        // Writers stamp events with their own clocks, so an event of an older day may sit above a newer day's.
        await Log.AppendAsync([AgentChanged(1, OnDay(1, TimeSpan.FromHours(1)))]);
        await Log.AppendAsync([AgentChanged(2, OnDay(0, TimeSpan.FromHours(1)))]);
        await Log.PrepareDaysAsync([Day0, Day0.AddDays(1)]);
        var all = await Log.ReadAsync(0, 100);

        var pruned = await Log.PruneAsync(OnDay(2, TimeSpan.Zero), readUpTo: all[0].Position);

        AssertPruned(pruned, [Day0.AddDays(1)], [Day0]);
        Assert.Equal(new[] { all[1] }, await Log.ReadAsync(0, 100));
    }

    [Fact]
    public async Task Pruning_an_empty_log_drops_nothing()
    {
        AssertPruned(await Log.PruneAsync(OnDay(100, TimeSpan.Zero), long.MaxValue), [], []);
    }

    private static void AssertPruned(PartitionPruneResult pruned, DateOnly[] dropped, DateOnly[] held)
    {
        Assert.Equal(dropped, pruned.Dropped);
        Assert.Equal(held, pruned.Held);
    }
}
