using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Events;

/// <summary>
/// Delivers the event log to one consumer grain, in order, at least once: it reads after its durable cursor,
/// delivers a batch, and only then advances and saves the cursor. A failed delivery is retried on the next tick.
/// Kept alive by a reminder, so a silo failure only pauses it.
/// </summary>
internal sealed partial class EventPumpGrain(
    [PersistentState("event-pump", MeshStorage.GrainStore)] IPersistentState<EventPumpState> state,
    IEventLog log,
    IOptions<EventOptions> options,
    ILogger<EventPumpGrain> logger) : Grain, IEventPumpGrain, IRemindable
{
    private EventConsumerRegistration? _consumer;

    private string ConsumerName => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _consumer = options.Value.Consumers.FirstOrDefault(c => c.Name == ConsumerName);
        if (_consumer is null)
        {
            LogUnknownConsumer(logger, ConsumerName);
            return;
        }

        var interval = _consumer.Interval ?? options.Value.PumpInterval;
        this.RegisterGrainTimer(static (self, _) => self.PumpAsync(), this,
            new GrainTimerCreationOptions { DueTime = interval, Period = interval, Interleave = false, KeepAlive = true });
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    public Task StartAsync() => Task.CompletedTask;

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public async Task<long> PumpNowAsync()
    {
        await PumpAsync();
        return state.State.Cursor;
    }

    public Task<long> GetCursorAsync() => Task.FromResult(state.State.Cursor);

    private async Task PumpAsync()
    {
        if (_consumer is null)
        {
            return;
        }

        var consumer = GrainFactory.GetGrain(_consumer.GrainInterface, _consumer.Key).AsReference<IMeshEventConsumer>();
        for (var round = 0; round < 20; round++)
        {
            ImmutableArray<MeshEvent> batch;
            try
            {
                batch = await log.ReadAsync(state.State.Cursor, _consumer.BatchSize ?? options.Value.BatchSize);
                if (batch.IsEmpty)
                {
                    return;
                }

                await consumer.OnEventsAsync(batch);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogDeliveryFailed(logger, ConsumerName, state.State.Cursor, ex.GetBaseException().Message);
                return;
            }

            state.State.Cursor = batch[^1].Position;
            state.State.Delivered += batch.Length;
            await state.WriteStateAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event pump {Consumer}: no consumer is registered under this name")]
    private static partial void LogUnknownConsumer(ILogger logger, string consumer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event pump {Consumer}: delivery after position {Cursor} failed ({Reason}); retrying")]
    private static partial void LogDeliveryFailed(ILogger logger, string consumer, long cursor, string reason);
}

[GenerateSerializer, Alias("meshos.EventPumpState")]
public sealed class EventPumpState
{
    [Id(0)] public long Cursor { get; set; }
    [Id(1)] public long Delivered { get; set; }
}
