using MeshOs.Gateway.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Jobs;

public sealed class QueueDelayControllerTests
{
    private static readonly TimeSpan Target = TimeSpan.FromMilliseconds(200);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly QueueDelayController _controller = new(Target);

    private DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>One update interval in which the dispatcher took jobs that had each waited <paramref name="wait"/>.</summary>
    private void IntervalWithWaits(TimeSpan wait, int jobs = 5)
    {
        _controller.Observe(Now, Enumerable.Repeat(Now - wait, jobs));
        _time.Advance(QueueDelayController.UpdateInterval);
        _controller.ShouldRefuse(Now, 1); // closes the interval
    }

    [Fact]
    public void Waits_under_the_target_refuse_nothing()
    {
        for (var i = 0; i < 20; i++)
        {
            IntervalWithWaits(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(0, _controller.Probability);
        Assert.False(_controller.ShouldRefuse(Now, 0));
    }

    [Fact]
    public void Waits_over_the_target_refuse_a_growing_share_up_to_the_cap()
    {
        _controller.ShouldRefuse(Now, 1); // starts the clock
        var seen = new List<double>();
        for (var i = 0; i < 40; i++)
        {
            IntervalWithWaits(TimeSpan.FromSeconds(1));
            seen.Add(_controller.Probability);
        }

        Assert.True(seen[0] > 0);
        Assert.Equal(seen.Order(), seen); // never falls while the wait stays over the target
        Assert.Equal(QueueDelayController.MaxProbability, seen[^1]);
        Assert.True(_controller.ShouldRefuse(Now, QueueDelayController.MaxProbability - 0.01));
        Assert.False(_controller.ShouldRefuse(Now, QueueDelayController.MaxProbability));
    }

    [Fact]
    public void The_share_falls_once_waits_are_under_the_target_again()
    {
        _controller.ShouldRefuse(Now, 1);
        for (var i = 0; i < 10; i++)
        {
            IntervalWithWaits(TimeSpan.FromSeconds(1));
        }

        var high = _controller.Probability;
        IntervalWithWaits(TimeSpan.FromMilliseconds(20));
        var after = _controller.Probability;

        Assert.True(after < high, $"{after} < {high}");
        for (var i = 0; i < 20; i++)
        {
            IntervalWithWaits(TimeSpan.FromMilliseconds(20));
        }

        Assert.Equal(0, _controller.Probability);
    }

    [Fact]
    public void Without_takes_the_share_fades_to_nothing()
    {
        _controller.ShouldRefuse(Now, 1);
        for (var i = 0; i < 10; i++)
        {
            IntervalWithWaits(TimeSpan.FromSeconds(1));
        }

        Assert.True(_controller.Probability > 0.5);
        _time.Advance(TimeSpan.FromSeconds(5)); // 50 intervals with no take: no agent here, or nothing queued
        Assert.False(_controller.ShouldRefuse(Now, 0));
        Assert.Equal(0, _controller.Probability);
    }

    [Fact]
    public void One_slow_job_among_many_does_not_move_the_share()
    {
        _controller.ShouldRefuse(Now, 1);
        for (var i = 0; i < 10; i++)
        {
            _controller.Observe(Now, [Now - TimeSpan.FromSeconds(30), .. Enumerable.Repeat(Now - TimeSpan.FromMilliseconds(10), 9)]);
            _time.Advance(QueueDelayController.UpdateInterval);
            _controller.ShouldRefuse(Now, 1);
        }

        Assert.Equal(0, _controller.Probability); // a job handed back and taken again waited long, the queue did not
    }
}
