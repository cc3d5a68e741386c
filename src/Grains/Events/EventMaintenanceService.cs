using MeshOs.Abstractions.Events;
using MeshOs.Grains.Kernel.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Events;

/// <summary>
/// Keeps the supervisors' pumps running (a pump re-activates on a surviving silo within a minute of a failure even
/// before its reminder fires) and applies retention: whole days of finished jobs past <see cref="JobOptions.Retention"/>
/// (<see cref="JobRetention"/>), and whole days of events past <see cref="EventOptions.Retention"/> that every consumer
/// has read (<see cref="EventRetention"/>).
/// </summary>
internal sealed partial class EventMaintenanceService(
    IGrainFactory grains,
    JobRetention jobRetention,
    EventRetention eventRetention,
    IOptions<EventOptions> eventOptions,
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
                LogMaintenanceFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        // Each log's pass on its own: a job partition the drop could not lock in time (a long reader) does not hold the
        // event log's retention back too.
        try
        {
            await jobRetention.ApplyAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogJobRetentionFailed(logger, ex);
        }

        var consumers = eventOptions.Value.Consumers;
        var cursors = await Task.WhenAll(consumers.Select(c => grains.GetGrain<IEventPumpGrain>(c.Name).GetCursorAsync()));
        var byConsumer = consumers.Select((c, i) => (c.Name, Cursor: cursors[i])).GroupBy(c => c.Name).ToDictionary(g => g.Key, g => g.Min(c => c.Cursor));
        await eventRetention.ApplyAsync(byConsumer, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Maintenance pass failed; retrying on the next pass")]
    private static partial void LogMaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job retention failed; retrying on the next pass")]
    private static partial void LogJobRetentionFailed(ILogger logger, Exception exception);
}
