using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Tests.Unit.Abstractions;

public sealed class QueueKeyTests
{
    [Theory]
    [InlineData("acme", "llm", 0, "acme|llm|0")]
    [InlineData("acme/gpu", "llm/gpt-4.1_mini", 3, "acme/gpu|llm/gpt-4.1_mini|3")]
    [InlineData("platform", "embed", 255, "platform|embed|255")]
    public void ToString_is_pool_capability_shard(string pool, string capability, int shard, string expected) =>
        Assert.Equal(expected, new QueueKey(pool, capability, shard).ToString());

    [Theory]
    [InlineData("acme", "llm", 0)]
    [InlineData("acme/gpu", "llm/gpt-4.1_mini", 3)]
    [InlineData("platform", "embed", 255)]
    [InlineData("a.b-c_d", "x", 17)]
    public void Parse_reverses_ToString(string pool, string capability, int shard)
    {
        var key = new QueueKey(pool, capability, shard);

        Assert.Equal(key, QueueKey.Parse(key.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("acme")]
    [InlineData("acme|llm")]
    [InlineData("acme|llm|0|extra")]
    [InlineData("acme|llm|x")]
    [InlineData("acme|llm|")]
    [InlineData("acme|llm|1.5")]
    [InlineData("acme|llm|99999999999")]
    public void Parse_rejects_what_is_not_a_queue_key(string key)
    {
        var ex = Assert.Throws<FormatException>(() => QueueKey.Parse(key));

        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShardOf_is_stable_and_within_range()
    {
        var random = new Random(7);
        var bytes = new byte[16];
        for (var i = 0; i < 1_000; i++)
        {
            random.NextBytes(bytes);
            var id = new Guid(bytes);
            var shard = QueueKey.ShardOf(id, 4);

            Assert.InRange(shard, 0, 3);
            Assert.Equal(shard, QueueKey.ShardOf(new Guid(id.ToString()), 4));
        }
    }
}
