using MeshOs.AgentSdk;

namespace MeshOs.Tests.AgentSdk;

public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    [Fact]
    public void Delays_double_up_to_the_maximum_at_the_top_of_the_jitter_range()
    {
        var backoff = new ReconnectBackoff(Min, Max, () => 1.0);
        var delays = Enumerable.Range(0, 9).Select(_ => backoff.Next().TotalMilliseconds).ToArray();
        Assert.Equal([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000], delays);
    }

    [Fact]
    public void Jitter_draws_from_half_to_the_full_delay()
    {
        var backoff = new ReconnectBackoff(Min, Max, () => 0.0);
        Assert.Equal([250, 500, 1_000], Enumerable.Range(0, 3).Select(_ => backoff.Next().TotalMilliseconds));
    }

    [Fact]
    public void Reset_starts_again_from_the_minimum()
    {
        var backoff = new ReconnectBackoff(Min, Max, () => 1.0);
        backoff.Next();
        backoff.Next();
        backoff.Reset();
        Assert.Equal(500, backoff.Next().TotalMilliseconds);
    }
}
