using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>Reading a whole event log the way a consumer does, and checking the order it promises.</summary>
internal static class EventLogReading
{
    /// <summary>Everything readable now, page by page from the start; positions must strictly increase.</summary>
    public static async Task<List<MeshEvent>> ReadAllAsync(this IEventLog log, int pageSize = 64)
    {
        var events = new List<MeshEvent>();
        var after = 0L;
        while (true)
        {
            var page = await log.ReadAsync(after, pageSize);
            Assert.True(page.Length <= pageSize);
            if (page.IsEmpty)
            {
                AssertIncreasing(events);
                return events;
            }

            events.AddRange(page);
            after = page[^1].Position;
        }
    }

    public static void AssertIncreasing(IReadOnlyList<MeshEvent> events)
    {
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(events[i].Position > events[i - 1].Position, $"Position {events[i].Position} follows {events[i - 1].Position}.");
        }
    }
}
