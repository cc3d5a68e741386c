using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Events;

/// <summary>
/// The append-only log the kernel publishes events to and supervisors read from. Positions increase in the order a
/// reader sees events, and a reader never later finds an event below a position it has already read past.
/// </summary>
public interface IEventLog
{
    /// <summary>Appends events durably; the <see cref="MeshEvent.Position"/> of each is assigned by the log.</summary>
    Task AppendAsync(ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="max"/> events after <paramref name="afterPosition"/>, in order.</summary>
    Task<ImmutableArray<MeshEvent>> ReadAsync(long afterPosition, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes room, ahead of their writes, for events stamped on the UTC <paramref name="days"/>, and for events already
    /// written with a day that had none (PostgreSQL: a daily partition each, the events that landed in the default
    /// partition moved into their day's; see sql/0009_events_partitioned.sql). Returns the days it made room for; the
    /// in-memory log needs none.
    /// </summary>
    Task<IReadOnlyList<DateOnly>> PrepareDaysAsync(IReadOnlyList<DateOnly> days, CancellationToken cancellationToken = default);

    /// <summary>
    /// Drops every whole UTC day of events that ended at or before <paramref name="cutoff"/>, never one holding an event
    /// above <paramref name="readUpTo"/> (an event some consumer has not read): such a day is kept and reported as held.
    /// Events are never deleted one by one. See <see cref="EventRetentionPolicy"/>.
    /// </summary>
    Task<PartitionPruneResult> PruneAsync(DateTimeOffset cutoff, long readUpTo, CancellationToken cancellationToken = default);
}
