namespace MeshOs.Abstractions;

/// <summary>The classes of error a MeshOs call can fail with; the gateway maps them to HTTP and gRPC statuses.</summary>
[GenerateSerializer]
public enum MeshErrorCode
{
    /// <summary>Malformed or out-of-range input (400 / InvalidArgument).</summary>
    InvalidArgument = 0,
    /// <summary>The object does not exist or belongs to someone else (404 / NotFound).</summary>
    NotFound = 1,
    /// <summary>The object already exists (409 / AlreadyExists).</summary>
    Conflict = 2,
    /// <summary>The object is not in a state that allows the call (409 / FailedPrecondition).</summary>
    FailedPrecondition = 3,
    /// <summary>A quota or cap was reached (429 / ResourceExhausted).</summary>
    ResourceExhausted = 4,
    /// <summary>A dependency (storage) is unavailable; nothing was acknowledged (503 / Unavailable).</summary>
    Unavailable = 5,
    /// <summary>The caller may not do this (403 / PermissionDenied).</summary>
    PermissionDenied = 6,
    /// <summary>A request carries a stale fencing token (409 / Aborted).</summary>
    StaleEpoch = 7,
    /// <summary>An idempotency key already names a job made from a different request (422 / AlreadyExists).</summary>
    IdempotencyKeyReused = 8,
    /// <summary>The object reached a final state some other way; the call about it was refused (409 / FailedPrecondition).</summary>
    Finished = 9,

    /// <summary>No credential, or one that is unknown or revoked (401 / Unauthenticated).</summary>
    Unauthenticated = 10,

    /// <summary>A budget's hard limit is reached: new work it covers is refused (402, problem type budget-exceeded / FailedPrecondition).</summary>
    BudgetExceeded = 11,
}

/// <summary>An expected failure with a code the caller can act on. Anything else is a server fault.</summary>
[GenerateSerializer, Alias("meshos.MeshException")]
public sealed class MeshException : Exception
{
    public MeshException()
    {
    }

    public MeshException(string message)
        : base(message)
    {
    }

    public MeshException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MeshException(MeshErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    [Id(0)]
    public MeshErrorCode Code { get; init; }

    /// <summary>
    /// The input field the error is about, by its REST (JSON) name and path (<c>priority</c>, <c>quotas.submitBurst</c>);
    /// the message then starts with it. Null when the error is not about one field. gRPC answers rename it to the
    /// field's protobuf name.
    /// </summary>
    [Id(1)]
    public string? Field { get; init; }

    /// <summary>The state of the object the call was refused for (a job's status for <see cref="MeshErrorCode.Finished"/>), if it says.</summary>
    [Id(2)]
    public string? State { get; init; }

    /// <summary>Why, where a caller decides on more than the code (never match the message text).</summary>
    [Id(3)]
    public MeshErrorReason Reason { get; init; }

    /// <summary>When a retry may succeed, for refusals that know (load shedding).</summary>
    [Id(4)]
    public TimeSpan? RetryAfter { get; init; }

    public static MeshException NotFound(string what) => new(MeshErrorCode.NotFound, $"{what} was not found.");

    public static MeshException Invalid(string message) => new(MeshErrorCode.InvalidArgument, message);

    /// <summary>An InvalidArgument about <paramref name="field"/>: the message is "<c>field: problem</c>".</summary>
    public static MeshException Invalid(string field, string problem) =>
        new(MeshErrorCode.InvalidArgument, $"{field}: {problem}") { Field = field };

    /// <summary>A call about an object that already ended in <paramref name="state"/>.</summary>
    public static MeshException Finished(string message, string state) => new(MeshErrorCode.Finished, message) { State = state };

    /// <summary>BudgetExceeded: the budget <paramref name="budget"/>'s hard limit is reached (its name is the error's state).</summary>
    public static MeshException OverBudget(string budget, string message) => new(MeshErrorCode.BudgetExceeded, message) { State = budget };

    public static MeshException Conflict(string message) => new(MeshErrorCode.Conflict, message);

    public static MeshException Precondition(string message) => new(MeshErrorCode.FailedPrecondition, message);

    public static MeshException Exhausted(string message) => new(MeshErrorCode.ResourceExhausted, message);

    public static MeshException Unavailable(string message) => new(MeshErrorCode.Unavailable, message);

    /// <summary>ResourceExhausted because the mesh sheds load; nothing was written.</summary>
    public static MeshException Overloaded(string message, TimeSpan retryAfter) =>
        new(MeshErrorCode.ResourceExhausted, message) { Reason = MeshErrorReason.Overloaded, RetryAfter = retryAfter };

    /// <summary>
    /// FailedPrecondition because another write of the same object won (this copy was stale): trying again re-reads it.
    /// </summary>
    public static MeshException ChangedConcurrently(string message) =>
        new(MeshErrorCode.FailedPrecondition, message) { Reason = MeshErrorReason.ChangedConcurrently };
}

/// <summary>A finer reason within a <see cref="MeshErrorCode"/>, for callers that decide on it.</summary>
[GenerateSerializer]
public enum MeshErrorReason
{
    /// <summary>Nothing finer than the code.</summary>
    None = 0,

    /// <summary>Another write of the object won; the call may be tried again after a re-read.</summary>
    ChangedConcurrently = 1,

    /// <summary>The mesh sheds load (ResourceExhausted): nothing was written; retry after <see cref="MeshException.RetryAfter"/>.</summary>
    Overloaded = 2,
}
