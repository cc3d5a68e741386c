using MeshOs.Grains.Kernel.Jobs;

namespace MeshOs.Tests.Unit.Kernel.Jobs;

public sealed class JobRetentionPolicyTests
{
    private static readonly DateOnly Day = new(2030, 1, 5);
    private static readonly DateTimeOffset DayEnds = new(2030, 1, 6, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(-1, false, null, JobDayVerdict.Keep)]             // ends a tick after the cutoff
    [InlineData(-1, true, null, JobDayVerdict.Keep)]              // unfinished, but within the retention anyway
    [InlineData(0, false, null, JobDayVerdict.Drop)]              // no completion time at all (empty, or cancelled without one)
    [InlineData(0, false, -3_600L, JobDayVerdict.Drop)]           // every job finished an hour before the cutoff
    [InlineData(0, false, 0L, JobDayVerdict.Keep)]                // the last finished exactly at the cutoff: kept, as row deletes did
    [InlineData(86_400, false, 3_600L, JobDayVerdict.Keep)]       // a long run: kept a retention after it finished
    [InlineData(0, true, -3_600L, JobDayVerdict.Held)]            // one job still pending, leased or running
    [InlineData(86_400 * 30, true, null, JobDayVerdict.Held)]
    public void A_day_past_the_retention_goes_only_once_each_of_its_jobs_finished_past_it(
        long cutoffAfterEndSeconds, bool hasUnfinished, long? latestCompletionAfterCutoffSeconds, JobDayVerdict expected)
    {
        var cutoff = cutoffAfterEndSeconds < 0 ? DayEnds.AddTicks(-1) : DayEnds.AddSeconds(cutoffAfterEndSeconds);
        var latest = latestCompletionAfterCutoffSeconds is { } seconds ? cutoff.AddSeconds(seconds) : (DateTimeOffset?)null;

        Assert.Equal(expected, JobRetentionPolicy.Judge(Day, hasUnfinished, latest, cutoff));
    }

    [Fact]
    public void Days_are_the_job_tables_partitions_by_creation_day()
    {
        Assert.Equal("meshos_jobs_20300105", JobRetentionPolicy.Days.Name(Day));
        Assert.Equal(Day, JobRetentionPolicy.Days.Parse("meshos_jobs_20300105"));
        Assert.Null(JobRetentionPolicy.Days.Parse("meshos_jobs_default"));
    }
}
