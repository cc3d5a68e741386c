using System.Collections.Immutable;

namespace MeshOs.Abstractions.Audit;

/// <summary>How the action an entry records ended.</summary>
public enum AuditOutcome
{
    /// <summary>It was carried out (or, for a security decision, the decision was taken).</summary>
    Succeeded,

    /// <summary>It was refused for a reason the caller can act on: nothing changed.</summary>
    Refused,

    /// <summary>It failed for a reason of the mesh's own.</summary>
    Failed,
}

/// <summary>Who acted.</summary>
/// <param name="Kind"><c>operator</c>, <c>tenant</c>, <c>agent</c> (enrollment token), <c>anonymous</c> or <c>system</c> (the mesh itself).</param>
/// <param name="KeyId">The credential's id (never its secret); for the mesh itself, the component (e.g. <c>healing</c>).</param>
/// <param name="TenantId">The caller's tenant, for a tenant key.</param>
/// <param name="Address">The remote address the call came from, when it came over the network.</param>
[GenerateSerializer, Immutable, Alias("meshos.AuditActor")]
public sealed record AuditActor(
    [property: Id(0)] string Kind,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string? TenantId,
    [property: Id(3)] string? Address)
{
    /// <summary>The mesh acting on its own (a supervisor), named by its component.</summary>
    public static AuditActor System(string component) => new(AuditActorKinds.System, component, null, null);
}

/// <summary>The values of <see cref="AuditActor.Kind"/>.</summary>
public static class AuditActorKinds
{
    public const string Operator = "operator";
    public const string Tenant = "tenant";
    public const string Agent = "agent";
    public const string Anonymous = "anonymous";
    public const string System = "system";
}

/// <summary>
/// What an entry says before the log seals it (gives it its sequence number, time and hashes). <see cref="Tenant"/> is
/// the tenant whose object the entry is about: tenants read the entries with their id there, operators read all.
/// </summary>
/// <param name="ChangeDigest">SHA-256 (lowercase hex) of the canonical summary of the change (<see cref="AuditChange"/>); never secrets or payloads.</param>
[GenerateSerializer, Immutable, Alias("meshos.AuditDraft")]
public sealed record AuditDraft(
    [property: Id(0)] AuditActor Actor,
    [property: Id(1)] string Action,
    [property: Id(2)] string Target,
    [property: Id(3)] string? Tenant,
    [property: Id(4)] AuditOutcome Outcome,
    [property: Id(5)] string? ErrorCode,
    [property: Id(6)] string? RequestId,
    [property: Id(7)] string? CorrelationId,
    [property: Id(8)] string? Transport,
    [property: Id(9)] string? ChangeDigest)
{
    /// <summary>The longest text an entry keeps in one field; longer (hostile) input is cut, marked with "…".</summary>
    public const int MaxFieldLength = 512;

    /// <summary>
    /// The draft as the log can store it: control characters (PostgreSQL text cannot hold NUL) and lone surrogates
    /// become U+FFFD, and each text field is cut to <see cref="MaxFieldLength"/>. A refused call with a hostile id is
    /// still recorded, its id as far as it is text.
    /// </summary>
    public AuditDraft Storable() => this with
    {
        Actor = Actor with { KeyId = AuditText.Storable(Actor.KeyId)!, TenantId = AuditText.Storable(Actor.TenantId), Address = AuditText.Storable(Actor.Address) },
        Action = AuditText.Storable(Action)!,
        Target = AuditText.Storable(Target)!,
        Tenant = AuditText.Storable(Tenant),
        ErrorCode = AuditText.Storable(ErrorCode),
        RequestId = AuditText.Storable(RequestId),
        CorrelationId = AuditText.Storable(CorrelationId),
        Transport = AuditText.Storable(Transport),
    };
}

/// <summary>Text as an audit entry keeps it (see <see cref="AuditDraft.Storable"/>).</summary>
public static class AuditText
{
    public static string? Storable(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var cut = text.Length > AuditDraft.MaxFieldLength ? text[..(AuditDraft.MaxFieldLength - 1)] : text;
        var chars = cut.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var loneSurrogate = (char.IsHighSurrogate(c) && (i + 1 >= chars.Length || !char.IsLowSurrogate(chars[i + 1])))
                || (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(chars[i - 1])));
            if (char.IsControl(c) || loneSurrogate)
            {
                chars[i] = '\uFFFD';
            }
        }

        var clean = new string(chars);
        return text.Length > AuditDraft.MaxFieldLength ? clean + "…" : clean;
    }
}

