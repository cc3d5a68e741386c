using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Routing;

namespace MeshOs.Tests.Unit.Routing;

public sealed class ConcurrencyLimitTests
{
    private static readonly ConcurrencySettings Adaptive = new(true, 1, 0.75, null);

    [Fact]
    public void A_failure_cuts_the_limit_by_the_factor_and_successes_win_it_back_one_slot_per_limits_worth()
    {
        var limit = new ConcurrencyLimit(16, Adaptive);
        Assert.Equal((16, false), (limit.Current, limit.Reduced));

        limit.Observe(false, TimeSpan.Zero);
        Assert.Equal((12, true), (limit.Current, limit.Reduced));

        for (var i = 0; i < 13; i++)
        {
            limit.Observe(true, TimeSpan.Zero);
        }

        Assert.Equal(13, limit.Current); // 12 + 1/12 + 1/12.08 + …: one slot back after 13 successes
    }

    [Fact]
    public void The_limit_never_leaves_its_bounds()
    {
        var limit = new ConcurrencyLimit(8, new ConcurrencySettings(true, 2, 0.5, null));
        for (var i = 0; i < 50; i++)
        {
            limit.Observe(false, TimeSpan.Zero);
        }

        Assert.Equal(2, limit.Current);
        for (var i = 0; i < 1_000; i++)
        {
            limit.Observe(true, TimeSpan.Zero);
        }

        Assert.Equal((8, false), (limit.Current, limit.Reduced));
    }

    [Fact]
    public void A_result_slower_than_the_target_counts_as_overload()
    {
        var limit = new ConcurrencyLimit(10, Adaptive with { LatencyTarget = TimeSpan.FromMilliseconds(500) });

        limit.Observe(true, TimeSpan.FromMilliseconds(499));
        Assert.Equal(10, limit.Current);
        limit.Observe(true, TimeSpan.FromMilliseconds(501));
        Assert.Equal(7, limit.Current);
    }

    [Fact]
    public void A_fifth_of_jobs_failing_settles_the_limit_near_four()
    {
        var limit = new ConcurrencyLimit(16, Adaptive);
        var random = new Random(11);
        var sum = 0.0;
        for (var i = 0; i < 20_000; i++)
        {
            limit.Observe(random.NextDouble() >= 0.2, TimeSpan.Zero);
            if (i >= 10_000)
            {
                sum += limit.Current;
            }
        }

        Assert.InRange(sum / 10_000, 2.5, 5.5);
    }

    [Fact]
    public void Fixed_concurrency_ignores_every_result()
    {
        var limit = new ConcurrencyLimit(6, ConcurrencySettings.Fixed);
        limit.Observe(false, TimeSpan.FromHours(1));

        Assert.Equal((6, false), (limit.Current, limit.Reduced));
    }

    [Theory]
    [InlineData(AgentState.Healthy, 16, 10)] // full limit: every credit
    [InlineData(AgentState.Degraded, 16, 4)] // a quarter of 16
    [InlineData(AgentState.Healthy, 3, 3)] // limit came down to 3: at most 3 outstanding
    [InlineData(AgentState.Degraded, 3, 3)] // lower of the two
    public void Usable_credits_follow_the_adaptive_limit_and_the_degraded_quarter(AgentState state, int limitNow, int usable)
    {
        var session = new Session(new AgentRegistration("a", "platform", "platform", ["llm"], 16, "1.0", "local", 0m), state) { Credits = 10 };
        session.Limit = new ConcurrencyLimit(16, Adaptive);
        while (session.Limit.Current > limitNow)
        {
            session.Limit.Observe(false, TimeSpan.Zero);
        }

        Assert.Equal(usable, session.UsableCredits);
    }

    private sealed class Session(AgentRegistration registration, AgentState state) : AgentSession(registration, state)
    {
        public override int Outstanding => 0;

        public override bool TryDeliver(LeaseGrant grant) => true;
    }
}
