using MeshOs.Abstractions.Jobs;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>How an attempt ended, as recorded in events.</summary>
public static class AttemptOutcome
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string TimedOut = "timed-out";
    public const string LeaseLost = "lease-lost";
    public const string Cancelled = "cancelled";
    public const string Released = "released";
}

/// <summary>What happens to a job after an attempt that did not succeed.</summary>
/// <param name="Status">Pending (retry) or a terminal status.</param>
/// <param name="AvailableAt">For a retry, when the job may be leased again.</param>
public readonly record struct RetryDecision(JobStatus Status, DateTimeOffset AvailableAt);

/// <summary>Retry and terminal-status rules, free of Orleans and I/O.</summary>
public static class JobLifecycle
{
    /// <summary>
    /// After a failed, timed-out or lost attempt: a non-retryable failure is Failed at once; while attempts remain the
    /// job goes back to Pending after a backoff; when they are spent a job that allowed retries is DeadLettered and
    /// a single-attempt job ends Failed or TimedOut.
    /// </summary>
    /// <param name="jitter">A number in [0, 1) drawn by the caller (random in production, fixed in tests).</param>
    public static RetryDecision AfterUnsuccessfulAttempt(JobRecord job, string outcome, bool retryable, DateTimeOffset now, double jitter)
    {
        if (!retryable)
        {
            return new RetryDecision(JobStatus.Failed, now);
        }

        var retry = job.Spec.Retry;
        if (job.Attempts < retry.MaxAttempts)
        {
            return new RetryDecision(JobStatus.Pending, now + Backoff(retry, job.Attempts, jitter));
        }

        if (retry.MaxAttempts > 1)
        {
            return new RetryDecision(JobStatus.DeadLettered, now);
        }

        return new RetryDecision(outcome == AttemptOutcome.TimedOut ? JobStatus.TimedOut : JobStatus.Failed, now);
    }

    /// <summary>
    /// The wait before attempt <paramref name="attemptsSoFar"/> + 1: initial × multiplier^(attempts − 1), capped at
    /// the maximum, then "equal jitter" (between half and all of it) so retries of many jobs spread out.
    /// </summary>
    public static TimeSpan Backoff(RetryPolicy retry, int attemptsSoFar, double jitter)
    {
        var exponent = Math.Max(0, attemptsSoFar - 1);
        var raw = retry.InitialBackoff.TotalMilliseconds * Math.Pow(retry.Multiplier, exponent);
        var capped = Math.Min(raw, retry.MaxBackoff.TotalMilliseconds);
        var jittered = capped * (0.5 + (0.5 * Math.Clamp(jitter, 0, 1)));
        return TimeSpan.FromMilliseconds(Math.Max(0, jittered));
    }

    /// <summary>
    /// Whether <paramref name="result"/>, reported under the lease a job ended with, is the result it ended with (an
    /// agent repeating a report whose answer it lost): a success with the same result for a Succeeded job, or a failure
    /// with the same error for one that ended Failed or DeadLettered. Any other report after the end is late (the job
    /// timed out, was cancelled, lost its lease or ended with another result) and must be refused, not dropped.
    /// </summary>
    /// <param name="result">As validated (the error cut and cleaned as it would have been stored).</param>
    public static bool IsRecordedResult(JobRecord ended, JobResult result) => result.Succeeded
        ? ended.Status == JobStatus.Succeeded && ended.ResultJson == result.ResultJson
        : ended.Status is JobStatus.Failed or JobStatus.DeadLettered && ended.Error == (result.Error ?? "failed");

    /// <summary>When the current lease or run of a job must be judged: the lease expiry or the run timeout, whichever is first.</summary>
    public static DateTimeOffset? NextDeadline(JobRecord job, DateTimeOffset leaseExpiresAt)
    {
        if (!job.Status.IsLeased())
        {
            return null;
        }

        var deadline = leaseExpiresAt;
        if (job.Status == JobStatus.Running && job.StartedAt is { } started && started + job.Spec.Timeout < deadline)
        {
            deadline = started + job.Spec.Timeout;
        }

        return deadline;
    }
}
