using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// Keeps the rollups' months ready ahead of their writes (this month and the next two) and drops whole months past
/// <see cref="CostOptions.RollupRetention"/>, once at start and then hourly.
/// </summary>
internal sealed partial class CostMaintenanceService(
    ICostStore store,
    IOptions<CostOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<CostMaintenanceService> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var now = time.GetUtcNow();
                await store.PrepareMonthsAsync(CostRetentionPolicy.Months.Upcoming(now, 2), stoppingToken);
                var dropped = await store.PruneAsync(now - options.Value.RollupRetention, stoppingToken);
                if (dropped.Count > 0)
                {
                    LogPruned(logger, dropped.Count);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogMaintenanceFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cost rollup maintenance failed; retrying in an hour")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cost rollups: dropped {Months} month(s) past retention")]
    private static partial void LogPruned(ILogger logger, int months);
}
