using MeshOs.Abstractions.Kpi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// Retention of the SLI rollups: minute rows past <see cref="KpiOptions.MinuteRetention"/>, 5-minute, hour and day rows
/// past <see cref="KpiOptions.RollupRetention"/>; at start and then every <see cref="KpiOptions.RetentionInterval"/>.
/// </summary>
internal sealed partial class KpiMaintenanceService(
    IKpiStore store,
    IOptions<KpiOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<KpiMaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RetentionInterval, time);
        do
        {
            try
            {
                await PruneAsync(store, options.Value, time.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRetentionFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One retention pass at <paramref name="now"/>; answers the rows dropped.</summary>
    public static async Task<long> PruneAsync(IKpiStore store, KpiOptions options, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var dropped = await store.PruneAsync(SliResolution.Minute, now - options.MinuteRetention, cancellationToken);
        foreach (var resolution in (SliResolution[])[SliResolution.FiveMinutes, SliResolution.Hour, SliResolution.Day])
        {
            dropped += await store.PruneAsync(resolution, now - options.RollupRetention, cancellationToken);
        }

        return dropped;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLI rollup retention failed; retrying at the next interval")]
    private static partial void LogRetentionFailed(ILogger logger, Exception exception);
}
