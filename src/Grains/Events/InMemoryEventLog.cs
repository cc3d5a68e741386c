using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using Microsoft.Extensions.DependencyInjection;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Events;

/// <summary>
/// The embedded mode's event log: one list per silo process, positions 1, 2, 3, …; retention drops whole UTC days
/// of events as the PostgreSQL log drops its daily partitions (<see cref="EventRetentionPolicy"/>).
/// </summary>
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

    public Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<DateOnly>>([]);

    public Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff, long readUpTo, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var verdicts = _events
                .GroupBy(e => EventRetentionPolicy.Days.PeriodOf(e.At))
                .Select(day => (Day: day.Key, Verdict: EventRetentionPolicy.Judge(day.Key, day.Max(e => e.Position), cutoff, readUpTo)))
                .OrderBy(d => d.Day)
                .ToList();
            var dropped = verdicts.Where(d => d.Verdict == PartitionVerdict.Drop).Select(d => d.Day).ToList();
            var held = verdicts.Where(d => d.Verdict == PartitionVerdict.Held).Select(d => d.Day).ToList();
            if (dropped.Count > 0)
            {
                var gone = dropped.ToHashSet();
                _events.RemoveAll(e => gone.Contains(EventRetentionPolicy.Days.PeriodOf(e.At)));
            }

            return Task.FromResult(new PartitionPruneResult(dropped, held));
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
