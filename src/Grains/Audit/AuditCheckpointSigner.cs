using MeshOs.Abstractions.Audit;

namespace MeshOs.Grains.Audit;

/// <summary>Signs and checks checkpoints with the key kept outside the database (HMAC-SHA256).</summary>
public sealed class AuditCheckpointSigner(byte[] key)
{
    /// <summary>The shortest key accepted: 32 bytes.</summary>
    public const int MinKeyBytes = 32;

    private readonly byte[] _key = key.Length >= MinKeyBytes ? key : throw new ArgumentException($"A checkpoint key has at least {MinKeyBytes} bytes.", nameof(key));

    public AuditCheckpoint Sign(long seq, string hash, DateTimeOffset at, AuditCheckpointKind kind)
    {
        at = AuditCanonical.Truncate(at);
        return new AuditCheckpoint(seq, hash, at, kind, AuditCanonical.CheckpointMac(_key, seq, hash, at, kind));
    }

    public bool IsValid(AuditCheckpoint checkpoint) =>
        string.Equals(checkpoint.Mac, AuditCanonical.CheckpointMac(_key, checkpoint.Seq, checkpoint.Hash, checkpoint.At, checkpoint.Kind), StringComparison.Ordinal);
}