/// <summary>
/// One sealed entry of the audit log. <see cref="Hash"/> = SHA-256(<see cref="PrevHash"/> ‖ canonical bytes of the
/// entry) (see <c>COMPLIANCE.md</c>); both lowercase hex, the first entry's previous hash 64 zeros.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] long Seq,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] AuditDraft Draft,
    [property: Id(3)] string PrevHash,
    [property: Id(4)] string Hash);

/// <summary>The last sealed entry: where the next one links on. Seq 0 with the zero hash is the empty log.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditHead")]
public sealed record AuditHead(
    [property: Id(0)] long Seq,
    [property: Id(1)] string Hash,
    [property: Id(2)] DateTimeOffset At)
{
    /// <summary>The previous hash of the first entry: 32 zero bytes.</summary>
    public static readonly string ZeroHash = new('0', 64);

    public static readonly AuditHead Empty = new(0, ZeroHash, DateTimeOffset.UnixEpoch);
}

/// <summary>Why a checkpoint was taken.</summary>
public enum AuditCheckpointKind
{
    /// <summary>Taken on the checkpoint interval.</summary>
    Periodic,

    /// <summary>Taken as the silo stopped.</summary>
    Shutdown,

    /// <summary>
    /// Taken before retention dropped the entries up to <see cref="AuditCheckpoint.Seq"/>: its hash is the first kept
    /// entry's previous hash, so the kept rest still verifies.
    /// </summary>
    Boundary,
}

/// <summary>
/// A signed statement that the log had entry <see cref="Seq"/> with hash <see cref="Hash"/> at <see cref="At"/>:
/// <see cref="Mac"/> = HMAC-SHA256(key, canonical checkpoint bytes), lowercase hex. The key lives outside the database.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditCheckpoint")]
public sealed record AuditCheckpoint(
    [property: Id(0)] long Seq,
    [property: Id(1)] string Hash,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] AuditCheckpointKind Kind,
    [property: Id(4)] string Mac);

/// <summary>What a query filters by (null: any); <see cref="Before"/> is the paging cursor (entries with a lower seq).</summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditQuery")]
public sealed record AuditQuery(
    [property: Id(0)] string? ActorKeyId,
    [property: Id(1)] string? Tenant,
    [property: Id(2)] string? Action,
    [property: Id(3)] string? Target,
    [property: Id(4)] DateTimeOffset? From,
    [property: Id(5)] DateTimeOffset? To,
    [property: Id(6)] long? Before,
    [property: Id(7)] int Limit);

/// <summary>A page of entries, newest first, with the cursor for the next (older) page; null at the end.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditPage")]
public sealed record AuditPage(
    [property: Id(0)] ImmutableArray<AuditEntry> Entries,
    [property: Id(1)] long? NextBefore);

/// <summary>What verification found first wrong.</summary>
public enum AuditProblem
{
    /// <summary>An entry's content or hash does not match its chain: it was changed after it was written.</summary>
    Altered,

    /// <summary>Entries are missing from the middle of the chain (deleted).</summary>
    Missing,

    /// <summary>Entries after the last one present were acknowledged (a checkpoint or the head names them): the tail was cut.</summary>
    TruncatedTail,

    /// <summary>A checkpoint's signature is wrong, or it names a hash the chain does not have at its seq.</summary>
    BadCheckpoint,
}

/// <summary>
/// The verdict of walking the chain from <see cref="From"/> to <see cref="To"/>: intact, or the first broken entry
/// (<see cref="BrokenSeq"/>), what is wrong with it and a sentence saying so.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.AuditVerdict")]
public sealed record AuditVerdict(
    [property: Id(0)] bool Intact,
    [property: Id(1)] long From,
    [property: Id(2)] long To,
    [property: Id(3)] long EntriesChecked,
    [property: Id(4)] int CheckpointsChecked,
    [property: Id(5)] long? BrokenSeq,
    [property: Id(6)] AuditProblem? Problem,
    [property: Id(7)] string? Detail);
