using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MeshOs.Persistence.Migrations;

/// <summary>
/// Brings a PostgreSQL database up to the schema of this build: applies the embedded <c>sql/NNNN_name.sql</c>
/// migrations that are not yet recorded in <c>meshos_schema_version</c>, in version order, each in its own
/// transaction together with its record. Forward-only: nothing is ever rolled back or re-run.
/// </summary>
/// <remarks>
/// Several silos may start at once: the whole run holds the session advisory lock
/// <see cref="AdvisoryLockKey"/>, so one migrates and the others wait, then find nothing left to do.
/// An applied migration whose file changed since (checksum mismatch) stops the run: fix forward with a
/// new migration instead of editing an applied one.
/// </remarks>
public sealed partial class SchemaMigrator
{
    /// <summary>
    /// Key of the PostgreSQL session advisory lock held during a migration run: the ASCII bytes of "MeshOs"
    /// (0x4D6573684F73 = 85098123251571). Advisory locks are scoped to one database, so migrating two
    /// databases of one server never blocks. Nothing else may use this key.
    /// </summary>
    public const long AdvisoryLockKey = 0x4D6573684F73;

    private const string CreateVersionTableSql =
        """
        CREATE TABLE IF NOT EXISTS meshos_schema_version
        (
            version    integer     NOT NULL PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    private SchemaMigrator()
    {
        // Static API; the type exists as a logger category (ILogger<SchemaMigrator>).
    }

    /// <summary>
    /// Applies the pending migrations to the database named by <paramref name="connectionString"/>, creating
    /// the database first when it is missing and <see cref="MigrationOptions.CreateDatabaseIfMissing"/> allows.
    /// </summary>
    /// <exception cref="SchemaMigrationException">The schema could not be brought up to date; the message says why.</exception>
    public static async Task<MigrationReport> MigrateAsync(
        string connectionString,
        ILogger logger,
        MigrationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(logger);
        options ??= new MigrationOptions();
        options.Validate();
        var migrations = options.Migrations ?? SchemaMigration.LoadEmbedded();

        var stopwatch = Stopwatch.StartNew();
        var target = TargetOf(connectionString, options);
        var (connection, createdDatabase) = await OpenWithRetryAsync(target, logger, options, stopwatch, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await AcquireLockAsync(connection, target, logger, options, cancellationToken).ConfigureAwait(false);
                try
                {
                    var (applied, alreadyPresent, unknown) = await ApplyPendingAsync(connection, target, migrations, logger, options, cancellationToken).ConfigureAwait(false);
                    var report = new MigrationReport(target.Database, createdDatabase, applied, alreadyPresent, unknown, stopwatch.Elapsed);
                    LogCompleted(logger, target.Database, applied.Count, alreadyPresent.Count, stopwatch.Elapsed.TotalMilliseconds);
                    return report;
                }
                finally
                {
                    await ReleaseLockAsync(connection).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException ex)
            {
                // E.g. the connection broke between two migrations: what was committed stays, the rest runs next time.
                throw new SchemaMigrationException(
                    $"Schema migration of database '{target.Database}' ({target.Endpoint}) failed: {Reason(ex)}", ex);
            }
        }
    }

    private static async Task<(List<int> Applied, List<int> AlreadyPresent, List<int> Unknown)> ApplyPendingAsync(
        NpgsqlConnection connection,
        Target target,
        IReadOnlyList<SchemaMigration> migrations,
        ILogger logger,
        MigrationOptions options,
        CancellationToken cancellationToken)
    {
        await using (var create = new NpgsqlCommand(CreateVersionTableSql, connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var recorded = await ReadRecordedAsync(connection, cancellationToken).ConfigureAwait(false);
        var known = migrations.ToDictionary(m => m.Version);

        var edited = recorded.Values
            .Where(r => known.TryGetValue(r.Version, out var m) && !string.Equals(m.Checksum, r.Checksum, StringComparison.Ordinal))
            .OrderBy(r => r.Version)
            .ToList();
        if (edited.Count > 0)
        {
            var details = string.Join("; ", edited.Select(r =>
                $"{known[r.Version].DisplayName}: applied {r.AppliedAt:u} with checksum {r.Checksum}, file now has {known[r.Version].Checksum}"));
            throw new SchemaMigrationException(
                $"Database '{target.Database}' on {target.Endpoint}: applied migrations differ from the files of this build ({details}). " +
                "Applied migrations must never be edited; restore the file and add a new migration instead.");
        }

        var unknown = recorded.Keys.Where(v => !known.ContainsKey(v)).Order().ToList();
        foreach (var version in unknown)
        {
            LogUnknownVersion(logger, target.Database, version, recorded[version].Name);
        }

        var alreadyPresent = migrations.Where(m => recorded.ContainsKey(m.Version)).Select(m => m.Version).ToList();
        var pending = migrations.Where(m => !recorded.ContainsKey(m.Version)).ToList();
        if (pending.Count > 0 && recorded.Count > 0)
        {
            var highestApplied = recorded.Keys.Max();
            var late = pending.Where(m => m.Version < highestApplied).ToList();
            if (late.Count > 0)
            {
                throw new SchemaMigrationException(
                    $"Database '{target.Database}' on {target.Endpoint} is at version {highestApplied}, but {string.Join(", ", late.Select(m => m.DisplayName))} " +
                    "was never applied. Migrations are forward-only: give a new migration a version above every applied one.");
            }
        }

        var applied = new List<int>();
        foreach (var migration in pending)
        {
            await ApplyAsync(connection, target, migration, logger, options, cancellationToken).ConfigureAwait(false);
            applied.Add(migration.Version);
        }

        if (pending.Count == 0)
        {
            LogUpToDate(logger, target.Database, recorded.Count == 0 ? 0 : recorded.Keys.Max());
        }

        return (applied, alreadyPresent, unknown);
    }

    private static async Task ApplyAsync(
        NpgsqlConnection connection,
        Target target,
        SchemaMigration migration,
        ILogger logger,
        MigrationOptions options,
        CancellationToken cancellationToken)
    {
        LogApplying(logger, migration.DisplayName, target.Database);
        var stopwatch = Stopwatch.StartNew();
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            try
            {
                await using (var script = new NpgsqlCommand(migration.Sql, connection, transaction))
                {
                    script.CommandTimeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds);
                    await script.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var record = new NpgsqlCommand(
                    "INSERT INTO meshos_schema_version (version, name, checksum) VALUES (@version, @name, @checksum)",
                    connection,
                    transaction))
                {
                    record.Parameters.AddWithValue("version", migration.Version);
                    record.Parameters.AddWithValue("name", migration.Name);
                    record.Parameters.AddWithValue("checksum", migration.Checksum);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                var where = ex is PostgresException { Position: > 0 } postgres
                    ? string.Create(CultureInfo.InvariantCulture, $" at character {postgres.Position}")
                    : string.Empty;
                throw new SchemaMigrationException(
                    $"Migration {migration.DisplayName} failed on database '{target.Database}' ({target.Endpoint}) and was rolled back: " +
                    $"{Reason(ex)}{where}.",
                    ex);
            }
        }

        LogApplied(logger, migration.DisplayName, stopwatch.Elapsed.TotalMilliseconds);
    }

    private static async Task<Dictionary<int, RecordedMigration>> ReadRecordedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var recorded = new Dictionary<int, RecordedMigration>();
        await using var command = new NpgsqlCommand("SELECT version, name, checksum, applied_at FROM meshos_schema_version", connection);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = new RecordedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTime>(3));
                recorded.Add(row.Version, row);
            }
        }

        return recorded;
    }

    private static async Task AcquireLockAsync(NpgsqlConnection connection, Target target, ILogger logger, MigrationOptions options, CancellationToken cancellationToken)
    {
        await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection))
        {
            tryLock.Parameters.AddWithValue("key", AdvisoryLockKey);
            if ((bool)(await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                return;
            }
        }

        LogWaitingForLock(logger, target.Database, options.LockTimeout.TotalSeconds);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.LockTimeout);
        try
        {
            await using var waitLock = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection);
            waitLock.Parameters.AddWithValue("key", AdvisoryLockKey);
            waitLock.CommandTimeout = 0;
            await waitLock.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SchemaMigrationException(
                $"Gave up after {options.LockTimeout.TotalSeconds:0} s waiting for the migration lock (advisory lock {AdvisoryLockKey}) " +
                $"on database '{target.Database}' ({target.Endpoint}): another process has been migrating it all that time. " +
                "Look for it in pg_locks (locktype 'advisory').");
        }
    }

    private static async Task ReleaseLockAsync(NpgsqlConnection connection)
    {
        // Closing the (unpooled) connection releases the lock too; unlocking first frees waiters sooner.
        if (connection.FullState != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", AdvisoryLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // The connection is closed next, which releases a session lock in any case.
        }
    }

    private static async Task<(NpgsqlConnection Connection, bool CreatedDatabase)> OpenWithRetryAsync(
        Target target,
        ILogger logger,
        MigrationOptions options,
        Stopwatch stopwatch,
        CancellationToken cancellationToken)
    {
        var createdDatabase = false;
        var triedCreate = false;
        Exception? lastError = null;
        for (var attempt = 1; attempt <= options.ConnectAttempts; attempt++)
        {
            var connection = new NpgsqlConnection(target.ConnectionString);
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return (connection, createdDatabase);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                if (!options.CreateDatabaseIfMissing || triedCreate)
                {
                    throw new SchemaMigrationException(
                        $"Database '{target.Database}' does not exist on {target.Endpoint}" +
                        (options.CreateDatabaseIfMissing ? " and could not be created." : " (and creating it is switched off)."),
                        ex);
                }

                triedCreate = true;
                createdDatabase = await CreateDatabaseAsync(target, logger, options, cancellationToken).ConfigureAwait(false);
                attempt--; // Creating the database is progress, not a failed attempt.
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                lastError = ex;
                if (attempt == options.ConnectAttempts)
                {
                    break;
                }

                LogConnectRetry(logger, target.Endpoint, target.Database, attempt, options.ConnectAttempts, Reason(ex), options.ConnectRetryDelay.TotalSeconds);
                await Task.Delay(options.ConnectRetryDelay, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw new SchemaMigrationException(
                    $"PostgreSQL at {target.Endpoint} refused the connection to database '{target.Database}' as user '{target.Username}': {Reason(ex)}",
                    ex);
            }
        }

        throw new SchemaMigrationException(
            $"Cannot reach PostgreSQL at {target.Endpoint} (database '{target.Database}', user '{target.Username}') after " +
            $"{options.ConnectAttempts} attempt(s) over {stopwatch.Elapsed.TotalSeconds:0.0} s: {Reason(lastError!)}",
            lastError);
    }

    private static async Task<bool> CreateDatabaseAsync(Target target, ILogger logger, MigrationOptions options, CancellationToken cancellationToken)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = options.MaintenanceDatabase }.ConnectionString;
        LogCreatingDatabase(logger, target.Database, target.Endpoint);
        try
        {
            var connection = new NpgsqlConnection(maintenance);
            await using (connection.ConfigureAwait(false))
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                var quoted = "\"" + target.Database.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
                await using var create = new NpgsqlCommand("CREATE DATABASE " + quoted, connection);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another silo created it a moment ago.
            return false;
        }
        catch (NpgsqlException ex)
        {
            throw new SchemaMigrationException(
                $"Database '{target.Database}' does not exist on {target.Endpoint}, and user '{target.Username}' could not create it " +
                $"(connecting to database '{options.MaintenanceDatabase}'): {Reason(ex)}. Create it, or grant CREATEDB.",
                ex);
        }
    }

    private static bool IsTransient(Exception exception) => exception switch
    {
        // Starting up, shutting down, too many connections, connection failures: worth waiting for.
        PostgresException postgres => postgres.IsTransient || postgres.SqlState == PostgresErrorCodes.CannotConnectNow,
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException,
        TimeoutException => true,
        _ => false,
    };

    private static string Reason(Exception exception)
    {
        var reason = exception is PostgresException postgres ? $"{postgres.SqlState} {postgres.MessageText}" : exception.Message;
        return exception.InnerException is { } inner && exception is not PostgresException ? $"{reason} ({inner.Message})" : reason;
    }

    private static Target TargetOf(string connectionString, MigrationOptions options)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // The message of a parse error may quote the string, password included: do not pass it on.
            throw new SchemaMigrationException("The PostgreSQL connection string cannot be parsed (" + ex.GetType().Name + ").");
        }

        // The migrator's connection must own its session (advisory lock) and not linger in a pool afterwards.
        builder.Pooling = false;
        builder.Multiplexing = false;
        if (options.ConnectTimeout is { } connectTimeout)
        {
            builder.Timeout = (int)Math.Ceiling(connectTimeout.TotalSeconds);
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            // Npgsql's default: the database named like the user.
            builder.Database = builder.Username;
        }

        var endpoint = string.Create(CultureInfo.InvariantCulture, $"{builder.Host ?? "localhost"}:{builder.Port}");
        return new Target(builder.ConnectionString, endpoint, builder.Database ?? "(default)", builder.Username ?? "(default)");
    }

    private sealed record Target(string ConnectionString, string Endpoint, string Database, string Username);

    private sealed record RecordedMigration(int Version, string Name, string Checksum, DateTime AppliedAt);
}
