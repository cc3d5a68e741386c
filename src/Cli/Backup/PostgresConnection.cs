namespace MeshOs.Cli.Backup;

/// <summary>
/// A MeshOs connection string (Npgsql <c>Host=…;Port=…;Database=…;Username=…;Password=…</c>, or a
/// <c>postgresql://</c> URI) as pg_dump, pg_restore and psql take it: the database as <c>--dbname</c>, the rest as
/// libpq environment variables, so the password never shows in the process list.
/// </summary>
public sealed record PostgresConnection(string DbName, IReadOnlyDictionary<string, string> Environment)
{
    private static readonly Dictionary<string, string> Variables = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Host"] = "PGHOST", ["Server"] = "PGHOST",
        ["Port"] = "PGPORT",
        ["Username"] = "PGUSER", ["User Name"] = "PGUSER", ["User Id"] = "PGUSER", ["User"] = "PGUSER", ["UserId"] = "PGUSER",
        ["Password"] = "PGPASSWORD", ["Pwd"] = "PGPASSWORD",
        ["Passfile"] = "PGPASSFILE",
        ["SSL Mode"] = "PGSSLMODE", ["SslMode"] = "PGSSLMODE",
        ["Timeout"] = "PGCONNECT_TIMEOUT",
        ["Application Name"] = "PGAPPNAME", ["ApplicationName"] = "PGAPPNAME",
    };

    public static PostgresConnection Parse(string connectionString)
    {
        var text = connectionString.Trim();
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresConnection(text, new Dictionary<string, string>());
        }

        string? database = null;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliException(ExitCodes.Usage, $"--connection: '{part}' is not key=value (e.g. Host=127.0.0.1;Database=meshos;Username=postgres).");
            }

            var (key, value) = (part[..equals].Trim(), part[(equals + 1)..].Trim());
            if (key.Equals("Database", StringComparison.OrdinalIgnoreCase) || key.Equals("Db", StringComparison.OrdinalIgnoreCase))
            {
                database = value;
            }
            else if (Variables.TryGetValue(key, out var variable))
            {
                environment[variable] = variable == "PGSSLMODE" ? SslMode(value) : value;
            }

            // Other keys (pooling, keepalive, command timeout…) tune Npgsql only; the PostgreSQL tools have no use for them.
        }

        return new PostgresConnection(
            database ?? throw new CliException(ExitCodes.Usage, "--connection: no Database= (the database to back up or restore into)."),
            environment);
    }

    /// <summary>Npgsql's SSL modes (VerifyFull) in libpq's spelling (verify-full).</summary>
    private static string SslMode(string value) => value.ToLowerInvariant() switch
    {
        "verifyca" => "verify-ca",
        "verifyfull" => "verify-full",
        var mode => mode,
    };
}
