using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace MeshOs.Testing;

/// <summary>
/// A throwaway PostgreSQL server for tests: its own data folder under the temp folder, its own port on
/// 127.0.0.1, trust authentication, user <c>postgres</c>. Tests create a fresh database each with
/// <see cref="CreateDatabaseAsync"/>, so they never see each other's tables.
/// </summary>
/// <remarks>
/// <para>
/// When the environment variable <c>MESHOS_TEST_POSTGRES</c> holds a connection string, that server is used
/// instead and nothing is started; <see cref="StopAsync"/> and <see cref="StartAsync"/> then throw
/// <see cref="NotSupportedException"/> because the tests do not own it.
/// </para>
/// <para>
/// <c>initdb</c> refuses to run as root, so as root the server programs run as the <c>postgres</c> user
/// (through <c>runuser</c>) on a folder that user owns. Without binaries and without the variable,
/// <see cref="CreateAsync"/> throws: a test that needs PostgreSQL fails, it never skips.
/// </para>
/// </remarks>
public sealed partial class PostgresServer : IAsyncDisposable
{
    /// <summary>Name of the environment variable that points the tests at an existing server.</summary>
    public const string ExternalServerVariable = "MESHOS_TEST_POSTGRES";

    private const string ServerUser = "postgres";
    private const int MaxConnections = 300;
    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(60);

    private readonly PostgresBinaries? _binaries;
    private readonly string? _rootDirectory;
    private readonly bool _runAsServerUser;
    private readonly List<string> _createdDatabases = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    private PostgresServer(string connectionString)
    {
        ConnectionString = connectionString;
    }

    private PostgresServer(PostgresBinaries binaries, string rootDirectory, bool runAsServerUser, int port)
    {
        _binaries = binaries;
        _rootDirectory = rootDirectory;
        _runAsServerUser = runAsServerUser;
        Port = port;
        ConnectionString = BuildConnectionString(port, "postgres");
    }

    /// <summary>Connection string to the <c>postgres</c> database of the server.</summary>
    public string ConnectionString { get; private set; }

    /// <summary>True when the server came from <c>MESHOS_TEST_POSTGRES</c> and is not owned by the tests.</summary>
    public bool IsExternal => _binaries is null;

    /// <summary>TCP port of a private server (stays the same across <see cref="StopAsync"/>/<see cref="StartAsync"/>); 0 when external.</summary>
    public int Port { get; private set; }

    /// <summary>True while a private server is started.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The data folder of a private server; null when external.</summary>
    public string? DataDirectory => _rootDirectory is null ? null : Path.Combine(_rootDirectory, "data");

    private string LogFile => Path.Combine(_rootDirectory!, "postgres.log");

    /// <summary>
    /// Starts a private server (or connects to the one named by <c>MESHOS_TEST_POSTGRES</c>) and returns
    /// once it accepts connections.
    /// </summary>
    /// <exception cref="InvalidOperationException">No PostgreSQL binaries were found and the variable is not set.</exception>
    public static async Task<PostgresServer> CreateAsync(CancellationToken cancellationToken = default)
    {
        var external = Environment.GetEnvironmentVariable(ExternalServerVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            var server = new PostgresServer(external);
            await server.CheckReachableAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }

        var binaries = PostgresBinaries.Find() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH nor under " +
            $"{PostgresBinaries.DebianRoot}/*/bin. Install them (Debian: apt-get install postgresql) or set " +
            $"{ExternalServerVariable} to the connection string of an existing server.");

        var runAsServerUser = IsRoot();
        var rootDirectory = await CreateRootDirectoryAsync(runAsServerUser, cancellationToken).ConfigureAwait(false);
        var created = new PostgresServer(binaries, rootDirectory, runAsServerUser, FreePort.Get());
        try
        {
            await created.InitDbAsync(cancellationToken).ConfigureAwait(false);
            await created.StartWithFreshPortsAsync(cancellationToken).ConfigureAwait(false);
            return created;
        }
        catch
        {
            await created.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates an empty database (named <paramref name="name"/>, or a unique generated name) and returns a
    /// connection string to it.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        name ??= "t_" + Guid.NewGuid().ToString("N");
        if (!DatabaseNamePattern().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain database name (lower case letters, digits, '_').", nameof(name));
        }

        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        lock (_createdDatabases)
        {
            _createdDatabases.Add(name);
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Stops a private server (fast shutdown), keeping its data folder and port for <see cref="StartAsync"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfExternal();
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!IsRunning)
            {
                return;
            }

            await RunAsync(_binaries!.PgCtl, ["stop", "-D", DataDirectory!, "-m", "fast", "-w", "-t", "60"], cancellationToken).ConfigureAwait(false);
            IsRunning = false;
            ClearPools();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts a private server again after <see cref="StopAsync"/>, on the same port with the same data.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfExternal();
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsRunning)
            {
                return;
            }

