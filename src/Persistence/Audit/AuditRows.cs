using MeshOs.Abstractions.Audit;
using Npgsql;

namespace MeshOs.Persistence.Audit;

/// <summary>The mapping between <see cref="AuditEntry"/> / <see cref="AuditCheckpoint"/> and their rows.</summary>
internal static class AuditRows
{
    public const string Columns = "seq, at, " + DraftColumns + ", prev_hash, hash";

    public const string CheckpointColumns = "seq, hash, at, kind, mac";

    public static AuditEntry Read(NpgsqlDataReader r) => new(
        r.GetInt64(0),
        new DateTimeOffset(r.GetDateTime(1), TimeSpan.Zero),
        ReadDraft(r, 2),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(15)),
        Convert.ToHexStringLower(r.GetFieldValue<byte[]>(16)));

    /// <summary>A draft's thirteen columns (<see cref="DraftColumns"/>) from ordinal <paramref name="first"/> on.</summary>
    private static AuditDraft ReadDraft(NpgsqlDataReader r, int first) => new(
        new AuditActor(r.GetString(first), r.GetString(first + 1), Text(r, first + 2), Text(r, first + 3)),
        r.GetString(first + 4),
        r.GetString(first + 5),
        Text(r, first + 6),
        Outcome(r.GetString(first + 7)),
        Text(r, first + 8),
        Text(r, first + 9),
        Text(r, first + 10),
        Text(r, first + 11),
        Text(r, first + 12));

    /// <summary>A draft's thirteen columns as array parameters, in the order of <see cref="DraftColumns"/>.</summary>
    private static void AddDraftParameters(NpgsqlParameterCollection p, IReadOnlyList<AuditDraft> drafts)
    {
        p.Add(Array(drafts.Select(d => d.Actor.Kind)));
        p.Add(Array(drafts.Select(d => d.Actor.KeyId)));
        p.Add(Array(drafts.Select(d => d.Actor.TenantId)));
        p.Add(Array(drafts.Select(d => d.Actor.Address)));
        p.Add(Array(drafts.Select(d => d.Action)));
        p.Add(Array(drafts.Select(d => d.Target)));
        p.Add(Array(drafts.Select(d => d.Tenant)));
        p.Add(Array(drafts.Select(d => AuditCanonical.Name(d.Outcome))));
        p.Add(Array(drafts.Select(d => d.ErrorCode)));
        p.Add(Array(drafts.Select(d => d.RequestId)));
        p.Add(Array(drafts.Select(d => d.CorrelationId)));
        p.Add(Array(drafts.Select(d => d.Transport)));
        p.Add(Array(drafts.Select(d => d.ChangeDigest)));
    }

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
        AddDraftParameters(p, [.. entries.Select(e => e.Draft)]);
        p.Add(Array(entries.Select(e => Convert.FromHexString(e.PrevHash))));
        p.Add(Array(entries.Select(e => Convert.FromHexString(e.Hash))));
        return command;
    }

    /// <summary>A draft's columns, in the audit table and in its inbox (sql/0014_audit_inbox.sql).</summary>
    private const string DraftColumns =
        "actor_kind, actor_key, actor_tenant, actor_address, action, target, tenant, outcome, error_code, request_id, correlation_id, transport, change_digest";

    /// <summary>
    /// Inserts carried drafts into the audit inbox, each with the job it is about: parameters <paramref name="first"/>
    /// to <paramref name="first"/> + 13 (<see cref="AddInboxParameters"/>); only the drafts of jobs in
    /// <paramref name="writtenJobs"/> (a query over the statement's written rows), so an entry is there exactly when its
    /// change is. Used as a data-modifying CTE of the job writer's statements.
    /// </summary>
    public static string InboxInsertSql(int first, string writtenJobs) =>
        $"""
        INSERT INTO meshos_audit_inbox (job_id, {DraftColumns})
        SELECT d.* FROM unnest(${first}::uuid[], ${first + 1}::text[], ${first + 2}::text[], ${first + 3}::text[], ${first + 4}::text[],
            ${first + 5}::text[], ${first + 6}::text[], ${first + 7}::text[], ${first + 8}::text[], ${first + 9}::text[], ${first + 10}::text[],
            ${first + 11}::text[], ${first + 12}::text[], ${first + 13}::text[]) AS d(job_id, {DraftColumns})
        WHERE d.job_id IN ({writtenJobs})
        """;

    /// <summary>The fourteen parameters of <see cref="InboxInsertSql"/>, in its order.</summary>
    public static void AddInboxParameters(NpgsqlParameterCollection p, IReadOnlyList<(Guid JobId, AuditDraft Draft)> drafts)
    {
        p.Add(Array(drafts.Select(d => d.JobId)));
        AddDraftParameters(p, [.. drafts.Select(d => d.Draft)]);
    }

    /// <summary>
    /// Takes (deletes and returns) the oldest inbox rows, at most <c>$1</c>, skipping rows another sealer holds; the
    /// caller seals them in the same transaction, ordered by id.
    /// </summary>
    public const string InboxTakeSql = $"""
        DELETE FROM meshos_audit_inbox WHERE id IN (SELECT id FROM meshos_audit_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, {DraftColumns}
        """;

    /// <summary>A row of <see cref="InboxTakeSql"/>: its id and draft.</summary>
    public static (long Id, AuditDraft Draft) ReadInbox(NpgsqlDataReader r) => (r.GetInt64(0), ReadDraft(r, 1));

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
