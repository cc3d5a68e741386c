using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Events;

public sealed partial class EventRetention
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Event retention made room for {Count} day(s) of events ({First}–{Last})")]
    private static partial void LogDaysMade(ILogger logger, int count, DateOnly first, DateOnly last);

    [LoggerMessage(Level = LogLevel.Information, Message = "Event retention dropped {Count} day(s) of events ({First}–{Last})")]
    private static partial void LogDropped(ILogger logger, int count, DateOnly first, DateOnly last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event retention kept {Count} day(s) of events past the retention of {Retention} (from {First}): consumer(s) {Consumers} have read only up to position {Cursor}")]
    private static partial void LogHeld(ILogger logger, int count, DateOnly first, TimeSpan retention, string consumers, long cursor);
}
