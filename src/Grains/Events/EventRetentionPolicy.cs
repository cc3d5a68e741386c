using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Events;

/// <summary>
/// Which days of events retention drops (pure). Events are kept in whole UTC days; a day goes once all of it is older
/// than the retention, and only when every consumer has read every event in it. A consumer that lags past the retention
/// holds its days back (and a warning says so) rather than losing events it has not read.
/// </summary>
public static class EventRetentionPolicy
{
    /// <summary>The event log's daily partitions (<c>meshos_events_yyyyMMdd</c>).</summary>
    public static readonly TimePartitioning Days = new("meshos_events_", PartitionPeriod.Day);

    /// <param name="day">The day (UTC) of events.</param>
    /// <param name="highestPosition">The highest position among the day's events; null when it holds none.</param>
    /// <param name="cutoff">Now minus the retention.</param>
    /// <param name="readUpTo">The lowest consumer cursor: every consumer has read every event at or below it.</param>
    public static PartitionVerdict Judge(DateOnly day, long? highestPosition, DateTimeOffset cutoff, long readUpTo) =>
        !Days.IsDroppable(day, cutoff) ? PartitionVerdict.Keep
        : highestPosition > readUpTo ? PartitionVerdict.Held
        : PartitionVerdict.Drop;
}
