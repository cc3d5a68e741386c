using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Events;

/// <summary>Event delivery to supervisors. Section <c>MeshOs:Events</c>; consumers are added in code.</summary>
public sealed class EventOptions
{
    public const string Section = "MeshOs:Events";

    /// <summary>How often each pump reads the log. Default 250 ms.</summary>
    [PositiveTimeSpan]
    public TimeSpan PumpInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Events per delivered batch. Default 500.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long events are kept, by their time. Default 30 days. Retention drops whole UTC days (PostgreSQL: daily
    /// partitions) once all of a day is older than this, so an event stays between this and one day more (plus the
    /// maintenance interval, 10 minutes); never a day holding an event a consumer has not read.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Days of events made room for ahead of today (PostgreSQL: daily partitions made ahead), so that writes never
    /// wait on a partition being made. Default 7. An event stamped past them is still written (PostgreSQL's default
    /// partition) and moved to its day's partition by the next maintenance pass.
    /// </summary>
    [Range(1, 90)]
    public int DaysAhead { get; set; } = 7;

    /// <summary>The consumers, each a grain implementing <see cref="IMeshEventConsumer"/>.</summary>
    public List<EventConsumerRegistration> Consumers { get; } = [];
}

/// <summary>
/// A consumer: its pump's name, and the grain (interface and key) the pump delivers to; its own batch size and pump
/// interval when it wants fewer, larger batches than <see cref="EventOptions"/> gives (null: those).
/// </summary>
public sealed record EventConsumerRegistration(string Name, Type GrainInterface, string Key, int? BatchSize = null, TimeSpan? Interval = null);
