using System.Collections.Immutable;
using System.Threading.Channels;
using MeshOs.Abstractions.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Events;

/// <summary>
/// Appends events from many grains to the event log in batches (one append per batch), off the per-job path.
/// <see cref="PublishAsync"/> completes once the event is durable in the log.
/// </summary>
public sealed partial class EventPublisher(IEventLog log, ILogger<EventPublisher> logger) : BackgroundService
{
    private const int MaxBatch = 1_000;

    /// <summary>
    /// Events waiting for the log at most; past it publishers wait for room (back-pressure on the grains that change
    /// state) instead of the silo's memory growing while the log is slow or down.
    /// </summary>
    public const int MaxQueued = 100_000;

    private readonly Channel<(MeshEvent Event, TaskCompletionSource Done)> _queue =
        Channel.CreateBounded<(MeshEvent, TaskCompletionSource)>(new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public Task PublishAsync(MeshEvent e)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _queue.Writer.TryWrite((e, done)) ? done.Task : PublishWhenRoomAsync(e, done);
    }

    private async Task PublishWhenRoomAsync(MeshEvent e, TaskCompletionSource done)
    {
        await _queue.Writer.WriteAsync((e, done));
        await done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(MeshEvent Event, TaskCompletionSource Done)>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                await log.AppendAsync([.. batch.Select(b => b.Event)], stoppingToken);
                batch.ForEach(b => b.Done.TrySetResult());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogAppendFailed(logger, batch.Count, ex.GetBaseException().Message);
                batch.ForEach(b => b.Done.TrySetException(ex));
            }

            batch.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not append {Count} event(s) to the event log: {Reason}")]
    private static partial void LogAppendFailed(ILogger logger, int count, string reason);
}
