using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Abstractions.Events;

/// <summary>
/// An event the kernel and the supervisors publish: an envelope around one payload record per kind. Events are
/// appended to the event log off the per-job path and delivered in batches, at least once, in log order, to every
/// consumer; consumers handle the payload types they care about (<see cref="IMeshEventHandler{TPayload}"/>) and never
/// look at the others. docs/events.md documents every kind (a unit test keeps it in step with the code).
/// </summary>
/// <param name="Position">The event's place in the log; assigned when appended, increasing.</param>
/// <param name="At">When it happened.</param>
/// <param name="Payload">What happened: one record per kind (<see cref="MeshEventKinds"/>).</param>
/// <param name="Actor">Who caused it: an operator or tenant key id for operator actions; null for the mesh itself.</param>
/// <param name="TenantId">The tenant the event is about, when there is one.</param>
/// <param name="CorrelationId">Ties the event to what caused it: the request's correlation id, or the job id.</param>
/// <param name="SchemaVersion">The envelope's schema version; 1 for events stored before the envelope had one.</param>
[GenerateSerializer, Immutable, Alias("meshos.MeshEvent")]
public sealed record MeshEvent(
    long Position,
    DateTimeOffset At,
    IMeshEventPayload Payload,
    string? Actor = null,
    string? TenantId = null,
    string? CorrelationId = null,
    int SchemaVersion = MeshEvent.CurrentSchemaVersion)
{
    /// <summary>The envelope's schema version written today (2: envelope fields actor, tenantId, correlationId added).</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>The payload's kind.</summary>
    public MeshEventKind Kind => MeshEventKinds.Of(Payload).Kind;

    /// <summary>The payload when it is a <typeparamref name="TPayload"/>, else null.</summary>
    public TPayload? PayloadAs<TPayload>() where TPayload : class, IMeshEventPayload => Payload as TPayload;
}

/// <summary>Marks the payload records of <see cref="MeshEvent"/>; each is registered in <see cref="MeshEventKinds"/>.</summary>
public interface IMeshEventPayload;

/// <summary>Implemented by a consumer for each payload type it handles (see <c>MeshEventDispatch</c>).</summary>
public interface IMeshEventHandler<in TPayload> where TPayload : class, IMeshEventPayload
{
    /// <summary>Handles one event whose payload is a <typeparamref name="TPayload"/>.</summary>
    void Handle(MeshEvent envelope, TPayload payload);
}

[GenerateSerializer]
public enum MeshEventKind
{
    /// <summary>An agent moved from one state to another (registration included).</summary>
    AgentStateChanged = 0,
    /// <summary>An attempt of a job ended (success, failure, timeout, lost lease, cancel).</summary>
    JobAttemptEnded = 1,

    /// <summary>The healing supervisor recommends more capacity for a pool/capability (demand above capacity).</summary>
    ScaleRecommended = 2,

    /// <summary>An operator's mutation succeeded (drain, quarantine, release, cancel, …), as the audit log recorded it.</summary>
    OperatorActionTaken = 3,

    /// <summary>A tenant's budget spend crossed one of its alert thresholds (80%, 100%, …).</summary>
    BudgetThresholdCrossed = 4,

    /// <summary>A cost recommendation was applied (an operator's, or automatically under a pool's autoscale policy).</summary>
    RecommendationApplied = 5,

    /// <summary>A scope's error budget started or stopped burning fast (KPIS.md, "Burn rate").</summary>
    SloBurnChanged = 6,
}

/// <summary>One kind of event: its number (the <c>kind</c> column), its payload type and the payload's JSON property.</summary>
public sealed record MeshEventKindInfo(MeshEventKind Kind, Type PayloadType, string PayloadProperty);

/// <summary>
/// Every kind of event and its payload record. A new kind is a new payload record and one line here (and a section
/// in docs/events.md); consumers that do not handle it are untouched.
/// </summary>
public static class MeshEventKinds
{
    public static readonly IReadOnlyList<MeshEventKindInfo> All =
    [
        new(MeshEventKind.AgentStateChanged, typeof(AgentStateChanged), "agent"),
        new(MeshEventKind.JobAttemptEnded, typeof(JobAttemptEnded), "job"),
        new(MeshEventKind.ScaleRecommended, typeof(Healing.ScaleRecommendation), "scale"),
        new(MeshEventKind.OperatorActionTaken, typeof(OperatorActionTaken), "operatorAction"),
        new(MeshEventKind.BudgetThresholdCrossed, typeof(BudgetThresholdCrossed), "budget"),
        new(MeshEventKind.RecommendationApplied, typeof(RecommendationApplied), "recommendation"),
        new(MeshEventKind.SloBurnChanged, typeof(SloBurnChanged), "sloBurn"),
    ];

    private static readonly Dictionary<Type, MeshEventKindInfo> ByType = All.ToDictionary(k => k.PayloadType);
    private static readonly Dictionary<MeshEventKind, MeshEventKindInfo> ByKind = All.ToDictionary(k => k.Kind);

    /// <summary>The kind of a payload; throws for a type that is not registered.</summary>
    public static MeshEventKindInfo Of(IMeshEventPayload payload) =>
        ByType.TryGetValue(payload.GetType(), out var info) ? info
            : throw new ArgumentException($"{payload.GetType().Name} is not a registered event payload.", nameof(payload));

    /// <summary>The registration of a kind, or null for a number this build does not know (a newer writer's).</summary>
    public static MeshEventKindInfo? Find(MeshEventKind kind) => ByKind.GetValueOrDefault(kind);
}

