using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Kernel.Jobs;

public sealed partial class JobRetention
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Job retention made room for {Count} day(s) of jobs ({First}–{Last})")]
    private static partial void LogDaysMade(ILogger logger, int count, DateOnly first, DateOnly last);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job retention dropped {Count} day(s) of finished jobs ({First}–{Last})")]
    private static partial void LogDropped(ILogger logger, int count, DateOnly first, DateOnly last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job retention kept {Count} day(s) of jobs past the retention of {Retention} ({First}–{Last}): each still holds an unfinished job")]
    private static partial void LogHeld(ILogger logger, int count, DateOnly first, DateOnly last, TimeSpan retention);
}
