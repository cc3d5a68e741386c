namespace MeshOs.Persistence.Migrations;

/// <summary>How <see cref="SchemaMigrator"/> connects, waits and what it applies.</summary>
public sealed class MigrationOptions
{
    /// <summary>
    /// How many times to try to connect before giving up. Default 10: with <see cref="ConnectRetryDelay"/>
    /// that is about 20 s, enough for a database container that starts after the silo.
    /// </summary>
    public int ConnectAttempts { get; set; } = 10;

    /// <summary>Pause between two connection attempts. Default 2 s.</summary>
    public TimeSpan ConnectRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Time limit of one connection attempt, overriding the connection string's <c>Timeout</c>, so that an
    /// address that drops packets cannot stretch the retry budget. Default 5 s; null keeps the connection string's.
    /// </summary>
    public TimeSpan? ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Create the target database when it does not exist, connecting to <see cref="MaintenanceDatabase"/>
    /// with the same credentials. Default true; fails clearly when the user may not create databases.
    /// </summary>
    public bool CreateDatabaseIfMissing { get; set; } = true;

    /// <summary>Database to connect to for creating the target database. Default <c>postgres</c>.</summary>
    public string MaintenanceDatabase { get; set; } = "postgres";

    /// <summary>
    /// How long to wait for the migration lock while another process migrates the same database.
    /// Default 5 minutes.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Time limit of each migration script. Default 10 minutes (index builds on big tables take a while).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The migrations to apply; null (the default) means the ones embedded from <c>sql/</c>.</summary>
    public IReadOnlyList<SchemaMigration>? Migrations { get; set; }

    internal void Validate()
    {
        if (ConnectAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectAttempts), ConnectAttempts, "At least one connection attempt is needed.");
        }

        if (ConnectRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectRetryDelay), ConnectRetryDelay, "The retry delay cannot be negative.");
        }

        if (ConnectTimeout is { } connectTimeout && connectTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), connectTimeout, "Npgsql counts connection timeouts in whole seconds: use at least 1 s.");
        }

        if (LockTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LockTimeout), LockTimeout, "The lock timeout must be positive.");
        }

        if (CommandTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(CommandTimeout), CommandTimeout, "Use at least 1 s.");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(MaintenanceDatabase);
    }
}
