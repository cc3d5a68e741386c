using Npgsql;

namespace MeshOs.Persistence;

/// <summary>The silo's PostgreSQL data source (one connection pool shared by the job store and the event log).</summary>
public sealed class PostgresConnection : IAsyncDisposable
{
    public PostgresConnection(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            // Fail fast when the server is gone (Npgsql waits 15 s by default): a submit answers 503 at once.
            builder.Timeout = 5;
        }

        ConnectionString = builder.ConnectionString;
        Description = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}";
        DataSource = NpgsqlDataSource.Create(builder);
    }

    public string ConnectionString { get; }

    /// <summary>Host, port and database: safe to log and show (no password).</summary>
    public string Description { get; }

    public NpgsqlDataSource DataSource { get; }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
