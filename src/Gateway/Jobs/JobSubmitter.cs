using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Jobs;

/// <summary>A submission in protocol-neutral form: what REST and gRPC both hand over for validation.</summary>
public sealed record SubmitInput(
    string? Type,
    string? Capability,
    string? Pool,
    string? PayloadJson,
    int? Priority,
    TimeSpan? Timeout,
    int? MaxAttempts,
    TimeSpan? InitialBackoff,
    TimeSpan? MaxBackoff,
    double? BackoffMultiplier,
    string? IdempotencyKey,
    IEnumerable<string>? DataClasses = null);

/// <summary>
/// The rules of a submission and its way to the job's grain: <see cref="Validate"/> checks a submission against the
/// rules and the tenant's quotas (InvalidArgument naming the field, PermissionDenied for a pool the tenant may not use);
/// <see cref="SubmitAsync"/> hands a valid one to its grain, which acknowledges only once the job is durable, and tries
/// again with the same job id while a silo fails over.
/// </summary>
public sealed class JobSubmitter(IGrainFactory grains, AdmissionGate admission, TimeProvider time)
{
    public const int DefaultPriority = 5;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);
    public const int MaxAttemptsLimit = 20;

    private static readonly JsonDocumentOptions PayloadParsing = new() { MaxDepth = 64 };

    /// <summary>How long a submit keeps retrying when a silo is failing over (the job id stays the same). Default 5 s.</summary>
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one try waits for the job grain. A call that reached a silo just before it died gets no answer until
    /// the cluster's response timeout (30 s); a submit stops waiting sooner and tries again with the same job id, which
    /// the job's new activation answers (a submit normally takes milliseconds).
    /// </summary>
    public static readonly TimeSpan TryTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The id a valid submission gets: its idempotency key's, or a new time-ordered one.</summary>
    public Guid NewJobId(string tenantId, JobSpec spec) =>
        spec.IdempotencyKey is { } key ? IdempotentJobId(tenantId, key) : Guid.CreateVersion7(time.GetUtcNow());

    /// <summary>
    /// Submits a valid spec under <paramref name="jobId"/>. <paramref name="cancellationToken"/> (the caller going
    /// away) stops the waiting and the retries, not a write already on its way: a caller that retries with the same
    /// idempotency key finds the job.
    /// </summary>
    public async Task<SubmitOutcome> SubmitAsync(TenantPrincipal tenant, Guid jobId, JobSpec spec, CancellationToken cancellationToken)
    {
        var grain = grains.GetJobGrain(jobId);
        try
        {
            // A silo went away mid-call: the same job id can safely be submitted again.
            var (outcome, retried) = await Audit.AuditCarriage.CarryAsync(jobId, () => Errors.FailoverRetry.RunAsync(
                () => grain.SubmitAsync(tenant.TenantId, spec, tenant.Quotas.MaxQueuedJobs, tenant.Quotas.MaxConcurrentJobs),
                new Errors.RetryLimits(TryTimeout, RetryBudget), time, cancellationToken));

            // Without an idempotency key the id is this call's own: finding it means an earlier try of this very
            // submit was written before its answer was lost.
            return retried && !outcome.Created && spec.IdempotencyKey is null ? outcome with { Created = true } : outcome;
        }
        catch (MeshException ex) when (admission.OnRefused(spec.Pool, spec.Capability, ex) is { } shed)
        {
            throw shed;
        }
    }

    /// <summary>
    /// Every rule of a submission; the first broken one is reported, naming the field by its REST name. Durations are
    /// kept to whole milliseconds, as the job store keeps them, so that a repeated submit compares equal to the stored one.
    /// </summary>
    public static JobSpec Validate(TenantPrincipal tenant, SubmitInput input)
    {
        Require(IsName(input.Type, 100), "type", "required, 1–100 of letters, digits and . _ : / -");
        Require(input.Capability is { Length: > 0 and <= 100 } c && c.All(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '/'),
            "capability", "required, 1–100 of a-z 0-9 - _ . /");

        var pool = string.IsNullOrEmpty(input.Pool) ? PoolAccess.DefaultPool(tenant.TenantId, tenant.Pools) : input.Pool;
        if (!PoolAccess.MaySubmit(tenant.TenantId, tenant.Pools, pool))
        {
            throw new MeshException(MeshErrorCode.PermissionDenied, $"pool: the tenant may not use pool '{pool}'.") { Field = "pool" };
        }

        if (input.PayloadJson is null)
        {
            throw MeshException.Invalid("payload", "required (any JSON value).");
        }

        var payloadBytes = Encoding.UTF8.GetByteCount(input.PayloadJson);
        Require(payloadBytes <= tenant.Quotas.MaxPayloadBytes, "payload",
            $"{payloadBytes} bytes is over the tenant's quota of {tenant.Quotas.MaxPayloadBytes} bytes.");
        try
        {
            using var _ = JsonDocument.Parse(input.PayloadJson, PayloadParsing);
        }
        catch (JsonException ex)
        {
            throw MeshException.Invalid("payload", "not valid JSON (" + ex.Message + ").");
        }

        var priority = input.Priority ?? DefaultPriority;
        Require(priority is >= 0 and <= 9, "priority", "0 (lowest) to 9 (highest).");
        var timeout = input.Timeout ?? DefaultTimeout;
        Require(timeout >= TimeSpan.FromSeconds(1) && timeout <= MaxTimeout, "timeoutSeconds", "1 second to 1 day.");

        var defaults = RetryPolicy.Default;
        var maxAttempts = input.MaxAttempts ?? defaults.MaxAttempts;
        Require(maxAttempts is >= 1 and <= MaxAttemptsLimit, "maxAttempts", $"1–{MaxAttemptsLimit}.");
        var initial = input.InitialBackoff ?? defaults.InitialBackoff;
        Require(initial >= TimeSpan.Zero && initial <= TimeSpan.FromHours(1), "initialBackoffSeconds", "0 to 1 hour.");
        var max = input.MaxBackoff ?? (defaults.MaxBackoff > initial ? defaults.MaxBackoff : initial);
        Require(max >= initial && max <= TimeSpan.FromDays(1), "maxBackoffSeconds", "at least the initial backoff, at most 1 day.");
        var multiplier = input.BackoffMultiplier ?? defaults.Multiplier;
        Require(multiplier is >= 1 and <= 10 && double.IsFinite(multiplier), "backoffMultiplier", "1 to 10.");

        var key = string.IsNullOrEmpty(input.IdempotencyKey) ? null : input.IdempotencyKey;
        Require(key is null || (key.Length <= 200 && key.All(ch => ch is >= ' ' and <= '~')), "idempotencyKey", "1–200 printable ASCII characters.");

        var dataClasses = ComplianceTags.Normalize("dataClasses", input.DataClasses);
        return new JobSpec(input.Type!, input.Capability!, pool, input.PayloadJson, priority, WholeMilliseconds(timeout),
            new RetryPolicy(maxAttempts, WholeMilliseconds(initial), WholeMilliseconds(max), multiplier), key,
            dataClasses.IsEmpty ? default : dataClasses);
    }

    /// <summary>The job id a tenant's idempotency key maps to: the same on every gateway, distinct between tenants.</summary>
    public static Guid IdempotentJobId(string tenantId, string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"meshos.job|{tenantId}|{key}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80); // version 8: name-based, custom hash
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    /// <summary>Parses a job id from a route or message; InvalidArgument (field jobId) when it is not a UUID.</summary>
    public static Guid ParseJobId(string? id) =>
        Guid.TryParse(id, out var jobId) ? jobId : throw MeshException.Invalid("jobId", "not a UUID.");

    private static bool IsName(string? value, int max) =>
        value is { Length: > 0 } && value.Length <= max && value.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or ':' or '/' or '-');

    /// <summary>A valid duration in whole milliseconds (rounded down), the precision the job store keeps.</summary>
    private static TimeSpan WholeMilliseconds(TimeSpan value) => TimeSpan.FromTicks(value.Ticks - (value.Ticks % TimeSpan.TicksPerMillisecond));

    private static void Require(bool condition, string field, string problem)
    {
        if (!condition)
        {
            throw MeshException.Invalid(field, problem);
        }
    }
}
