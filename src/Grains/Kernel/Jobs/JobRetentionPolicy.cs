using MeshOs.Grains.Storage;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>
/// Which days of jobs retention drops (pure). Jobs are kept in whole UTC days of their creation (the one time of a job
/// that never changes); a day goes once all of it is older than the retention and each of its jobs finished more than
/// the retention ago, so a finished job is kept at least the retention after it finished, as when jobs were deleted one
/// by one. A day still holding an unfinished job (pending, leased or running) is held back whole: no job is lost, and
/// its finished jobs wait with it.
/// </summary>
public static class JobRetentionPolicy
{
    /// <summary>The job table's daily partitions (<c>meshos_jobs_yyyyMMdd</c>, by creation time).</summary>
    public static readonly TimePartitioning Days = new("meshos_jobs_", PartitionPeriod.Day);

    /// <param name="day">The day (UTC) the jobs were created.</param>
    /// <param name="hasUnfinished">Whether any of the day's jobs is not finished (status below Succeeded).</param>
    /// <param name="latestCompletion">The latest completion time among the day's finished jobs; null when none has one.</param>
    /// <param name="cutoff">Now minus the retention.</param>
    public static JobDayVerdict Judge(DateOnly day, bool hasUnfinished, DateTimeOffset? latestCompletion, DateTimeOffset cutoff) =>
        !Days.IsDroppable(day, cutoff) ? JobDayVerdict.Keep
        : hasUnfinished ? JobDayVerdict.Held
        : latestCompletion >= cutoff ? JobDayVerdict.Keep
        : JobDayVerdict.Drop;
}

/// <summary>What retention does with one day of jobs.</summary>
public enum JobDayVerdict
{
    /// <summary>Within the retention (the day, or one of its jobs' completion).</summary>
    Keep,

    /// <summary>Past the retention and every job finished past it: dropped whole.</summary>
    Drop,

    /// <summary>Past the retention but holding an unfinished job: kept.</summary>
    Held,
}

/// <summary>The days of jobs a retention pass dropped, and those past the retention it kept for unfinished jobs.</summary>
public sealed record JobPruneResult(IReadOnlyList<DateOnly> Dropped, IReadOnlyList<DateOnly> Held)
{
    public static readonly JobPruneResult None = new([], []);
}
