using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace MeshOs.Cli.Backup;

/// <summary>
/// <c>backup</c> and <c>restore</c>: pg_dump, pg_restore and psql run against the MeshOs database (the PostgreSQL
/// hosting mode), not through the API. The connection string is the silo's (<c>ConnectionStrings__MeshOs</c>).
/// </summary>
public sealed class BackupCommands : ICommandGroup
{
    /// <summary>The first bytes of pg_dump's custom format.</summary>
    private static readonly byte[] CustomFormatMagic = "PGDMP"u8.ToArray();

    public IEnumerable<Command> Create()
    {
        yield return Backup();
        yield return Restore();
    }

    private static Option<string> Connection() => new("--connection", "-c")
    {
        Description = "The database: an Npgsql connection string (as ConnectionStrings__MeshOs) or a postgresql:// URI; else MESHCTL_DATABASE.",
    };

    private static Option<string?> PgBin() => new("--pg-bin") { Description = "The folder holding pg_dump, pg_restore and psql (default: PATH)." };

    private static Command Backup()
    {
        var connection = Connection();
        var file = new Option<string?>("--file", "-f") { Description = "Where to write (default: meshos-<UTC time>.dump, or .sql with --format plain)." };
        var format = new Option<string>("--format") { Description = "custom (pg_restore; the default) or plain (SQL for psql).", DefaultValueFactory = _ => "custom" };
        format.AcceptOnlyFromAmong("custom", "plain");
        var bin = PgBin();
        return new Command("backup", "Back up the MeshOs database with pg_dump (a consistent snapshot; the mesh keeps running).")
            .With(connection, file, format, bin)
            .WithAction(async (context, ct) =>
            {
                var database = PostgresConnection.Parse(ConnectionString(context, connection));
                var plain = context.Value(format) == "plain";
                var path = context.Value(file) ?? $"meshos-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.{(plain ? "sql" : "dump")}";
                await RunAsync("pg_dump", context.Value(bin), database,
                    [$"--dbname={database.DbName}", $"--format={(plain ? "plain" : "custom")}", $"--file={path}", "--no-password"], ct);
                context.Error.WriteLine($"Backed up to {path} ({new FileInfo(path).Length:N0} bytes).");
                return ExitCodes.Ok;
            });
    }

    private static Command Restore()
    {
        var connection = Connection();
        var file = new Option<string>("--file", "-f") { Description = "A backup made by meshctl backup (either format).", Required = true };
        var clean = new Option<bool>("--clean") { Description = "Drop the objects the backup holds before recreating them (restoring over an existing database)." };
        var bin = PgBin();
        return new Command("restore", "Restore a backup into a database, in one transaction (stop the silos first).")
            .With(connection, file, clean, bin)
            .WithAction(async (context, ct) =>
            {
                var database = PostgresConnection.Parse(ConnectionString(context, connection));
                var path = context.Value(file);
                if (!File.Exists(path))
                {
                    throw new CliException(ExitCodes.Usage, $"--file: {path} does not exist.");
                }

                var custom = await IsCustomFormatAsync(path, ct);
                List<string> arguments = custom
                    ? [$"--dbname={database.DbName}", "--single-transaction", "--exit-on-error", "--no-owner", "--no-password"]
                    : [$"--dbname={database.DbName}", "--single-transaction", "--set=ON_ERROR_STOP=1", "--quiet", "--no-password", $"--file={path}"];
                if (custom && context.Value(clean))
                {
                    arguments.AddRange(["--clean", "--if-exists"]);
                }
                else if (!custom && context.Value(clean))
                {
                    throw new CliException(ExitCodes.Usage, "--clean: a plain SQL backup restores as written; make it with pg_dump --clean, or use the custom format.");
                }

                if (custom)
                {
                    arguments.Add(path);
                }

                await RunAsync(custom ? "pg_restore" : "psql", context.Value(bin), database, arguments, ct);
                context.Error.WriteLine($"Restored {path} into {database.DbName}.");
                return ExitCodes.Ok;
            });
    }

    private static string ConnectionString(CliContext context, Option<string> option) =>
        context.Value(option) is { Length: > 0 } given ? given
        : Environment.GetEnvironmentVariable("MESHCTL_DATABASE") is { Length: > 0 } variable ? variable
        : throw new CliException(ExitCodes.Usage, "--connection (or MESHCTL_DATABASE) is required: the MeshOs database's connection string.");

    private static async Task<bool> IsCustomFormatAsync(string path, CancellationToken ct)
    {
        await using var stream = File.OpenRead(path);
        var head = new byte[CustomFormatMagic.Length];
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct);
        return read == head.Length && head.AsSpan().SequenceEqual(CustomFormatMagic);
    }

    /// <summary>Runs a PostgreSQL client program with the connection in its environment; its output goes to ours.</summary>
    private static async Task RunAsync(string program, string? pgBin, PostgresConnection database, IEnumerable<string> arguments, CancellationToken ct)
    {
        var executable = Locate(program, pgBin);
        var start = new ProcessStartInfo(executable) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in database.Environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new CliException(ExitCodes.Unavailable, $"could not start {executable}.");
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new CliException(ExitCodes.Unavailable, $"{program} failed (exit code {process.ExitCode}); its messages are above.");
        }
    }

    private static string Locate(string program, string? folder)
    {
        var candidates = folder is not null
            ? [Path.Combine(folder, program)]
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(dir => Path.Combine(dir, program));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new CliException(ExitCodes.Usage, $"{program} not found {(folder is null ? "on PATH" : "in " + folder)}: install the PostgreSQL client programs (Debian: postgresql-client) or pass --pg-bin.");
    }
}
