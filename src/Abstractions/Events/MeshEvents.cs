using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Abstractions.Events;

/// <summary>
/// An event the kernel publishes for supervisors (healing, cost, adaptive learning, KPIs). Events are appended to
/// the event log off the per-job path and delivered in batches, at least once, in log order, to every consumer.
/// Exactly one of <see cref="Agent"/>, <see cref="Job"/>, <see cref="Scale"/> is set, as <see cref="Kind"/> says.
/// </summary>
/// <param name="Position">The event's place in the log; assigned when appended, increasing.</param>
[GenerateSerializer, Immutable, Alias("meshos.MeshEvent")]
public sealed record MeshEvent(
    long Position,
    MeshEventKind Kind,
    DateTimeOffset At,
    AgentStateChanged? Agent,
    JobAttemptEnded? Job,
    Healing.ScaleRecommendation? Scale = null);

[GenerateSerializer]
public enum MeshEventKind
{
    /// <summary>An agent moved from one state to another (registration included).</summary>
    AgentStateChanged = 0,
    /// <summary>An attempt of a job ended (success, failure, timeout, lost lease, cancel).</summary>
    JobAttemptEnded = 1,

    /// <summary>The healing supervisor recommends more capacity for a pool/capability (demand above capacity).</summary>
    ScaleRecommended = 2,
}

/// <summary>An agent's state change. Decide on <paramref name="Cause"/>; <paramref name="Reason"/> is text for humans.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AgentStateChanged")]
public sealed record AgentStateChanged(
    string AgentId,
    string Owner,
    string Pool,
    string Region,
    string Version,
    decimal CostPerHour,
    AgentState From,
    AgentState To,
    string Reason,
    AgentChangeCause Cause = AgentChangeCause.Unspecified);

/// <summary>
/// The end of one attempt of a job. <see cref="Status"/> is the job's status after the attempt: Pending when it
/// will be retried, a terminal status otherwise (<see cref="Terminal"/>).
/// </summary>
/// <param name="Outcome">What happened to the attempt: succeeded, failed, timed-out, lease-lost, cancelled, released.</param>
/// <param name="QueueWait">From the job becoming available to this attempt's lease.</param>
/// <param name="RunTime">From the attempt's start (or lease when never started) to its end.</param>
[GenerateSerializer, Immutable, Alias("meshos.JobAttemptEnded")]
public sealed record JobAttemptEnded(
    Guid JobId,
    string TenantId,
    string Type,
    string Pool,
    string Capability,
    string? AgentId,
    int Attempt,
    string Outcome,
    JobStatus Status,
    bool Terminal,
    TimeSpan QueueWait,
    TimeSpan RunTime,
    JobUsage Usage);

/// <summary>Implemented by every grain that consumes the event log (one grain per consumer name).</summary>
[Alias("meshos.IMeshEventConsumer")]
public interface IMeshEventConsumer : IGrainWithStringKey
{
    /// <summary>
    /// Handles a batch, in log order. Delivery is at least once: a batch may be redelivered after a failure, so
    /// handlers skip events at or below the last position they processed.
    /// </summary>
    [Alias("OnEvents")]
    Task OnEventsAsync(ImmutableArray<MeshEvent> events);
}

/// <summary>Moves events from the log to one consumer, keeping a durable cursor. Key: consumer name.</summary>
[Alias("meshos.IEventPumpGrain")]
public interface IEventPumpGrain : IGrainWithStringKey
{
    /// <summary>Makes sure the pump is running (it keeps itself alive with a reminder).</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>Delivers what is in the log now and returns the cursor (last delivered position).</summary>
    [Alias("PumpNow")]
    Task<long> PumpNowAsync();

    /// <summary>The last position delivered to the consumer.</summary>
    [Alias("GetCursor")]
    Task<long> GetCursorAsync();
}
