namespace MeshOs.Gateway.Audit;

/// <summary>
/// Sends items in groups (a group commit in front of a remote call): at most <c>maxInFlight</c> sends run at once,
/// and the items that arrive while all are busy go together, oldest first and at most <c>maxGroup</c> to a send, in
/// the next one. At low load every item is sent at once; under load many share one send. Each item's task completes
/// when the send that carried it did, with its outcome; no item is dropped or sent twice by this class.
/// </summary>
public sealed class GroupedSender<T>
{
    private readonly Func<IReadOnlyList<T>, Task> _send;
    private readonly int _maxInFlight;
    private readonly int _maxGroup;
    private readonly Lock _gate = new();
    private List<Pending> _waiting = [];
    private int _inFlight;

    public GroupedSender(Func<IReadOnlyList<T>, Task> send, int maxInFlight, int maxGroup)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGroup, 1);
        _send = send;
        _maxInFlight = maxInFlight;
        _maxGroup = maxGroup;
    }

    /// <summary>Sends in flight now (for tests and metrics).</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Queues the item for the next send and completes when that send has.</summary>
    public Task SendAsync(T item)
    {
        var pending = new Pending(item);
        List<Pending>? group = null;
        lock (_gate)
        {
            _waiting.Add(pending);
            if (_inFlight < _maxInFlight)
            {
                _inFlight++;
                group = TakeWaiting();
            }
        }

        if (group is not null)
        {
            _ = RunAsync(group);
        }

        return pending.Sent.Task;
    }

    /// <summary>Sends a group, then whatever waited meanwhile, until nothing waits; then gives its slot back.</summary>
    private async Task RunAsync(List<Pending> group)
    {
        while (true)
        {
            try
            {
                await _send([.. group.Select(p => p.Item)]);
                group.ForEach(p => p.Sent.TrySetResult());
            }
            catch (Exception ex)
            {
                group.ForEach(p => p.Sent.TrySetException(ex));
            }

            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _inFlight--;
                    return;
                }

                group = TakeWaiting();
            }
        }
    }

    /// <summary>Up to <c>maxGroup</c> waiting items, oldest first (under the gate).</summary>
    private List<Pending> TakeWaiting()
    {
        if (_waiting.Count <= _maxGroup)
        {
            var all = _waiting;
            _waiting = [];
            return all;
        }

        var first = _waiting.GetRange(0, _maxGroup);
        _waiting.RemoveRange(0, _maxGroup);
        return first;
    }

    private sealed class Pending(T item)
    {
        public T Item { get; } = item;

        public TaskCompletionSource Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
