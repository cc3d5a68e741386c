using MeshOs.Abstractions.Audit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Audit;

/// <summary>Signs a checkpoint of the head every <see cref="AuditOptions.CheckpointInterval"/> and at shutdown, and applies retention.</summary>
internal sealed partial class AuditMaintenanceService(
    IAuditLog log,
    IOptions<AuditOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<AuditMaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextRetention = time.GetUtcNow();
        using var timer = new PeriodicTimer(options.Value.CheckpointInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await log.CheckpointAsync(AuditCheckpointKind.Periodic, stoppingToken);
                if (time.GetUtcNow() >= nextRetention)
                {
                    nextRetention = time.GetUtcNow() + options.Value.RetentionInterval;
                    var dropped = await log.ApplyRetentionAsync(stoppingToken);
                    if (dropped.Count > 0)
                    {
                        LogPruned(logger, dropped.Count, dropped[0], dropped[^1]);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogMaintenanceFailed(logger, ex);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await log.CheckpointAsync(AuditCheckpointKind.Shutdown, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogMaintenanceFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit retention dropped {Count} month(s) of entries ({First}–{Last}); a boundary checkpoint keeps the rest verifiable")]
    private static partial void LogPruned(ILogger logger, int count, DateOnly first, DateOnly last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit checkpoint or retention failed; retrying on the next interval")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);
}
