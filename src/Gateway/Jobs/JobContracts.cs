using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Gateway.Jobs;

/// <summary>A job submission over REST. <c>tenantId</c> is never read from a body: the caller's key decides it.</summary>
/// <param name="Payload">Any JSON value; passed to the agent untouched.</param>
/// <param name="Priority">0 (lowest) to 9 (highest). Default 5.</param>
/// <param name="TimeoutSeconds">Per attempt, once started. 1 to 86,400; default 300.</param>
/// <param name="MaxAttempts">Attempts in all, 1 to 20; default 3.</param>
/// <param name="InitialBackoffSeconds">Wait before the first retry, 0 to 3,600; default 1 (then doubling, with jitter).</param>
/// <param name="MaxBackoffSeconds">Longest wait between attempts, up to 86,400; default 300.</param>
/// <param name="IdempotencyKey">Same key, same job (also accepted as the Idempotency-Key header).</param>
public sealed record SubmitJobRequest(
    string? Type,
    string? Capability,
    string? Pool,
    JsonElement? Payload,
    int? Priority,
    double? TimeoutSeconds,
    int? MaxAttempts,
    double? InitialBackoffSeconds,
    double? MaxBackoffSeconds,
    double? BackoffMultiplier,
    string? IdempotencyKey);

/// <summary>A job as tenants see it.</summary>
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
    UsageDto Usage)
{
    public static JobDto From(JobRecord job) => new(
        job.JobId, job.Spec.Type, job.Spec.Capability, job.Spec.Pool, job.Status, job.Spec.Priority, job.Attempts,
        job.Spec.Retry.MaxAttempts, new RawJson(job.Spec.PayloadJson), job.ResultJson is null ? null : new RawJson(job.ResultJson),
        job.Error, job.CreatedAt, job.UpdatedAt, job.StartedAt, job.CompletedAt, job.AgentId, job.Version,
        job.Spec.IdempotencyKey, new UsageDto(job.Usage.TokensIn, job.Usage.TokensOut, job.Usage.Cost));
}

public sealed record UsageDto(long TokensIn, long TokensOut, decimal Cost);

public sealed record JobPageDto(IReadOnlyList<JobDto> Jobs, string? NextCursor);

public sealed record CancelJobRequest(string? Reason);

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

/// <summary>Up to 500 submissions in one call.</summary>
public sealed record SubmitJobBatchRequest(IReadOnlyList<SubmitJobRequest>? Jobs);

/// <summary>Each submission's outcome, in order: the job, or the problem it alone met.</summary>
public sealed record SubmitJobBatchResponse(IReadOnlyList<SubmitJobOutcome> Results);

public sealed record SubmitJobOutcome(JobDto? Job, bool? Created, BatchProblem? Error);

/// <summary>The problem details one entry of a batch got (the status it would have got alone).</summary>
public sealed record BatchProblem(int Status, string Title, string Detail);
