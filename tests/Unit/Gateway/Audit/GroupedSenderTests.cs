using MeshOs.Gateway.Audit;

namespace MeshOs.Tests.Unit.Gateway.Audit;

/// <summary>The gateway's group commit of audit appends: how items are grouped, completed and failed.</summary>
public sealed class GroupedSenderTests
{
    /// <summary>A send target whose calls finish only when the test says so.</summary>
    private sealed class HeldSends
    {
        public List<(IReadOnlyList<int> Items, TaskCompletionSource Done)> Calls { get; } = [];

        public Task SendAsync(IReadOnlyList<int> items)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Calls)
            {
                Calls.Add((items, done));
            }

            return done.Task;
        }

        public (IReadOnlyList<int> Items, TaskCompletionSource Done) Call(int index)
        {
            lock (Calls)
            {
                return Calls[index];
            }
        }

        public int Count
        {
            get
            {
                lock (Calls)
                {
                    return Calls.Count;
                }
            }
        }
    }

    [Fact]
    public async Task With_a_free_slot_an_item_is_sent_at_once_and_alone()
    {
        var sends = new HeldSends();
        var sender = new GroupedSender<int>(sends.SendAsync, maxInFlight: 2, maxGroup: 10);

        var first = sender.SendAsync(1);
        var second = sender.SendAsync(2);

        Assert.Equal(2, sends.Count);
        Assert.Equal([1], sends.Call(0).Items);
        Assert.Equal([2], sends.Call(1).Items);
        Assert.False(first.IsCompleted);
        sends.Call(0).Done.SetResult();
        await first;
        Assert.False(second.IsCompleted);
        sends.Call(1).Done.SetResult();
        await second;
        Assert.Equal(0, sender.InFlight);
    }

    [Fact]
    public async Task Items_arriving_while_every_slot_is_busy_go_together_in_the_next_send_in_order()
    {
        var sends = new HeldSends();
        var sender = new GroupedSender<int>(sends.SendAsync, maxInFlight: 1, maxGroup: 10);

        var first = sender.SendAsync(1);
        Task[] waiting = [sender.SendAsync(2), sender.SendAsync(3), sender.SendAsync(4)];
        Assert.Equal(1, sends.Count);

        sends.Call(0).Done.SetResult();
        await first;
        await WaitForCallsAsync(sends, 2);
        Assert.Equal([2, 3, 4], sends.Call(1).Items);
        Assert.All(waiting, t => Assert.False(t.IsCompleted));

        sends.Call(1).Done.SetResult();
        await Task.WhenAll(waiting);
        Assert.Equal(2, sends.Count);
        Assert.Equal(0, sender.InFlight);
    }

    [Fact]
    public async Task A_group_holds_at_most_max_group_items_and_the_rest_follow_in_the_next_send()
    {
        var sends = new HeldSends();
        var sender = new GroupedSender<int>(sends.SendAsync, maxInFlight: 1, maxGroup: 2);

        var all = new List<Task> { sender.SendAsync(0) };
        all.AddRange(Enumerable.Range(1, 5).Select(sender.SendAsync));

        sends.Call(0).Done.SetResult();
        await WaitForCallsAsync(sends, 2);
        Assert.Equal([1, 2], sends.Call(1).Items);
        sends.Call(1).Done.SetResult();
        await WaitForCallsAsync(sends, 3);
        Assert.Equal([3, 4], sends.Call(2).Items);
        sends.Call(2).Done.SetResult();
        await WaitForCallsAsync(sends, 4);
        Assert.Equal([5], sends.Call(3).Items);
        sends.Call(3).Done.SetResult();

        await Task.WhenAll(all);
        Assert.Equal(4, sends.Count);
    }

    [Fact]
    public async Task A_failed_send_fails_exactly_its_own_items_and_the_next_group_is_still_sent()
    {
        var sends = new HeldSends();
        var sender = new GroupedSender<int>(sends.SendAsync, maxInFlight: 1, maxGroup: 10);

        var first = sender.SendAsync(1);
        var second = sender.SendAsync(2);
        sends.Call(0).Done.SetException(new TimeoutException("silo gone"));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => first);
        Assert.Equal("silo gone", error.Message);
        await WaitForCallsAsync(sends, 2);
        Assert.Equal([2], sends.Call(1).Items);
        sends.Call(1).Done.SetResult();
        await second;
        Assert.Equal(0, sender.InFlight);
    }

    [Fact]
    public async Task Under_concurrent_callers_every_item_is_sent_exactly_once()
    {
        var sent = new List<int>();
        var sender = new GroupedSender<int>(async items =>
        {
            await Task.Yield();
            lock (sent)
            {
                sent.AddRange(items);
            }
        }, maxInFlight: 3, maxGroup: 7);

        await Task.WhenAll(Enumerable.Range(0, 2_000).Select(i => Task.Run(() => sender.SendAsync(i))));

        Assert.Equal(Enumerable.Range(0, 2_000), sent.Order());
        Assert.Equal(0, sender.InFlight);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    public void Bounds_below_one_are_refused(int maxInFlight, int maxGroup) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new GroupedSender<int>(_ => Task.CompletedTask, maxInFlight, maxGroup));

    /// <summary>The next group is sent by the completing send's continuation: wait until it has been made.</summary>
    private static async Task WaitForCallsAsync(HeldSends sends, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (sends.Count < count)
        {
            await Task.Delay(1, timeout.Token);
        }
    }
}
