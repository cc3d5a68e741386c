using Microsoft.Extensions.Logging;

namespace MeshOs.Persistence.Migrations;

public sealed partial class SchemaMigrator
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "PostgreSQL at {Endpoint} (database '{Database}') not reachable, attempt {Attempt} of {MaxAttempts}: {Reason}. Retrying in {DelaySeconds} s")]
    private static partial void LogConnectRetry(ILogger logger, string endpoint, string database, int attempt, int maxAttempts, string reason, double delaySeconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Database '{Database}' does not exist on {Endpoint}: creating it")]
    private static partial void LogCreatingDatabase(ILogger logger, string database, string endpoint);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "Another process is migrating database '{Database}': waiting up to {TimeoutSeconds} s for the migration lock")]
    private static partial void LogWaitingForLock(ILogger logger, string database, double timeoutSeconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Applying migration {Migration} to database '{Database}'")]
    private static partial void LogApplying(ILogger logger, string migration, string database);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "Applied migration {Migration} in {ElapsedMilliseconds:0} ms")]
    private static partial void LogApplied(ILogger logger, string migration, double elapsedMilliseconds);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information,
        Message = "Schema of database '{Database}' is up to date at version {Version}")]
    private static partial void LogUpToDate(ILogger logger, string database, int version);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning,
        Message = "Database '{Database}' has migration {Version} ({Name}) that this build does not know: a newer build applied it")]
    private static partial void LogUnknownVersion(ILogger logger, string database, int version, string name);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information,
        Message = "Schema migration of database '{Database}' done: {AppliedCount} applied, {PresentCount} already present, {ElapsedMilliseconds:0} ms")]
    private static partial void LogCompleted(ILogger logger, string database, int appliedCount, int presentCount, double elapsedMilliseconds);
}
