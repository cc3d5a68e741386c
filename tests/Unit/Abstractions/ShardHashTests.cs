using MeshOs.Abstractions;
using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Tests.Unit.Abstractions;

public sealed class ShardHashTests
{
    // Expected values computed once, independently of this code base, as 32-bit FNV-1a over the UTF-16LE bytes of a
    // string and over the 16 bytes of a Guid in its .NET (little-endian fields) layout. They must never change: shards
    // of live data depend on them.
    [Theory]
    [InlineData("", 2166136261u)]
    [InlineData("a", 723832900u)]
    [InlineData("agent-1", 1228343888u)]
    [InlineData("acme", 1457437023u)]
    [InlineData("worker-42.eu-west", 1430434198u)]
    [InlineData("é", 1509650188u)]
    [InlineData("日本", 2688664234u)]
    public void String_hashes_are_fixed(string value, uint expected) => Assert.Equal(expected, ShardHash.Of(value));

    [Theory]
    [InlineData("00000000-0000-0000-0000-000000000000", 1768495365u)]
    [InlineData("01234567-89ab-cdef-0123-456789abcdef", 4092109781u)]
    [InlineData("5f1c8e2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b", 2271789433u)]
    public void Guid_hashes_are_fixed(string value, uint expected) => Assert.Equal(expected, ShardHash.Of(Guid.Parse(value)));

    [Theory]
    [InlineData("", 16, 5)]
    [InlineData("a", 16, 4)]
    [InlineData("agent-1", 16, 0)]
    [InlineData("acme", 16, 15)]
    [InlineData("acme", 4, 3)]
    [InlineData("worker-42.eu-west", 16, 6)]
    [InlineData("日本", 7, 4)]
    public void String_buckets_are_fixed(string value, int buckets, int expected) =>
        Assert.Equal(expected, ShardHash.Bucket(value, buckets));

    [Theory]
    [InlineData("00000000-0000-0000-0000-000000000000", 4, 1)]
    [InlineData("01234567-89ab-cdef-0123-456789abcdef", 4, 1)]
    [InlineData("5f1c8e2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b", 4, 1)]
    [InlineData("5f1c8e2a-3b4d-4e6f-8a9b-0c1d2e3f4a5b", 16, 9)]
    [InlineData("00000000-0000-0000-0000-000000000000", 16, 5)]
    public void Guid_buckets_are_fixed(string value, int buckets, int expected)
    {
        Assert.Equal(expected, ShardHash.Bucket(Guid.Parse(value), buckets));
        Assert.Equal(expected, QueueKey.ShardOf(Guid.Parse(value), buckets));
    }

    [Fact]
    public void Buckets_use_the_hash_as_unsigned()
    {
        // 4092109781 is above int.MaxValue: a signed remainder would be negative.
        var id = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef");

        Assert.Equal((int)(4092109781u % 1000u), ShardHash.Bucket(id, 1000));
        Assert.InRange(ShardHash.Bucket(id, 1000), 0, 999);
    }

    [Fact]
    public void A_single_bucket_holds_everything()
    {
        Assert.Equal(0, ShardHash.Bucket("anything", 1));
        Assert.Equal(0, ShardHash.Bucket(Guid.NewGuid(), 1));
    }

    [Fact]
    public void Random_job_ids_spread_evenly_over_4_shards()
    {
        var random = new Random(20300101);
        var bytes = new byte[16];
        var counts = new int[4];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(bytes);
            counts[QueueKey.ShardOf(new Guid(bytes), 4)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 2_250, 2_750));
    }

    [Fact]
    public void Time_ordered_v7_job_ids_spread_evenly_over_4_shards()
    {
        // Submitted jobs get version-7 ids that share their timestamp prefix within a millisecond.
        var counts = new int[4];
        var at = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 10_000; i++)
        {
            counts[QueueKey.ShardOf(Guid.CreateVersion7(at.AddMilliseconds(i / 10)), 4)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 2_250, 2_750));
    }

    [Fact]
    public void Agent_ids_spread_over_16_directory_shards()
    {
        var counts = new int[16];
        for (var i = 0; i < 16_000; i++)
        {
            counts[ShardHash.Bucket($"agent-{i}", 16)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 800, 1_200));
    }
}
