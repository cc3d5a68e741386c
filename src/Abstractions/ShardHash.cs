namespace MeshOs.Abstractions;

/// <summary>
/// A hash that is the same in every process and version (string.GetHashCode is randomized per process), for
/// placing agents and jobs on shards.
/// </summary>
public static class ShardHash
{
    /// <summary>32-bit FNV-1a of the string's UTF-16 code units.</summary>
    public static uint Of(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ (byte)c) * 16777619u;
            hash = (hash ^ (byte)(c >> 8)) * 16777619u;
        }

        return hash;
    }

    /// <summary>32-bit FNV-1a of the id's 16 bytes.</summary>
    public static uint Of(Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes);
        var hash = 2166136261u;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    /// <summary>The bucket of <paramref name="value"/> among <paramref name="buckets"/>.</summary>
    public static int Bucket(string value, int buckets) => (int)(Of(value) % (uint)buckets);

    public static int Bucket(Guid value, int buckets) => (int)(Of(value) % (uint)buckets);
}
