using System.Collections.Immutable;
using MeshOs.Abstractions.Events;

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

    /// <summary>Deletes events at or below <paramref name="position"/> that are older than <paramref name="olderThan"/>.</summary>
    Task<int> TrimAsync(long position, DateTimeOffset olderThan, CancellationToken cancellationToken = default);
}