/// <summary>
/// An operator's mutation that succeeded, published after its audit entry is durable, for supervisors that react to
/// operators (the compliance auditor, incident timelines). The envelope's actor is the operator's key id.
/// </summary>
/// <param name="Action">The audited action (e.g. <c>agent.drain</c>).</param>
/// <param name="Target">The object acted on (e.g. <c>agent/a-1</c>).</param>
/// <param name="AuditSequence">The audit entry's sequence number, to look the entry up.</param>
[GenerateSerializer, Immutable, Alias("meshos.OperatorActionTaken")]
public sealed record OperatorActionTaken(string Action, string Target, long AuditSequence) : IMeshEventPayload;

/// <summary>
/// A tenant's budget crossed an alert threshold in its current period (each threshold once a period). The envelope's
/// tenant is the budget's.
/// </summary>
/// <param name="Budget">The budget's name.</param>
/// <param name="ThresholdPercent">The threshold crossed (e.g. 80).</param>
/// <param name="HardLimit">Whether the budget refuses submits once spend reaches its limit.</param>
[GenerateSerializer, Immutable, Alias("meshos.BudgetThresholdCrossed")]
public sealed record BudgetThresholdCrossed(
    [property: Id(0)] string Budget,
    [property: Id(1)] int ThresholdPercent,
    [property: Id(2)] decimal Spent,
    [property: Id(3)] decimal Limit,
    [property: Id(4)] string Currency,
    [property: Id(5)] bool HardLimit,
    [property: Id(6)] DateTimeOffset PeriodStart,
    [property: Id(7)] DateTimeOffset PeriodEnd) : IMeshEventPayload;

/// <summary>
/// A scope's error budget started (<paramref name="FastBurn"/> true) or stopped burning fast: the burn rate over both
/// the last 5 minutes and the last hour at or above <paramref name="Threshold"/>. The envelope's tenant is the scope's
/// tenant (absent for the mesh); the incident raised or cleared has the dedup key <c>slo-burn/{scope}</c>.
/// </summary>
/// <param name="Scope"><c>mesh</c> or <c>tenant/{id}</c>.</param>
/// <param name="FiveMinutes">Burn rate over the last 5 closed minutes (null: too few requests).</param>
/// <param name="OneHour">Burn rate over the last 60 closed minutes (null: too few requests).</param>
[GenerateSerializer, Immutable, Alias("meshos.SloBurnChanged")]
public sealed record SloBurnChanged(
    [property: Id(0)] string Scope,
    [property: Id(1)] bool FastBurn,
    [property: Id(2)] double? FiveMinutes,
    [property: Id(3)] double? OneHour,
    [property: Id(4)] double Threshold) : IMeshEventPayload;

/// <summary>
/// A cost recommendation was applied: the scale order sent to the pool's runtime (agents to start, agents drained and
/// to stop), or a move accepted. The envelope's actor is the operator's key id, or absent when autoscale applied it.
/// </summary>
/// <param name="Change">The change of the pool's agent count ordered (+n started, −n stopped; 0 for a move).</param>
/// <param name="Automatic">Applied by the pool's autoscale policy, not by an operator.</param>
[GenerateSerializer, Immutable, Alias("meshos.RecommendationApplied")]
public sealed record RecommendationApplied(
    [property: Id(0)] string RecommendationId,
    [property: Id(1)] Cost.RecommendationKind RecommendationKind,
    [property: Id(2)] string Pool,
    [property: Id(3)] string? Capability,
    [property: Id(4)] int Change,
    [property: Id(5)] ImmutableArray<string> AgentIds,
    [property: Id(6)] string? Runtime,
    [property: Id(7)] bool Automatic,
    [property: Id(8)] decimal MonthlySaving,
    [property: Id(9)] string Currency) : IMeshEventPayload
{
    /// <summary>Equal when every field is, the agent ids by their sequence (an event read back from the log equals the one written).</summary>
    public bool Equals(RecommendationApplied? other) =>
        other is not null && RecommendationId == other.RecommendationId && RecommendationKind == other.RecommendationKind && Pool == other.Pool
        && Capability == other.Capability && Change == other.Change && Runtime == other.Runtime && Automatic == other.Automatic
        && MonthlySaving == other.MonthlySaving && Currency == other.Currency
        && (AgentIds.IsDefault ? [] : AgentIds).SequenceEqual(other.AgentIds.IsDefault ? [] : other.AgentIds);

    public override int GetHashCode() => HashCode.Combine(RecommendationId, RecommendationKind, Pool, Change, Automatic);
}

/// <summary>An agent's state change. Decide on <paramref name="Cause"/>; <paramref name="Reason"/> is text for humans.</summary>
/// <param name="Runtime">The runtime that started the agent, if any (rate cards may price by it); null on events written before it was recorded.</param>
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
    AgentChangeCause Cause = AgentChangeCause.Unspecified,
    string? Runtime = null) : IMeshEventPayload;

/// <summary>
/// The end of one attempt of a job. <see cref="Status"/> is the job's status after the attempt: Pending when it
/// will be retried, a terminal status otherwise (<see cref="Terminal"/>).
/// </summary>
/// <param name="Outcome">What happened to the attempt: succeeded, failed, timed-out, lease-lost, cancelled, released.</param>
/// <param name="QueueWait">From the job becoming available to this attempt's lease.</param>
/// <param name="RunTime">From the attempt's start (or lease when never started) to its end.</param>
/// <param name="AgentVersion">The software version the attempt's agent registered with; null without an agent (and on events written before it was recorded).</param>
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
    JobUsage Usage,
    string? AgentVersion = null) : IMeshEventPayload;

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
