using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MeshOs.Abstractions.Audit;

/// <summary>
/// The canonical bytes of entries, checkpoints and change summaries, and the hashes over them. Stable: version 1 is
/// fixed by unit tests with known vectors and described in COMPLIANCE.md; a change needs a new version tag.
/// <para>
/// Every field is written as a 4-byte big-endian length followed by its UTF-8 bytes; a null field is the length
/// <c>0xFFFFFFFF</c> with no bytes. Numbers are decimal, times UTC <c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c> (microseconds,
/// PostgreSQL's precision), enums their lowercase names. The first field is the version tag.
/// </para>
/// </summary>
public static class AuditCanonical
{
    public const string EntryTag = "meshos.audit.entry.v1";
    public const string CheckpointTag = "meshos.audit.checkpoint.v1";
    public const string ChangeTag = "meshos.audit.change.v1";

    /// <summary>Entry fields in order: tag, seq, at, actor kind, actor key id, actor tenant, actor address, action, target, tenant, outcome, error code, request id, correlation id, transport, change digest.</summary>
    public static byte[] Entry(long seq, DateTimeOffset at, AuditDraft draft)
    {
        var w = new Writer();
        w.Field(EntryTag);
        w.Field(seq.ToString(CultureInfo.InvariantCulture));
        w.Field(Time(at));
        w.Field(draft.Actor.Kind);
        w.Field(draft.Actor.KeyId);
        w.Field(draft.Actor.TenantId);
        w.Field(draft.Actor.Address);
        w.Field(draft.Action);
        w.Field(draft.Target);
        w.Field(draft.Tenant);
        w.Field(Name(draft.Outcome));
        w.Field(draft.ErrorCode);
        w.Field(draft.RequestId);
        w.Field(draft.CorrelationId);
        w.Field(draft.Transport);
        w.Field(draft.ChangeDigest);
        return w.ToArray();
    }

    /// <summary>SHA-256(prev hash's 32 bytes ‖ canonical entry bytes), lowercase hex.</summary>
    public static string EntryHash(string prevHash, long seq, DateTimeOffset at, AuditDraft draft)
    {
        var prev = Convert.FromHexString(prevHash);
        if (prev.Length != 32)
        {
            throw new ArgumentException("A previous hash is 32 bytes (64 hex digits).", nameof(prevHash));
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(prev);
        sha.AppendData(Entry(seq, at, draft));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Checkpoint fields in order: tag, seq, hash (hex), at, kind.</summary>
    public static byte[] Checkpoint(long seq, string hash, DateTimeOffset at, AuditCheckpointKind kind)
    {
        var w = new Writer();
        w.Field(CheckpointTag);
        w.Field(seq.ToString(CultureInfo.InvariantCulture));
        w.Field(hash);
        w.Field(Time(at));
        w.Field(Name(kind));
        return w.ToArray();
    }

    /// <summary>HMAC-SHA256 of the checkpoint's canonical bytes under <paramref name="key"/>, lowercase hex.</summary>
    public static string CheckpointMac(ReadOnlySpan<byte> key, long seq, string hash, DateTimeOffset at, AuditCheckpointKind kind) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Checkpoint(seq, hash, at, kind)));

    /// <summary>Change fields: tag, then each (name, value) pair in ordinal order of the names.</summary>
    public static byte[] Change(IEnumerable<KeyValuePair<string, string?>> fields)
    {
        var w = new Writer();
        w.Field(ChangeTag);
        foreach (var (name, value) in fields.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            w.Field(name);
            w.Field(value);
        }

        return w.ToArray();
    }

    /// <summary>A time as the canonical form writes it (UTC, microseconds).</summary>
    public static string Time(DateTimeOffset at) =>
        Truncate(at).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A time cut to whole microseconds (what PostgreSQL keeps).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset at) =>
        new(at.UtcTicks - at.UtcTicks % 10, TimeSpan.Zero);

    public static string Name(AuditOutcome outcome) => outcome switch
    {
        AuditOutcome.Succeeded => "succeeded",
        AuditOutcome.Refused => "refused",
        AuditOutcome.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };

    public static string Name(AuditCheckpointKind kind) => kind switch
    {
        AuditCheckpointKind.Periodic => "periodic",
        AuditCheckpointKind.Shutdown => "shutdown",
        AuditCheckpointKind.Boundary => "boundary",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private sealed class Writer
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _bytes = new(256);

        /// <summary>Encodes in place (no array per field: an entry is encoded on every append, a summary on every mutation).</summary>
        public void Field(string? value)
        {
            if (value is null)
            {
                BinaryPrimitives.WriteUInt32BigEndian(_bytes.GetSpan(4), uint.MaxValue);
                _bytes.Advance(4);
                return;
            }

            var span = _bytes.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
            var length = Encoding.UTF8.GetBytes(value, span[4..]);
            BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
            _bytes.Advance(4 + length);
        }

        public byte[] ToArray() => _bytes.WrittenSpan.ToArray();
    }
}

/// <summary>
/// A summary of a change for its entry's digest: named values saying what was asked (a job's type and pool, a key's
/// name, a quota) — never a secret or a payload (a payload is summarised by its size and SHA-256).
/// </summary>
public sealed class AuditChange
{
    private readonly Dictionary<string, string?> _fields = new(StringComparer.Ordinal);
    private List<(string Name, string Content)>? _contents;

    public AuditChange Add(string name, string? value)
    {
        _fields[name] = value;
        return this;
    }

    public AuditChange Add(string name, long? value) => Add(name, value?.ToString(CultureInfo.InvariantCulture));

    public AuditChange Add(string name, double? value) => Add(name, value?.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>
    /// Adds a content's size and SHA-256 (not the content itself) as <c>{name}.bytes</c> and <c>{name}.sha256</c>; a
    /// null content is the one field <c>{name}</c>, null. Hashed only when <see cref="Fields"/> or <see cref="Digest"/>
    /// is read: with auditing off a payload is never hashed.
    /// </summary>
    public AuditChange AddContent(string name, string? content)
    {
        if (content is null)
        {
            return Add(name, (string?)null);
        }

        (_contents ??= []).Add((name, content));
        return this;
    }

    public IReadOnlyDictionary<string, string?> Fields
    {
        get
        {
            HashContents();
            return _fields;
        }
    }

    /// <summary>SHA-256 of the canonical change bytes, lowercase hex.</summary>
    public string Digest()
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(AuditCanonical.Change(Fields), hash);
        return Convert.ToHexStringLower(hash);
    }

    private void HashContents()
    {
        if (_contents is null)
        {
            return;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        foreach (var (name, content) in _contents)
        {
            // A payload may be megabytes: hashed through a pooled buffer, not a fresh array per call (the submit path).
            var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(content.Length));
            try
            {
                var length = Encoding.UTF8.GetBytes(content, buffer);
                SHA256.HashData(buffer.AsSpan(0, length), hash);
                Add(name + ".bytes", length).Add(name + ".sha256", Convert.ToHexStringLower(hash));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        _contents = null;
    }
}
