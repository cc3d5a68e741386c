using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Routing;

/// <summary>What the routing learner keeps (section <c>MeshOs:Routing:Learning</c>); README "Adaptive routing".</summary>
public sealed class RouteLearningOptions
{
    public const string Section = "MeshOs:Routing:Learning";

    /// <summary>Whether attempt ends are learned from at all (off: every agent reads as unknown and policies fall back to spreading work).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>After this long, an agent's successes and failures count half. Default 10 minutes.</summary>
    [PositiveTimeSpan]
    public TimeSpan HalfLife { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Weight of the newest run time in the running mean and variance. Default 0.1.</summary>
    [Range(0.001, 1.0)]
    public double Smoothing { get; set; } = 0.1;

    /// <summary>How often a pool's learned statistics are saved (they survive a restart; at most this much learning is lost with a crash). Default 30 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan SaveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Agents not heard of for this long are forgotten. Default 7 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the event log is read for attempt ends. Default 1 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan EventInterval { get; set; } = TimeSpan.FromSeconds(1);

    internal RouteLearningSettings Settings => new(HalfLife, Smoothing);
}
