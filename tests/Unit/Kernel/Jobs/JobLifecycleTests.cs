using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Kernel.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Kernel.Jobs;

public sealed class JobLifecycleTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RetryPolicy ThreeAttempts = new(3, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 2.0);

    private readonly FakeTimeProvider _clock = new(T0);

    private DateTimeOffset Now => _clock.GetUtcNow();

    // ---- IsRecordedResult: a repeat of the result a job ended with, or a late report ----

    public static TheoryData<JobStatus, string?, string?, bool, string?, string?, bool> ReportsAfterTheEnd() => new()
    {
        // ended as, its result, its error | the report: succeeded, result, error | is it the recorded one?
        { JobStatus.Succeeded, """{"a":1}""", null, true, """{"a":1}""", null, true },
        { JobStatus.Succeeded, """{"a":1}""", null, true, """{"a":2}""", null, false },
        { JobStatus.Succeeded, """{"a":1}""", null, false, null, "boom", false },
        { JobStatus.Failed, null, "boom", false, null, "boom", true },
        { JobStatus.Failed, null, "failed", false, null, null, true },
        { JobStatus.Failed, null, "boom", false, null, "other", false },
        { JobStatus.Failed, null, "boom", true, """{"a":1}""", null, false },
        { JobStatus.DeadLettered, null, "boom", false, null, "boom", true },
        { JobStatus.DeadLettered, null, "lease expired: the agent stopped renewing it", true, """{"late":1}""", null, false },
        { JobStatus.TimedOut, null, "timed out after 00:00:01", true, """{"late":1}""", null, false },
        { JobStatus.TimedOut, null, "timed out after 00:00:01", false, null, "gave up", false },
        { JobStatus.Cancelled, null, "cancelled by the tenant", true, """{"late":1}""", null, false },
        { JobStatus.Cancelled, null, "cancelled by the tenant", false, null, "cancelled by the tenant", false },
    };

    [Theory]
    [MemberData(nameof(ReportsAfterTheEnd))]
    public void Only_the_result_a_job_ended_with_is_a_repeat_any_other_report_after_its_end_is_late(
        JobStatus status, string? resultJson, string? error, bool succeeded, string? reportedResult, string? reportedError, bool repeat)
    {
        var ended = Job(ThreeAttempts, attempts: 1) with { Status = status, ResultJson = resultJson, Error = error, CompletedAt = T0 };
        var report = new JobResult(succeeded, reportedResult, reportedError, false, JobUsage.None);

        Assert.Equal(repeat, JobLifecycle.IsRecordedResult(ended, report));
    }

    // ---- AfterUnsuccessfulAttempt ----

    [Theory]
    [InlineData(AttemptOutcome.Failed, 1)]
    [InlineData(AttemptOutcome.Failed, 3)]
    [InlineData(AttemptOutcome.TimedOut, 1)]
    [InlineData(AttemptOutcome.LeaseLost, 2)]
    public void A_non_retryable_failure_is_Failed_at_once_even_with_attempts_left(string outcome, int attempts)
    {
        var decision = JobLifecycle.AfterUnsuccessfulAttempt(Job(ThreeAttempts, attempts), outcome, retryable: false, Now, jitter: 0.5);

        Assert.Equal(new RetryDecision(JobStatus.Failed, Now), decision);
    }

    [Theory]
    [InlineData(AttemptOutcome.Failed)]
    [InlineData(AttemptOutcome.TimedOut)]
    [InlineData(AttemptOutcome.LeaseLost)]
    public void While_attempts_remain_the_job_goes_back_to_Pending_after_the_backoff(string outcome)
    {
        _clock.Advance(TimeSpan.FromMinutes(7));

        var first = JobLifecycle.AfterUnsuccessfulAttempt(Job(ThreeAttempts, attempts: 1), outcome, retryable: true, Now, jitter: 0);
        var second = JobLifecycle.AfterUnsuccessfulAttempt(Job(ThreeAttempts, attempts: 2), outcome, retryable: true, Now, jitter: 0);

        // jitter 0 → half of initial × 2^(attempts − 1)
        Assert.Equal(new RetryDecision(JobStatus.Pending, Now + TimeSpan.FromMilliseconds(500)), first);
        Assert.Equal(new RetryDecision(JobStatus.Pending, Now + TimeSpan.FromSeconds(1)), second);
    }

    [Fact]
    public void The_retry_time_is_now_plus_exactly_the_backoff()
    {
        var retry = new RetryPolicy(5, TimeSpan.FromSeconds(4), TimeSpan.FromMinutes(1), 3.0);
        var job = Job(retry, attempts: 3);

        var decision = JobLifecycle.AfterUnsuccessfulAttempt(job, AttemptOutcome.Failed, retryable: true, Now, jitter: 0.5);

        Assert.Equal(JobStatus.Pending, decision.Status);
        Assert.Equal(Now + JobLifecycle.Backoff(retry, 3, 0.5), decision.AvailableAt);
        Assert.Equal(Now + TimeSpan.FromSeconds(27), decision.AvailableAt); // 4 s × 3² = 36 s, × 0.75
    }

    [Theory]
    [InlineData(AttemptOutcome.Failed, 3)]
    [InlineData(AttemptOutcome.TimedOut, 3)]
    [InlineData(AttemptOutcome.LeaseLost, 3)]
    [InlineData(AttemptOutcome.Failed, 4)]
    public void When_attempts_are_spent_a_job_that_allowed_retries_is_DeadLettered(string outcome, int attempts)
    {
        var decision = JobLifecycle.AfterUnsuccessfulAttempt(Job(ThreeAttempts, attempts), outcome, retryable: true, Now, jitter: 0.5);

        Assert.Equal(new RetryDecision(JobStatus.DeadLettered, Now), decision);
    }

    [Fact]
    public void A_two_attempt_job_is_DeadLettered_after_its_second_failure()
    {
        var retry = ThreeAttempts with { MaxAttempts = 2 };

        Assert.Equal(JobStatus.Pending, JobLifecycle.AfterUnsuccessfulAttempt(Job(retry, 1), AttemptOutcome.Failed, true, Now, 0).Status);
        Assert.Equal(JobStatus.DeadLettered, JobLifecycle.AfterUnsuccessfulAttempt(Job(retry, 2), AttemptOutcome.Failed, true, Now, 0).Status);
    }

    [Theory]
    [InlineData(AttemptOutcome.Failed, JobStatus.Failed)]
    [InlineData(AttemptOutcome.TimedOut, JobStatus.TimedOut)]
    [InlineData(AttemptOutcome.LeaseLost, JobStatus.Failed)]
    [InlineData(AttemptOutcome.Released, JobStatus.Failed)]
    public void A_single_attempt_job_ends_Failed_or_TimedOut_by_outcome(string outcome, JobStatus expected)
    {
        var retry = ThreeAttempts with { MaxAttempts = 1 };

        var decision = JobLifecycle.AfterUnsuccessfulAttempt(Job(retry, attempts: 1), outcome, retryable: true, Now, jitter: 0.5);

        Assert.Equal(new RetryDecision(expected, Now), decision);
    }

    // ---- Backoff ----

    [Fact]
    public void Backoff_grows_exponentially_from_the_initial_wait()
    {
        var retry = new RetryPolicy(20, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), 2.0);

        // Full jitter (1) gives the raw value: initial × multiplier^(attempts − 1).
        Assert.Equal(TimeSpan.FromSeconds(1), JobLifecycle.Backoff(retry, 0, 1));
        Assert.Equal(TimeSpan.FromSeconds(1), JobLifecycle.Backoff(retry, 1, 1));
        Assert.Equal(TimeSpan.FromSeconds(2), JobLifecycle.Backoff(retry, 2, 1));
        Assert.Equal(TimeSpan.FromSeconds(4), JobLifecycle.Backoff(retry, 3, 1));
        Assert.Equal(TimeSpan.FromSeconds(8), JobLifecycle.Backoff(retry, 4, 1));
        Assert.Equal(TimeSpan.FromSeconds(1024), JobLifecycle.Backoff(retry, 11, 1));
    }

    [Fact]
    public void Backoff_uses_the_configured_multiplier()
    {
        var retry = new RetryPolicy(20, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), 3.0);

        Assert.Equal(TimeSpan.FromMilliseconds(100), JobLifecycle.Backoff(retry, 1, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(300), JobLifecycle.Backoff(retry, 2, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(900), JobLifecycle.Backoff(retry, 3, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(2700), JobLifecycle.Backoff(retry, 4, 1));
    }

    [Fact]
    public void Backoff_is_capped_at_the_maximum()
    {
        var retry = new RetryPolicy(20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), 2.0);

        Assert.Equal(TimeSpan.FromSeconds(4), JobLifecycle.Backoff(retry, 3, 1));
        Assert.Equal(TimeSpan.FromSeconds(5), JobLifecycle.Backoff(retry, 4, 1));
        Assert.Equal(TimeSpan.FromSeconds(5), JobLifecycle.Backoff(retry, 10, 1));
        // The cap applies before jitter: the wait is then between half and all of the cap.
        Assert.Equal(TimeSpan.FromSeconds(2.5), JobLifecycle.Backoff(retry, 10, 0));
    }

    [Fact]
    public void Backoff_does_not_overflow_after_very_many_attempts()
    {
        var retry = new RetryPolicy(int.MaxValue, TimeSpan.FromHours(1), TimeSpan.FromDays(1), 10.0);

        Assert.Equal(TimeSpan.FromDays(1), JobLifecycle.Backoff(retry, 10_000, 1));
        Assert.Equal(TimeSpan.FromDays(1), JobLifecycle.Backoff(retry, int.MaxValue, 1));
        Assert.Equal(TimeSpan.FromHours(12), JobLifecycle.Backoff(retry, int.MaxValue, 0));
    }

    [Theory]
    [InlineData(0.0, 2000)]
    [InlineData(0.25, 2500)]
    [InlineData(0.5, 3000)]
    [InlineData(0.75, 3500)]
    public void Jitter_spreads_the_wait_between_half_and_all_of_it(double jitter, int expectedMs)
    {
        var retry = new RetryPolicy(5, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 2.0);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), JobLifecycle.Backoff(retry, 3, jitter));
    }

    [Theory]
    [InlineData(-1.0, 2000)]
    [InlineData(2.0, 4000)]
    [InlineData(double.NegativeInfinity, 2000)]
    [InlineData(double.PositiveInfinity, 4000)]
    public void Jitter_outside_0_to_1_is_clamped(double jitter, int expectedMs)
    {
        var retry = new RetryPolicy(5, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 2.0);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), JobLifecycle.Backoff(retry, 3, jitter));
    }

    [Fact]
    public void Jitter_stays_within_half_and_full_for_every_attempt_and_draw()
    {
        var retry = new RetryPolicy(30, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(2), 1.7);
        var random = new Random(1234);
        for (var attempts = 0; attempts <= 30; attempts++)
        {
            var full = JobLifecycle.Backoff(retry, attempts, 1);
            var half = JobLifecycle.Backoff(retry, attempts, 0);
            Assert.Equal(full.TotalMilliseconds / 2, half.TotalMilliseconds, tolerance: 0.001);
            Assert.True(full <= retry.MaxBackoff);
            for (var draw = 0; draw < 50; draw++)
            {
                var wait = JobLifecycle.Backoff(retry, attempts, random.NextDouble());
                Assert.InRange(wait, half, full);
            }
        }
    }

    [Fact]
    public void Multiplier_1_keeps_the_backoff_constant()
    {
        var retry = new RetryPolicy(10, TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(5), 1.0);

        for (var attempts = 0; attempts <= 10; attempts++)
        {
            Assert.Equal(TimeSpan.FromSeconds(3), JobLifecycle.Backoff(retry, attempts, 1));
            Assert.Equal(TimeSpan.FromSeconds(1.5), JobLifecycle.Backoff(retry, attempts, 0));
        }
    }

    [Fact]
    public void A_zero_initial_backoff_retries_at_once()
    {
        var retry = new RetryPolicy(3, TimeSpan.Zero, TimeSpan.Zero, 2.0);

        Assert.Equal(TimeSpan.Zero, JobLifecycle.Backoff(retry, 2, 0.7));
        Assert.Equal(new RetryDecision(JobStatus.Pending, Now),
            JobLifecycle.AfterUnsuccessfulAttempt(Job(retry, 1), AttemptOutcome.Failed, retryable: true, Now, jitter: 0.7));
    }

    [Fact]
    public void The_default_policy_waits_1_then_2_seconds_at_full_jitter()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), JobLifecycle.Backoff(RetryPolicy.Default, 1, 1));
        Assert.Equal(TimeSpan.FromSeconds(2), JobLifecycle.Backoff(RetryPolicy.Default, 2, 1));
        Assert.Equal(TimeSpan.FromMinutes(5), JobLifecycle.Backoff(RetryPolicy.Default, 20, 1));
    }

    // ---- NextDeadline ----

    [Theory]
    [InlineData(JobStatus.Pending)]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Cancelled)]
    [InlineData(JobStatus.TimedOut)]
    [InlineData(JobStatus.DeadLettered)]
    public void A_job_no_agent_holds_has_no_deadline(JobStatus status)
    {
        var job = Job(ThreeAttempts, 1) with { Status = status, StartedAt = Now };

        Assert.Null(JobLifecycle.NextDeadline(job, Now + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_leased_job_not_yet_running_is_judged_at_its_lease_expiry()
    {
        var job = Job(ThreeAttempts, 1, timeout: TimeSpan.FromSeconds(5)) with { Status = JobStatus.Leased };
        var expiry = Now + TimeSpan.FromSeconds(30);

        Assert.Equal(expiry, JobLifecycle.NextDeadline(job, expiry));
    }

    [Fact]
    public void A_running_job_is_judged_at_its_run_timeout_when_that_comes_before_the_lease_expiry()
    {
        var started = Now;
        var job = Job(ThreeAttempts, 1, timeout: TimeSpan.FromSeconds(10)) with { Status = JobStatus.Running, StartedAt = started };
        _clock.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal(started + TimeSpan.FromSeconds(10), JobLifecycle.NextDeadline(job, Now + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_running_job_is_judged_at_its_lease_expiry_when_that_comes_first()
    {
        var job = Job(ThreeAttempts, 1, timeout: TimeSpan.FromMinutes(10)) with { Status = JobStatus.Running, StartedAt = Now };
        var expiry = Now + TimeSpan.FromSeconds(30);

        Assert.Equal(expiry, JobLifecycle.NextDeadline(job, expiry));
    }

    [Fact]
    public void A_run_timeout_equal_to_the_lease_expiry_gives_that_instant()
    {
        var job = Job(ThreeAttempts, 1, timeout: TimeSpan.FromSeconds(30)) with { Status = JobStatus.Running, StartedAt = Now };

        Assert.Equal(Now + TimeSpan.FromSeconds(30), JobLifecycle.NextDeadline(job, Now + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_running_job_without_a_start_time_is_judged_at_its_lease_expiry()
    {
        var job = Job(ThreeAttempts, 1, timeout: TimeSpan.FromSeconds(1)) with { Status = JobStatus.Running, StartedAt = null };
        var expiry = Now + TimeSpan.FromSeconds(30);

        Assert.Equal(expiry, JobLifecycle.NextDeadline(job, expiry));
    }

    private JobRecord Job(RetryPolicy retry, int attempts, TimeSpan? timeout = null)
    {
        var spec = new JobSpec("summarize", "llm", "acme", "{}", 5, timeout ?? TimeSpan.FromMinutes(5), retry, null);
        return new JobRecord(Guid.NewGuid(), "acme", spec, 0, JobStatus.Running, attempts, 1, T0, T0, T0, "agent-1", 1,
            Now + TimeSpan.FromSeconds(30), T0, null, null, null, JobUsage.None, T0);
    }
}
