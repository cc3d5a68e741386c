using MeshOs.Abstractions.Audit;
using Npgsql;

namespace MeshOs.Persistence.Audit;

/// <summary>The mapping between <see cref="AuditEntry"/> / <see cref="AuditCheckpoint"/> and their rows.</summary>
internal static class AuditRows
{
    public const string Columns =
        "seq, at, actor_kind, actor_key, actor_tenant, actor_address, action, target, tenant, outcome, error_code, request_id, " +
        "correlation_id, transport, change_digest, prev_hash, hash";

    public const string CheckpointColumns = "seq, hash, at, kind, mac";

    public static AuditEntry Read(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        new DateTimeOffset(r.GetDateTime(1), TimeSpan.Zero),
        new AuditDraft(
            new AuditActor(r.GetString(2), r.GetString(3), Text(r, 4), Text(r, 5)),
            r.GetString(6),
            r.GetString(7),
            Text(r, 8),
            Outcome(r.GetString(9)),
            Text(r, 10),
            Text(r, 11),
            Text(r, 12),
            Text(r, 13),
            Text(r, 14)),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(15)),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(16)));

    public static AuditCheckpoint ReadCheckpoint(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(1)),
        new DateTimeOffset(r.GetDateTime(2), TimeSpan.Zero),
        Kind(r.GetString(3)),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(4)));

    /// <summary>Inserts sealed entries with one array-bound statement.</summary>
    public static NpgsqlBatchCommand InsertCommand(IReadOnlyList<AuditEntry> entries)
    {
        var command = new NpgsqlBatchCommand($"""
            INSERT INTO meshos_audit ({Columns})
            SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bytea[], $17::bytea[])
            """);
        var p = command.Parameters;
        p.Add(Array(entries.Select(e => e.Seq)));
        p.Add(Array(entries.Select(e => e.At.UtcDateTime)));
        p.Add(Array(entries.Select(e => e.Draft.Actor.Kind)));
        p.Add(Array(entries.Select(e => e.Draft.Actor.KeyId)));
        p.Add(Array(entries.Select(e => e.Draft.Actor.TenantId)));
        p.Add(Array(entries.Select(e => e.Draft.Actor.Address)));
        p.Add(Array(entries.Select(e => e.Draft.Action)));
        p.Add(Array(entries.Select(e => e.Draft.Target)));
        p.Add(Array(entries.Select(e => e.Draft.Tenant)));
        p.Add(Array(entries.Select(e => AuditCanonical.Name(e.Draft.Outcome))));
        p.Add(Array(entries.Select(e => e.Draft.ErrorCode)));
        p.Add(Array(entries.Select(e => e.Draft.RequestId)));
        p.Add(Array(entries.Select(e => e.Draft.CorrelationId)));
        p.Add(Array(entries.Select(e => e.Draft.Transport)));
        p.Add(Array(entries.Select(e => e.Draft.ChangeDigest)));
        p.Add(Array(entries.Select(e => Convert.FromHexString(e.PrevHash))));
        p.Add(Array(entries.Select(e => Convert.FromHexString(e.Hash))));
        return command;
    }

    private static string? Text(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static AuditOutcome Outcome(string name) => name switch
    {
        "succeeded" => AuditOutcome.Succeeded,
        "refused" => AuditOutcome.Refused,
        "failed" => AuditOutcome.Failed,
        // An outcome the canonical form cannot name: keep the entry (verification will flag it as altered).
        _ => (AuditOutcome)(-1),
    };

    public static AuditCheckpointKind Kind(string name) => name switch
    {
        "periodic" => AuditCheckpointKind.Periodic,
        "shutdown" => AuditCheckpointKind.Shutdown,
        "boundary" => AuditCheckpointKind.Boundary,
        _ => (AuditCheckpointKind)(-1),
    };

    private static NpgsqlParameter Array<T>(IEnumerable<T> values) => new() { Value = values.ToArray() };
}
