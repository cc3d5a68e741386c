using MeshOs.Grains.Events;
using MeshOs.Grains.Storage;

namespace MeshOs.Tests.Unit.Events;

public sealed class EventRetentionPolicyTests
{
    private static readonly DateOnly Day = new(2030, 1, 5);
    private static readonly DateTimeOffset DayEnds = new(2030, 1, 6, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(-1, 100L, 1_000L, PartitionVerdict.Keep)]   // ends a tick after the cutoff
    [InlineData(-1, 5_000L, 1_000L, PartitionVerdict.Keep)] // unread, but within the retention anyway
    [InlineData(0, 100L, 1_000L, PartitionVerdict.Drop)]
    [InlineData(0, 1_000L, 1_000L, PartitionVerdict.Drop)]  // the last event read
    [InlineData(0, 1_001L, 1_000L, PartitionVerdict.Held)]  // one event not read
    [InlineData(0, null, 1_000L, PartitionVerdict.Drop)]    // empty
    [InlineData(86_400, 1_001L, 1_000L, PartitionVerdict.Held)]
    public void A_day_past_the_retention_goes_only_once_every_consumer_has_read_its_highest_position(
        long cutoffAfterEndSeconds, long? highestPosition, long readUpTo, PartitionVerdict expected)
    {
        var cutoff = cutoffAfterEndSeconds < 0 ? DayEnds.AddTicks(-1) : DayEnds.AddSeconds(cutoffAfterEndSeconds);

        Assert.Equal(expected, EventRetentionPolicy.Judge(Day, highestPosition, cutoff, readUpTo));
    }
}
