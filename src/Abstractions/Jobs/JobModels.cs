using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Abstractions.Jobs;

/// <summary>
/// Job lifecycle: Pending → Leased → Running → Succeeded | Failed | Cancelled | TimedOut | DeadLettered.
/// A retryable failure, timeout or lost lease goes back to Pending after a backoff while attempts remain.
/// </summary>
[GenerateSerializer]
public enum JobStatus
{
    Pending = 0,
    Leased = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
    TimedOut = 6,
    DeadLettered = 7,
}

public static class JobStatusExtensions
{
    /// <summary>True for the statuses a job never leaves.</summary>
    public static bool IsTerminal(this JobStatus status) => status >= JobStatus.Succeeded;

    /// <summary>True while an agent holds the job.</summary>
    public static bool IsLeased(this JobStatus status) => status is JobStatus.Leased or JobStatus.Running;
}

/// <summary>How a failed attempt is retried: exponential backoff, capped, with "equal jitter" (between half and all of each wait).</summary>
/// <param name="MaxAttempts">Attempts in all, the first included (1 means no retry).</param>
[GenerateSerializer, Immutable, Alias("meshos.RetryPolicy")]
public sealed record RetryPolicy(
    int MaxAttempts,
    TimeSpan InitialBackoff,
    TimeSpan MaxBackoff,
    double Multiplier)
{
    public static RetryPolicy Default { get; } = new(3, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 2.0);
}

/// <summary>What a tenant submits.</summary>
/// <param name="Type">Free-form job type, for the tenant's own filtering.</param>
/// <param name="Capability">The capability an agent must declare to take the job.</param>
/// <param name="Pool">The agent pool to run in; must be one the tenant may use.</param>
/// <param name="PayloadJson">The job's input, a JSON document passed to the agent untouched.</param>
/// <param name="Priority">0 (lowest) to 9 (highest); higher priorities are always leased first.</param>
/// <param name="Timeout">How long one attempt may run once started.</param>
/// <param name="IdempotencyKey">A duplicate submit with the same key returns the first job.</param>
/// <param name="DataClasses">
/// What the payload holds (e.g. <c>pii</c>), distinct and in ordinal order: the data-classification policy gives the job
/// only to agents certified for each. Default or empty: none.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.JobSpec")]
public sealed record JobSpec(
    string Type,
    string Capability,
    string Pool,
    string PayloadJson,
    int Priority,
    TimeSpan Timeout,
    RetryPolicy Retry,
    string? IdempotencyKey,
    ImmutableArray<string> DataClasses = default)
{
    /// <summary>The data classes, empty when none.</summary>
    public ImmutableArray<string> Classes => DataClasses.IsDefault ? [] : DataClasses;

    /// <summary>
    /// Field by field, the data classes by content (a spec is the fingerprint an idempotent submit is compared by, and
    /// an array compares by reference).
    /// </summary>
    public bool Equals(JobSpec? other) =>
        other is not null
        && Type == other.Type && Capability == other.Capability && Pool == other.Pool && PayloadJson == other.PayloadJson
        && Priority == other.Priority && Timeout == other.Timeout && Retry == other.Retry && IdempotencyKey == other.IdempotencyKey
        && Classes.SequenceEqual(other.Classes, StringComparer.Ordinal);

    public override int GetHashCode() =>
        HashCode.Combine(Type, Capability, Pool, PayloadJson, Priority, Timeout, Retry, HashCode.Combine(IdempotencyKey, Classes.Length));
}

/// <summary>What an agent reported about its use of resources while running a job.</summary>
/// <param name="Cost">Cost the agent priced itself, in the mesh's currency.</param>
/// <param name="Metered">
/// Metered quantities (tokens of a model, GPU-seconds, any named unit) the cost model prices with the rate card in force;
/// null when none. Carried to the cost supervisor by the attempt's event; the job store keeps the totals only.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.JobUsage")]
public sealed record JobUsage(long TokensIn, long TokensOut, decimal Cost, ImmutableArray<MeteredUsage>? Metered = null)
{
    /// <summary>Most metered items one result may carry.</summary>
    public const int MaxMetered = 32;

    public static JobUsage None { get; } = new(0, 0, 0m);

    /// <summary>The metered items, empty when none.</summary>
    public ImmutableArray<MeteredUsage> MeteredItems() => Metered is { IsDefault: false } items ? items : [];

    /// <summary>Field by field, the metered items by content.</summary>
    public bool Equals(JobUsage? other) =>
        other is not null && TokensIn == other.TokensIn && TokensOut == other.TokensOut && Cost == other.Cost
        && MeteredItems().SequenceEqual(other.MeteredItems());

    public override int GetHashCode() => HashCode.Combine(TokensIn, TokensOut, Cost, MeteredItems().Length);
}

/// <summary>An agent's report of one attempt.</summary>
/// <param name="Succeeded">True for success; false for a failure.</param>
/// <param name="Retryable">For failures: whether another attempt may succeed.</param>
/// <param name="StartedAt">
/// When the agent reported the start, if that report was not sent on by itself (the gateway holds starts briefly and
/// lets a quick result carry them).
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.JobResult")]
public sealed record JobResult(
    bool Succeeded,
    string? ResultJson,
    string? Error,
    bool Retryable,
    JobUsage Usage,
    DateTimeOffset? StartedAt = null);

/// <summary>
/// The durable record of a job: the row in the job store and what the API returns.
/// <see cref="Version"/> increases by one on every change.
/// </summary>
/// <param name="Routing">Why the latest lease went to its agent (the routing policy's decision); null before the first lease.</param>
[GenerateSerializer, Immutable, Alias("meshos.JobRecord")]
public sealed record JobRecord(
    Guid JobId,
    string TenantId,
    JobSpec Spec,
    int Shard,
    JobStatus Status,
    int Attempts,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset AvailableAt,
    string? AgentId,
    long Epoch,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? ResultJson,
    string? Error,
    JobUsage Usage,
    DateTimeOffset? LeasedAt,
    string? AgentVersion = null,
    Routing.RoutingDecision? Routing = null);

/// <summary>What a submit returns: the job and whether this call created it (false: idempotent duplicate).</summary>
[GenerateSerializer, Immutable, Alias("meshos.SubmitOutcome")]
public sealed record SubmitOutcome(JobRecord Job, bool Created);

/// <summary>A lease granted to an agent: everything it needs to run the job.</summary>
[GenerateSerializer, Immutable, Alias("meshos.LeaseGrant")]
public sealed record LeaseGrant(
    Guid JobId,
    string TenantId,
    long Epoch,
    DateTimeOffset ExpiresAt,
    int Attempt,
    string Type,
    string Capability,
    string PayloadJson,
    TimeSpan Timeout);

/// <summary>Filters for listing a tenant's jobs; null means any.</summary>
[GenerateSerializer, Immutable, Alias("meshos.JobQuery")]
public sealed record JobQuery(
    string TenantId,
    JobStatus? Status,
    string? Type,
    DateTimeOffset? CreatedFrom,
    DateTimeOffset? CreatedTo,
    string? Cursor,
    int Limit)
{
    /// <summary>What is wrong with a cursor the service did not hand out (the message after "cursor: ").</summary>
    public const string CursorNotValid = "not one this service returned; pass on the cursor that came with the previous page.";
}

/// <summary>One page of jobs, newest first, with the cursor of the next page (null at the end).</summary>
[GenerateSerializer, Immutable, Alias("meshos.JobPage")]
public sealed record JobPage(ImmutableArray<JobRecord> Jobs, string? NextCursor);
