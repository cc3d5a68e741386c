using System.Buffers.Binary;
using MeshOs.Abstractions;
using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Tests.Unit.Kernel.Jobs;

public sealed class JobCursorTests
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2030, 1, 1, 12, 30, 45, TimeSpan.Zero).AddTicks(1234567);
    private static readonly Guid Id = Guid.Parse("0193c5e2-7a3b-7cde-8f01-23456789abcd");

    public static TheoryData<DateTimeOffset, Guid> RoundTrips => new()
    {
        { T0, Id },
        { DateTimeOffset.MinValue, Guid.Empty },
        { DateTimeOffset.MaxValue, Guid.AllBitsSet },
        { DateTimeOffset.UnixEpoch, Guid.Parse("ffffffff-0000-0000-0000-000000000001") },
        { new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_999), Guid.Parse("00000000-0000-0000-0000-0000000000ff") },
    };

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void A_cursor_decodes_to_what_was_encoded(DateTimeOffset createdAt, Guid jobId)
    {
        var cursor = new JobCursor(createdAt, jobId);

        var decoded = JobCursor.Decode(cursor.Encode());

        Assert.Equal(cursor, decoded);
        Assert.Equal(createdAt.UtcTicks, decoded.CreatedAt.UtcTicks);
        Assert.Equal(jobId, decoded.JobId);
    }

    [Fact]
    public void A_cursor_keeps_the_instant_and_comes_back_in_utc()
    {
        var local = new DateTimeOffset(2030, 6, 1, 9, 0, 0, TimeSpan.FromHours(5));

        var decoded = JobCursor.Decode(new JobCursor(local, Id).Encode());

        Assert.Equal(local.UtcTicks, decoded.CreatedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, decoded.CreatedAt.Offset);
    }

    [Fact]
    public void An_encoded_cursor_is_32_url_safe_characters()
    {
        foreach (var (createdAt, id) in new[] { (T0, Id), (DateTimeOffset.MaxValue, Guid.AllBitsSet), (DateTimeOffset.MinValue, Guid.Empty) })
        {
            var encoded = new JobCursor(createdAt, id).Encode();

            Assert.Equal(32, encoded.Length);
            Assert.All(encoded, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_', $"'{c}' in {encoded}"));
        }
    }

    [Fact]
    public void Encoding_is_deterministic_and_distinguishes_cursors()
    {
        var a = new JobCursor(T0, Id).Encode();

        Assert.Equal(a, new JobCursor(T0, Id).Encode());
        Assert.NotEqual(a, new JobCursor(T0.AddTicks(1), Id).Encode());
        Assert.NotEqual(a, new JobCursor(T0, Guid.Parse("0193c5e2-7a3b-7cde-8f01-23456789abce")).Encode());
    }

    [Fact]
    public void The_encoding_is_big_endian_ticks_then_the_big_endian_uuid()
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, T0.UtcTicks);
        Id.TryWriteBytes(bytes.AsSpan(8), bigEndian: true, out _);
        var expected = Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');

        Assert.Equal(expected, new JobCursor(T0, Id).Encode());
    }

    [Theory]
    [InlineData("")]
    [InlineData("!")]
    [InlineData("not a cursor")]
    [InlineData("abc")]
    [InlineData("AAAA")]
    [InlineData("________________________________")] // decodes to 24 bytes of 0xFF: ticks of -1
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 31 characters: 23 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 34 characters: 25 bytes
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 44 characters: 33 bytes, over the buffer
    public void Garbage_is_rejected_as_invalid_argument(string cursor)
    {
        var ex = MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobCursor.Decode(cursor));
        Assert.Contains("cursor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cursor_longer_than_40_characters_is_rejected_even_when_it_would_decode()
    {
        var valid = new JobCursor(T0, Id).Encode();

        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobCursor.Decode(valid + new string('=', 9)));
        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobCursor.Decode(new string('A', 100_000)));
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData(3155378976000000000L)] // DateTimeOffset.MaxValue.UtcTicks + 1
    [InlineData(long.MaxValue)]
    public void Ticks_outside_the_range_of_DateTimeOffset_are_rejected(long ticks)
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, ticks);
        var cursor = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        MeshAssert.Throws(MeshErrorCode.InvalidArgument, () => JobCursor.Decode(cursor));
    }

    [Fact]
    public void Precedes_is_true_for_older_jobs_in_newest_first_order()
    {
        var cursor = new JobCursor(T0, Id);

        Assert.True(cursor.Precedes(T0 - TimeSpan.FromTicks(1), Guid.AllBitsSet));
        Assert.True(cursor.Precedes(T0 - TimeSpan.FromDays(1), Id));
        Assert.False(cursor.Precedes(T0 + TimeSpan.FromTicks(1), Guid.Empty));
        Assert.False(cursor.Precedes(T0 + TimeSpan.FromDays(1), Id));
    }

    [Fact]
    public void Precedes_breaks_ties_on_creation_time_by_descending_job_id()
    {
        var cursor = new JobCursor(T0, Id);

        Assert.True(cursor.Precedes(T0, Guid.Parse("0193c5e2-7a3b-7cde-8f01-23456789abcc")));
        Assert.True(cursor.Precedes(T0, Guid.Parse("0093c5e2-7a3b-7cde-8f01-23456789abcd")));
        Assert.True(cursor.Precedes(T0, Guid.Empty));
        Assert.False(cursor.Precedes(T0, Id));
        Assert.False(cursor.Precedes(T0, Guid.Parse("0193c5e2-7a3b-7cde-8f01-23456789abce")));
        Assert.False(cursor.Precedes(T0, Guid.Parse("f193c5e2-7a3b-7cde-8f01-23456789abcd")));
        Assert.False(cursor.Precedes(T0, Guid.AllBitsSet));
    }

    [Fact]
    public void Precedes_compares_instants_whatever_the_offset()
    {
        var cursor = new JobCursor(T0, Id);
        var sameInstantElsewhere = T0.ToOffset(TimeSpan.FromHours(-7));

        Assert.False(cursor.Precedes(sameInstantElsewhere, Id));
        Assert.True(cursor.Precedes(sameInstantElsewhere, Guid.Empty));
    }

    [Fact]
    public void Paging_with_Precedes_visits_every_job_once_in_newest_first_order()
    {
        var random = new Random(42);
        var jobs = Enumerable.Range(0, 200)
            .Select(i => (CreatedAt: T0 + TimeSpan.FromSeconds(random.Next(0, 20)), JobId: NewId(random)))
            .ToList();
        var expected = jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.JobId).ToList();

        var seen = new List<(DateTimeOffset CreatedAt, Guid JobId)>();
        JobCursor? cursor = null;
        while (true)
        {
            var page = expected
                .Where(j => cursor is not { } c || c.Precedes(j.CreatedAt, j.JobId))
                .Take(7)
                .ToList();
            if (page.Count == 0)
            {
                break;
            }

            seen.AddRange(page);
            cursor = JobCursor.Decode(new JobCursor(page[^1].CreatedAt, page[^1].JobId).Encode());
        }

        Assert.Equal(expected, seen);
    }

    private static Guid NewId(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }
}
