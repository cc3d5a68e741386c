using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Jobs;

/// <summary>
/// One retention pass over the job store: makes room for jobs created today and in the next
/// <see cref="JobOptions.DaysAhead"/> days, then drops the whole days past <see cref="JobOptions.Retention"/> whose
/// jobs have all finished (<see cref="JobRetentionPolicy"/>). Days held back by an unfinished job are logged and
/// measured (<c>meshos.jobs.retention_held_days</c>).
/// </summary>
public sealed partial class JobRetention(
    IJobStore store,
    IOptions<JobOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<JobRetention> logger)
{
    // The kernel meter, exported with the other job metrics (meshos_jobs_*).
    private static readonly Meter Meter = new(Telemetry.KernelMetrics.MeterName);
    private static readonly Gauge<int> HeldDays = Meter.CreateGauge<int>("meshos.jobs.retention_held_days", "{day}",
        "Days of jobs past the retention kept at the last retention pass because they hold an unfinished job.");

    public async Task<JobPruneResult> ApplyAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var made = await store.PrepareDaysAsync(JobRetentionPolicy.Days.Upcoming(now, options.Value.DaysAhead), cancellationToken);
        if (made.Count > 0)
        {
            LogDaysMade(logger, made.Count, made[0], made[^1]);
        }

        var result = await store.PruneAsync(now - options.Value.Retention, cancellationToken);
        HeldDays.Record(result.Held.Count);
        if (result.Dropped.Count > 0)
        {
            LogDropped(logger, result.Dropped.Count, result.Dropped[0], result.Dropped[^1]);
        }

        if (result.Held.Count > 0)
        {
            LogHeld(logger, result.Held.Count, result.Held[0], result.Held[^1], options.Value.Retention);
        }

        return result;
    }
}
