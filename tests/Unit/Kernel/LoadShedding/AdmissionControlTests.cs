using MeshOs.Abstractions.Dispatch;
using MeshOs.Grains.Kernel.LoadShedding;

namespace MeshOs.Tests.Unit.Kernel.LoadShedding;

public sealed class AdmissionControlTests
{
    private static readonly AdmissionOptions Options = new(); // target 200 ms, interval 500 ms
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly AdmissionControl _control = new(Options);
    private DateTimeOffset _now = T0;

    private void Take(params double[] delaysMs) => _control.OnTaken(_now, delaysMs.Select(TimeSpan.FromMilliseconds));

    private void Advance(double ms) => _now += TimeSpan.FromMilliseconds(ms);

    /// <summary>Every job taken over a whole interval waited longer than the target: a standing queue.</summary>
    private void StandingQueue(double delayMs = 400)
    {
        _control.ShouldRefuse(_now, 100);
        for (var i = 0; i < 10; i++)
        {
            Take(delayMs, delayMs + 50);
            Advance(Options.Interval.TotalMilliseconds / 10);
        }
    }

    [Fact]
    public void A_queue_whose_jobs_waited_longer_than_the_target_for_a_whole_interval_refuses()
    {
        StandingQueue();

        Assert.True(_control.ShouldRefuse(_now, readyBacklog: 100));
        Assert.True(_control.Overloaded);
    }

    [Fact]
    public void Until_the_interval_ends_nothing_is_refused()
    {
        _control.ShouldRefuse(_now, 100);
        Take(900);
        Advance(Options.Interval.TotalMilliseconds - 1);

        Assert.False(_control.ShouldRefuse(_now, 100));
    }

    [Fact]
    public void One_short_wait_in_the_interval_means_the_queue_drained_and_it_admits()
    {
        _control.ShouldRefuse(_now, 100);
        Take(900, 800);
        Advance(200);
        Take(Options.ShardQueueDelay.TotalMilliseconds); // exactly the target is not over it
        Advance(300);

        Assert.False(_control.ShouldRefuse(_now, 100));
    }

    [Fact]
    public void Shedding_stops_after_an_interval_whose_jobs_waited_less()
    {
        StandingQueue();
        Assert.True(_control.ShouldRefuse(_now, 100));

        Take(50);
        Advance(Options.Interval.TotalMilliseconds);

        Assert.False(_control.ShouldRefuse(_now, 100));
    }

    [Fact]
    public void An_empty_queue_admits_even_while_overloaded()
    {
        StandingQueue();

        Assert.False(_control.ShouldRefuse(_now, readyBacklog: 0));
    }

    [Fact]
    public void A_queue_nobody_takes_from_is_never_judged_overloaded()
    {
        for (var i = 0; i < 20; i++)
        {
            Assert.False(_control.ShouldRefuse(_now, readyBacklog: 10_000));
            Advance(Options.Interval.TotalMilliseconds);
        }
    }

    [Fact]
    public void An_overloaded_queue_whose_dispatchers_stop_taking_admits_again_after_a_few_intervals()
    {
        StandingQueue();
        Assert.True(_control.ShouldRefuse(_now, 100));

        Advance(Options.Interval.TotalMilliseconds * (AdmissionControl.IdleIntervalsToReset - 1));
        Assert.True(_control.ShouldRefuse(_now, 100)); // no measurement yet says it drained
        Advance(Options.Interval.TotalMilliseconds);
        Assert.False(_control.ShouldRefuse(_now, 100));
    }

    [Fact]
    public void Disabled_it_never_refuses()
    {
        var control = new AdmissionControl(new AdmissionOptions { Enabled = false });
        control.ShouldRefuse(T0, 100);
        control.OnTaken(T0, [TimeSpan.FromSeconds(10)]);

        Assert.False(control.ShouldRefuse(T0 + TimeSpan.FromSeconds(5), 100));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Zero_or_negative_durations_are_refused_at_start(int ms)
    {
        var options = new AdmissionOptions { ShardQueueDelay = TimeSpan.FromMilliseconds(ms), Interval = TimeSpan.FromMilliseconds(ms), RetryAfter = TimeSpan.FromMilliseconds(ms) };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.False(System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true));
        Assert.Equal(["Interval", "RetryAfter", "ShardQueueDelay"], results.SelectMany(r => r.MemberNames).Order());
    }

    /// <summary>
    /// During a store outage the dispatchers take jobs, fail to write their leases and hand them back, again and again:
    /// each re-take saw the job's whole wait since it was first queued, and the shard refused submits as overloaded
    /// although nothing arrived faster than it was dispatched.
    /// </summary>
    [Fact]
    public void Jobs_handed_back_and_taken_again_are_not_measured_so_an_outage_does_not_look_like_overload()
    {
        var jobs = Enumerable.Range(0, 5).Select(i => new TakenJob(Guid.NewGuid(), "t", 5, T0)).ToList();
        _control.ShouldRefuse(_now, 5);
        for (var i = 0; i < 30; i++)
        {
            Advance(Options.Interval.TotalMilliseconds / 5);
            _control.OnTaken(_now, jobs);
            jobs = [.. jobs.Select(j => j with { HandedBack = true })]; // handed back: the index marks them so
        }

        Assert.False(_control.ShouldRefuse(_now, readyBacklog: 5));
        Assert.False(_control.Overloaded);
    }

    [Fact]
    public void A_job_taken_for_the_first_time_is_measured_by_its_wait_since_it_was_queued()
    {
        _control.ShouldRefuse(_now, 100);
        for (var i = 0; i < 10; i++)
        {
            Advance(Options.Interval.TotalMilliseconds / 10);
            _control.OnTaken(_now, [new TakenJob(Guid.NewGuid(), "t", 5, _now - TimeSpan.FromMilliseconds(400))]);
        }

        Assert.True(_control.ShouldRefuse(_now + TimeSpan.FromMilliseconds(1), readyBacklog: 100));
    }
}
