using MeshOs.Abstractions.Events;
using MeshOs.Grains.Kernel.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Events;

/// <summary>
/// Keeps the supervisors' pumps running (a pump re-activates on a surviving silo within a minute of a failure even
/// before its reminder fires) and applies retention: finished jobs past <see cref="JobOptions.Retention"/>, and
/// events every consumer has seen that are older than <see cref="EventOptions.Retention"/>.
/// </summary>
internal sealed partial class EventMaintenanceService(
    IGrainFactory grains,
    IJobStore jobs,
    IEventLog events,
    IOptions<EventOptions> eventOptions,
    IOptions<JobOptions> jobOptions,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<EventMaintenanceService> logger) : BackgroundService
{
    private static readonly TimeSpan PumpCheckInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetentionInterval = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextRetention = time.GetUtcNow() + TimeSpan.FromMinutes(1);
        using var timer = new PeriodicTimer(PumpCheckInterval, time);
        do
        {
            try
            {
                await Task.WhenAll(eventOptions.Value.Consumers.Select(c => grains.GetGrain<IEventPumpGrain>(c.Name).StartAsync()));
                if (time.GetUtcNow() >= nextRetention)
                {
                    nextRetention = time.GetUtcNow() + RetentionInterval;
                    await ApplyRetentionAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogMaintenanceFailed(logger, ex.GetBaseException().Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int deleted;
        var total = 0;
        do
        {
            deleted = await jobs.DeleteTerminalAsync(now - jobOptions.Value.Retention, 5_000, cancellationToken);
            total += deleted;
        }
        while (deleted == 5_000 && !cancellationToken.IsCancellationRequested);

        var consumers = eventOptions.Value.Consumers;
        if (consumers.Count > 0)
        {
            var cursors = await Task.WhenAll(consumers.Select(c => grains.GetGrain<IEventPumpGrain>(c.Name).GetCursorAsync()));
            var trimmed = await events.TrimAsync(cursors.Min(), now - eventOptions.Value.Retention, cancellationToken);
            LogRetention(logger, total, trimmed);
        }
        else
        {
            LogRetention(logger, total, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Maintenance pass failed: {Reason}")]
    private static partial void LogMaintenanceFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention: deleted {Jobs} finished job(s) and {Events} event(s)")]
    private static partial void LogRetention(ILogger logger, int jobs, int events);
}
