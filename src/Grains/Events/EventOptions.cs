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

    /// <summary>Events are kept this long after every consumer has them. Default 7 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The consumers, each a grain implementing <see cref="IMeshEventConsumer"/>.</summary>
    public List<EventConsumerRegistration> Consumers { get; } = [];
}

/// <summary>A consumer: its pump's name, and the grain (interface and key) the pump delivers to.</summary>
public sealed record EventConsumerRegistration(string Name, Type GrainInterface, string Key);
