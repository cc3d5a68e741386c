using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Jobs;

/// <summary>A job submission over REST. The tenant is never read from a body: the caller's key decides it.</summary>
public sealed record SubmitJobRequest
{
    /// <summary>Free-form job type for the tenant's own filtering: 1–100 of letters, digits and <c>. _ : / -</c>.</summary>
    [Required]
    public string? Type { get; init; }

    /// <summary>The capability an agent must declare to take the job: 1–100 of <c>a-z 0-9 - _ . /</c>.</summary>
    [Required]
    public string? Capability { get; init; }

    /// <summary>The agent pool to run in, one the tenant may use. Default: the tenant's first pool.</summary>
    public string? Pool { get; init; }

    /// <summary>Any JSON value (not null), passed to the agent untouched; at most the tenant's maxPayloadBytes as JSON text.</summary>
    [Required]
    public JsonElement? Payload { get; init; }

    /// <summary>0 (lowest) to 9 (highest); higher priorities are always leased first. Default 5.</summary>
    [Range(0, 9)]
    public int? Priority { get; init; }

    /// <summary>How long one attempt may run once started: 1 to 86,400 seconds. Default 300.</summary>
    [Range(1d, 86_400d)]
    public double? TimeoutSeconds { get; init; }

    /// <summary>Attempts in all, the first included: 1 to 20. Default 3.</summary>
    [Range(1, 20)]
    public int? MaxAttempts { get; init; }

    /// <summary>Wait before the first retry: 0 to 3,600 seconds. Default 1 (then multiplied by backoffMultiplier each retry, with jitter).</summary>
    [Range(0d, 3_600d)]
    public double? InitialBackoffSeconds { get; init; }

    /// <summary>Longest wait between attempts: initialBackoffSeconds to 86,400 seconds. Default 300.</summary>
    [Range(0d, 86_400d)]
    public double? MaxBackoffSeconds { get; init; }

    /// <summary>Growth of the wait between attempts: 1 to 10. Default 2.</summary>
    [Range(1d, 10d)]
    public double? BackoffMultiplier { get; init; }

    /// <summary>
    /// At most 200 printable ASCII characters (also accepted as the Idempotency-Key header; empty: none). The same key
    /// with the same request returns the first job (200); with another request: 422.
    /// </summary>
    [StringLength(200)]
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// What the payload holds (e.g. <c>pii</c>): at most 8 names of 1–32 of <c>a-z 0-9 -</c>. The job goes only to
    /// agents certified for each (the data-classification policy); a class the tenant does not allow is refused (409,
    /// naming the policy) while that policy enforces. Default: none.
    /// </summary>
    public IReadOnlyList<string>? DataClasses { get; init; }

    /// <summary>The submission for the service; a duration that cannot be one is refused here, naming its field.</summary>
    public SubmitInput ToInput(string? idempotencyHeader) => new(
        Type, Capability, Pool,
        Inputs.JsonText(Payload, "payload"),
        Priority,
        Seconds(TimeoutSeconds, "timeoutSeconds"),
        MaxAttempts,
        Seconds(InitialBackoffSeconds, "initialBackoffSeconds"),
        Seconds(MaxBackoffSeconds, "maxBackoffSeconds"),
        BackoffMultiplier,
        IdempotencyKey ?? idempotencyHeader,
        DataClasses);

    private static TimeSpan? Seconds(double? value, string name) => value switch
    {
        null => null,
        { } s when double.IsFinite(s) && s is >= 0 and <= 10 * 86_400 => TimeSpan.FromSeconds(s),
        _ => throw MeshException.Invalid(name, "out of range."),
    };
}

/// <summary>Up to 500 submissions in one call.</summary>
public sealed record SubmitJobBatchRequest
{
    /// <summary>1–500 submissions, each judged on its own.</summary>
    [Required]
    public IReadOnlyList<SubmitJobRequest>? Jobs { get; init; }
}

/// <summary>A job as tenants see it.</summary>
/// <param name="Payload">The job's input, as submitted.</param>
/// <param name="Result">The result of a successful attempt.</param>
/// <param name="Error">Why the last attempt failed, or the job was cancelled.</param>
/// <param name="Version">Grows by one at every change.</param>
/// <param name="AgentVersion">The software version the agent in <paramref name="AgentId"/> registered with.</param>
/// <param name="DataClasses">The data classes the job was submitted with (empty: none).</param>
/// <param name="Routing">
/// Why the latest lease went to <paramref name="AgentId"/>: the routing policy, its reason (best-score, exploration,
/// only-candidate, round-robin) and the candidates it compared at that moment (the chosen one first, then the best of
/// the others; lower score is better) with their learned success rate, latency, cost per job, in-flight jobs and
/// concurrency limit. Null before the first lease. README "Adaptive routing".
/// </param>
public sealed record JobDto(
    Guid Id,
    string Type,
    string Capability,
    string Pool,
    JobStatus Status,
    int Priority,
    int Attempts,
    int MaxAttempts,
    RawJson Payload,
    RawJson? Result,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? AgentId,
    long Version,
    string? IdempotencyKey,
    UsageDto Usage,
    string? AgentVersion,
    IReadOnlyList<string> DataClasses,
    Abstractions.Routing.RoutingDecision? Routing)
{
    public static JobDto From(JobRecord job) => new(
        job.JobId, job.Spec.Type, job.Spec.Capability, job.Spec.Pool, job.Status, job.Spec.Priority, job.Attempts,
        job.Spec.Retry.MaxAttempts, new RawJson(job.Spec.PayloadJson), job.ResultJson is null ? null : new RawJson(job.ResultJson),
        job.Error, job.CreatedAt, job.UpdatedAt, job.StartedAt, job.CompletedAt, job.AgentId, job.Version,
        job.Spec.IdempotencyKey, new UsageDto(job.Usage.TokensIn, job.Usage.TokensOut, job.Usage.Cost), job.AgentVersion,
        job.Spec.Classes, job.Routing);
}

public sealed record UsageDto(long TokensIn, long TokensOut, decimal Cost);

/// <summary>A page of jobs, newest first; pass <see cref="NextCursor"/> as <c>cursor</c> for the next (null at the end).</summary>
public sealed record JobPageDto(IReadOnlyList<JobDto> Jobs, string? NextCursor);

public sealed record CancelJobRequest
{
    /// <summary>Why (at most 500 characters). Default "cancelled by the tenant".</summary>
    [StringLength(500)]
    public string? Reason { get; init; }
}

/// <summary>A JSON document kept as text and written into responses as JSON, not as a string.</summary>
[JsonConverter(typeof(RawJsonConverter))]
public readonly record struct RawJson(string Json);

internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return new RawJson(document.RootElement.GetRawText());
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Json, skipInputValidation: true);
}

/// <summary>Each submission's outcome, in order: the job, or the problem it alone met.</summary>
public sealed record SubmitJobBatchResponse(IReadOnlyList<SubmitJobOutcome> Results);

/// <summary>One submission of a batch: the job (created, or found by its idempotency key), or its error.</summary>
public sealed record SubmitJobOutcome(JobDto? Job, bool? Created, BatchProblem? Error);

/// <summary>The problem one entry of a batch met: the status, title and detail it would have got alone.</summary>
/// <param name="RetryAfterSeconds">With status 429: when the entry may be submitted again.</param>
public sealed record BatchProblem(int Status, string Title, string Detail, int? RetryAfterSeconds = null);
