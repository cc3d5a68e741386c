using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Events;

/// <summary>
/// One retention pass over the event log: makes room for today's and the next <see cref="EventOptions.DaysAhead"/>
/// days' events, then drops the whole days past <see cref="EventOptions.Retention"/> that every consumer has read
/// (<see cref="EventRetentionPolicy"/>). Days held back by a lagging consumer are logged and measured
/// (<c>meshos.events.retention_held_days</c>).
/// </summary>
public sealed partial class EventRetention(
    IEventLog log,
    IOptions<EventOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<EventRetention> logger)
{
    private static readonly Meter Meter = new("MeshOs.Events");
    private static readonly Gauge<int> HeldDays = Meter.CreateGauge<int>("meshos.events.retention_held_days", "{day}",
        "Days of events past the retention kept at the last retention pass because a consumer has not read them.");

    /// <param name="cursors">Each consumer's cursor (the position it has read up to), by consumer name; with none, days go by time alone.</param>
    public async Task<PartitionPruneResult> ApplyAsync(IReadOnlyDictionary<string, long> cursors, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var made = await log.PrepareDaysAsync(EventRetentionPolicy.Days.Upcoming(now, options.Value.DaysAhead), cancellationToken);
        if (made.Count > 0)
        {
            LogDaysMade(logger, made.Count, made[0], made[^1]);
        }

        var readUpTo = cursors.Count == 0 ? long.MaxValue : cursors.Values.Min();
        var result = await log.PruneAsync(now - options.Value.Retention, readUpTo, cancellationToken);
        HeldDays.Record(result.Held.Count);
        if (result.Dropped.Count > 0)
        {
            LogDropped(logger, result.Dropped.Count, result.Dropped[0], result.Dropped[^1]);
        }

        if (result.Held.Count > 0)
        {
            var lagging = string.Join(", ", cursors.Where(c => c.Value == readUpTo).Select(c => c.Key).Order(StringComparer.Ordinal));
            LogHeld(logger, result.Held.Count, result.Held[0], options.Value.Retention, lagging, readUpTo);
        }

        return result;
    }
}
