using System.Buffers.Binary;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>The opaque page cursor of job listings: the (created-at, job id) of the last job of a page.</summary>
public readonly record struct JobCursor(DateTimeOffset CreatedAt, Guid JobId)
{
    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, CreatedAt.UtcTicks);
        JobId.TryWriteBytes(bytes[8..], bigEndian: true, out _);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Decodes a cursor; InvalidArgument when it is not one this service produced.</summary>
    public static JobCursor Decode(string cursor)
    {
        var base64 = cursor.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        Span<byte> bytes = stackalloc byte[32];
        if (cursor.Length > 40 || !Convert.TryFromBase64String(base64, bytes, out var written) || written != 24)
        {
            throw MeshException.Invalid("cursor", JobQuery.CursorNotValid);
        }

        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            throw MeshException.Invalid("cursor", JobQuery.CursorNotValid);
        }

        return new JobCursor(new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(bytes[8..24], bigEndian: true));
    }

    /// <summary>True when a job sorts after this cursor in newest-first order.</summary>
    public bool Precedes(DateTimeOffset createdAt, Guid jobId) =>
        createdAt < CreatedAt || (createdAt == CreatedAt && jobId.CompareTo(JobId) < 0);
}