            await PgCtlStartAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Stops a private server and deletes its folder; on an external server, drops the databases this
    /// instance created.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ClearPools();
        if (IsExternal)
        {
            await DropCreatedDatabasesAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            if (IsRunning)
            {
                // Immediate: the data is thrown away, a shutdown checkpoint would only cost time.
                await RunAsync(_binaries!.PgCtl, ["stop", "-D", DataDirectory!, "-m", "immediate", "-w", "-t", "60"], CancellationToken.None).ConfigureAwait(false);
                IsRunning = false;
            }
        }
        finally
        {
            TryDeleteDirectory(_rootDirectory!);
            _gate.Dispose();
        }
    }

    private async Task InitDbAsync(CancellationToken cancellationToken) =>
        await RunAsync(
            _binaries!.InitDb,
            ["-D", DataDirectory!, "-U", ServerUser, "-A", "trust", "-E", "UTF8", "--locale=C"],
            cancellationToken).ConfigureAwait(false);

    private async Task StartWithFreshPortsAsync(CancellationToken cancellationToken)
    {
        // The port was free when picked; if another process took it meanwhile, pick another.
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await PgCtlStartAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException) when (attempt < attempts && LogMentionsPortInUse())
            {
                Port = FreePort.Get();
                ConnectionString = BuildConnectionString(Port, "postgres");
            }
        }
    }

    private async Task PgCtlStartAsync(CancellationToken cancellationToken)
    {
        var serverOptions = string.Create(
            CultureInfo.InvariantCulture,
            $"-c listen_addresses=127.0.0.1 -p {Port} -k {_rootDirectory} -c max_connections={MaxConnections}");
        await RunAsync(
            _binaries!.PgCtl,
            ["start", "-D", DataDirectory!, "-l", LogFile, "-w", "-t", "60", "-o", serverOptions],
            cancellationToken).ConfigureAwait(false);
        IsRunning = true;
    }

    private bool LogMentionsPortInUse()
    {
        try
        {
            return File.ReadAllText(LogFile).Contains("Address already in use", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Never hand the test host's stdin to a child. (The server itself writes to its log file,
            // given with -l, so it does not hold these pipes open after pg_ctl returns.)
            RedirectStandardInput = true,
        };
        if (_runAsServerUser)
        {
            startInfo.FileName = "runuser";
            foreach (var argument in new[] { "-u", ServerUser, "--", program })
            {
                startInfo.ArgumentList.Add(argument);
            }
        }
        else
        {
            startInfo.FileName = program;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var output = await RunProcessAsync(startInfo, cancellationToken).ConfigureAwait(false);
        if (output.ExitCode != 0)
        {
            var message = new StringBuilder()
                .Append(CultureInfo.InvariantCulture, $"'{Path.GetFileName(program)} {string.Join(' ', arguments)}' exited with code {output.ExitCode}.")
                .AppendLine()
                .AppendLine(output.Text);
            if (_rootDirectory is not null && File.Exists(LogFile))
            {
                message.AppendLine("Server log (end):").AppendLine(Tail(LogFile, 30));
            }

            throw new InvalidOperationException(message.ToString());
        }
    }

    private static async Task<(int ExitCode, string Text)> RunProcessAsync(ProcessStartInfo startInfo, CancellationToken cancellationToken)
    {
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start '{startInfo.FileName}'.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProgramTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }

    private static async Task<string> CreateRootDirectoryAsync(bool runAsServerUser, CancellationToken cancellationToken)
    {
        if (!runAsServerUser)
        {
            return Directory.CreateTempSubdirectory("meshos-pg-").FullName;
        }

        // The postgres user must own the folder (and reach it): create it in /tmp, hand it over.
        var path = Path.Combine("/tmp", "meshos-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        var chown = new ProcessStartInfo("chown") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        chown.ArgumentList.Add($"{ServerUser}:{ServerUser}");
        chown.ArgumentList.Add(path);
        var result = await RunProcessAsync(chown, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            TryDeleteDirectory(path);
            throw new InvalidOperationException($"Could not give {path} to the '{ServerUser}' user (is there one?): {result.Text}");
        }

        return path;
    }

    private async Task CheckReachableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
            throw new InvalidOperationException(
                $"{ExternalServerVariable} points at {builder.Host}:{builder.Port}/{builder.Database}, which cannot be reached: {ex.Message}",
                ex);
        }
    }

    private async Task DropCreatedDatabasesAsync()
    {
        string[] names;
        lock (_createdDatabases)
        {
            names = [.. _createdDatabases];
        }

        if (names.Length == 0)
        {
            return;
        }

        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync().ConfigureAwait(false);
            foreach (var name in names)
            {
                await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
        }
        catch (NpgsqlException)
        {
            // Best effort: leftover test databases on a shared server are harmless.
        }
    }

    private void ClearPools()
    {
        string[] names;
        lock (_createdDatabases)
        {
            names = [.. _createdDatabases];
        }

        foreach (var connectionString in names
                     .Select(name => new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString)
                     .Append(ConnectionString))
        {
            using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }
    }

    private void ThrowIfExternal()
    {
        if (IsExternal)
        {
            throw new NotSupportedException($"The server named by {ExternalServerVariable} is not owned by the tests: it cannot be stopped or started.");
        }
    }

    private static string BuildConnectionString(int port, string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = ServerUser,
            Database = database,
            IncludeErrorDetail = true,

            // Every test has its own database, so its own pool: idle connections of finished tests are closed within
            // seconds instead of Npgsql's 5 minutes. A test that ran many writes at once left ~80 behind, and with
            // several such tests the shared server refused everyone ("too many clients").
            ConnectionIdleLifetime = 2,
            ConnectionPruningInterval = 1,
        }.ConnectionString;

    private static bool IsRoot() =>
        !OperatingSystem.IsWindows() && string.Equals(Environment.UserName, "root", StringComparison.Ordinal);

    private static string Tail(string path, int lines)
    {
        try
        {
            return string.Join(Environment.NewLine, File.ReadLines(path).TakeLast(lines));
        }
        catch (IOException ex)
        {
            return $"(could not read {path}: {ex.Message})";
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail a test run.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseNamePattern();
}
