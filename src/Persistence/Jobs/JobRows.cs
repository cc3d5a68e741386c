using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text.Json;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Routing;
using Npgsql;

namespace MeshOs.Persistence.Jobs;

/// <summary>The mapping between <see cref="JobRecord"/> and a <c>meshos_jobs</c> row.</summary>
internal static class JobRows
{
    /// <summary>Every column but <c>data_classes</c> (an array, which unnest cannot carry per row as such).</summary>
    public const string ScalarColumns =
        "id, tenant_id, type, capability, pool, shard, priority, status, attempts, max_attempts, initial_backoff_ms, max_backoff_ms, " +
        "backoff_multiplier, timeout_ms, idempotency_key, payload, result, error, agent_id, epoch, lease_expires_at, leased_at, " +
        "started_at, completed_at, created_at, updated_at, available_at, version, tokens_in, tokens_out, cost, agent_version";

    public const string Columns = ScalarColumns + ", data_classes";

    /// <summary>What a read selects: <see cref="Columns"/> and the routing decision (written by updates only, never by an insert).</summary>
    public const string ReadColumns = Columns + ", routing";

    private static readonly JsonSerializerOptions RoutingJson = new(JsonSerializerDefaults.Web);

    /// <summary>The routing decision as stored (JSON text), null for none.</summary>
    public static string? RoutingText(RoutingDecision? routing) => routing is null ? null : JsonSerializer.Serialize(routing, RoutingJson);

    /// <summary>A stored routing decision; null for none, and for text this version cannot read (it only explains).</summary>
    public static RoutingDecision? ReadRouting(NpgsqlDataReader r, int ordinal)
    {
        if (r.FieldCount <= ordinal || r.IsDBNull(ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<RoutingDecision>(r.GetString(ordinal), RoutingJson);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A job's data classes as one text through unnest (names hold no line break: ComplianceTags); the statement turns
    /// it back into an array with <c>string_to_array(…, E'\n')</c>.
    /// </summary>
    public static string JoinClasses(ImmutableArray<string> classes) => classes.IsDefaultOrEmpty ? string.Empty : string.Join('\n', classes);

    /// <summary>Data classes as read: default (none) for an empty array.</summary>
    public static ImmutableArray<string> Classes(NpgsqlDataReader r, int ordinal)
    {
        var classes = r.GetFieldValue<string[]>(ordinal);
        return classes.Length == 0 ? default : [.. classes];
    }

    public static JobRecord Read(NpgsqlDataReader r)
    {
        var spec = new JobSpec(
            Type: r.GetString(2),
            Capability: r.GetString(3),
            Pool: r.GetString(4),
            PayloadJson: r.GetString(15),
            Priority: r.GetInt16(6),
            Timeout: TimeSpan.FromMilliseconds(r.GetInt64(13)),
            Retry: new RetryPolicy(r.GetInt32(9), TimeSpan.FromMilliseconds(r.GetInt64(10)), TimeSpan.FromMilliseconds(r.GetInt64(11)), r.GetDouble(12)),
            IdempotencyKey: r.IsDBNull(14) ? null : r.GetString(14),
            DataClasses: Classes(r, 32));
        return new JobRecord(
            JobId: r.GetGuid(0),
            TenantId: r.GetString(1),
            Spec: spec,
            Shard: r.GetInt32(5),
            Status: (JobStatus)r.GetInt16(7),
            Attempts: r.GetInt32(8),
            Version: r.GetInt64(27),
            CreatedAt: Time(r, 24)!.Value,
            UpdatedAt: Time(r, 25)!.Value,
            AvailableAt: Time(r, 26)!.Value,
            AgentId: r.IsDBNull(18) ? null : r.GetString(18),
            Epoch: r.GetInt64(19),
            LeaseExpiresAt: Time(r, 20),
            StartedAt: Time(r, 22),
            CompletedAt: Time(r, 23),
            ResultJson: r.IsDBNull(16) ? null : r.GetString(16),
            Error: r.IsDBNull(17) ? null : r.GetString(17),
            Usage: new JobUsage(r.GetInt64(28), r.GetInt64(29), r.GetDecimal(30)),
            LeasedAt: Time(r, 21),
            AgentVersion: r.IsDBNull(31) ? null : r.GetString(31),
            Routing: ReadRouting(r, 33));
    }

    /// <summary>
    /// The time a version-7 id was made at (its first 48 bits, Unix milliseconds); null for any other id, and for one
    /// whose time is not within the years 1971–9998 (no such id is made here).
    /// </summary>
    public static DateTimeOffset? IdTime(Guid id)
    {
        if (id.Version != 7)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes, bigEndian: true, out _);
        var ms = (long)(BinaryPrimitives.ReadUInt64BigEndian(bytes) >> 16);
        return ms is > MinIdMilliseconds and < MaxIdMilliseconds ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>
    /// How far from its id's time (version 7) a job's creation time may be: the id is made by the gateway's clock, the
    /// creation time by the silo's, moments later. Bounding a lookup by it lets the planner skip the other days'
    /// partitions.
    /// </summary>
    public static readonly TimeSpan IdTimeSlack = TimeSpan.FromDays(1);

    private const long MinIdMilliseconds = 365L * 86_400_000;
    private const long MaxIdMilliseconds = 253_370_764_800_000; // 9999-01-01

    public static DateTime Utc(DateTimeOffset value) => value.UtcDateTime;

    public static DateTime? Utc(DateTimeOffset? value) => value?.UtcDateTime;

    public static DateTimeOffset? Time(NpgsqlDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(ordinal), DateTimeKind.Utc));
}
