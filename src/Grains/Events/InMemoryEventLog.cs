using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Grains.Events;

/// <summary>The embedded mode's event log: one list per silo process, positions 1, 2, 3, …</summary>
public sealed class InMemoryEventLog([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : IEventLog
{
    private readonly Lock _gate = new();
    private readonly List<MeshEvent> _events = [];
    private long _lastPosition;

    public Task AppendAsync(ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            foreach (var e in events)
            {
                _events.Add(e with { Position = ++_lastPosition, At = e.At == default ? time.GetUtcNow() : e.At });
            }
        }

        return Task.CompletedTask;
    }

    public Task<ImmutableArray<MeshEvent>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var start = FirstIndexAfter(afterPosition);
            var count = Math.Min(max, _events.Count - start);
            return Task.FromResult(count <= 0 ? [] : _events.GetRange(start, count).ToImmutableArray());
        }
    }

    public Task<int> TrimAsync(long position, DateTimeOffset olderThan, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_events.RemoveAll(e => e.Position <= position && e.At < olderThan));
        }
    }

    private int FirstIndexAfter(long position)
    {
        int lo = 0, hi = _events.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_events[mid].Position <= position)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
