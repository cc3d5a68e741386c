using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace MeshOs.Bench.Peer;

/// <summary>The peer's job: does nothing, as MeshOs' benchmark jobs do nothing.</summary>
public static class HangfireJobs
{
    public static void Noop()
    {
    }
}

/// <summary>How the peer is set up; the same in the bench (client) and in the server process.</summary>
public sealed record HangfireSettings(int Workers, bool LongPolling, TimeSpan QueuePollInterval)
{
    /// <summary>
    /// Storage options tuned for throughput as Hangfire.PostgreSql documents them: LISTEN/NOTIFY wakes idle workers
    /// at once (long polling) and a short poll interval covers a missed notification.
    /// </summary>
    public PostgreSqlStorageOptions StorageOptions() => new()
    {
        PrepareSchemaIfNecessary = true,
        EnableLongPolling = LongPolling,
        QueuePollInterval = QueuePollInterval,
    };

    public PostgreSqlStorage Storage(string connectionString)
    {
        var options = StorageOptions();
        return new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options);
    }
}

/// <summary>
/// The Hangfire server as a process of its own (this same executable, command <c>hangfire-server</c>), so that its
/// CPU and memory are measured apart from the producers', as MeshOs' server is.
/// </summary>
public sealed class HangfireServerProcess : IDisposable
{
    private readonly Process _process;

    private HangfireServerProcess(Process process) => _process = process;

    public int ProcessId => _process.Id;

    /// <summary>Starts the server and waits until it reports that it is processing.</summary>
    public static async Task<HangfireServerProcess> StartAsync(string connectionString, HangfireSettings settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(HangfireServerProcess).Assembly.Location);
        start.ArgumentList.Add("hangfire-server");
        start.ArgumentList.Add("--connection");
        start.ArgumentList.Add(connectionString);
        start.ArgumentList.Add("--workers");
        start.ArgumentList.Add(settings.Workers.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add("--long-polling");
        start.ArgumentList.Add(settings.LongPolling ? "true" : "false");
        start.ArgumentList.Add("--poll-ms");
        start.ArgumentList.Add(settings.QueuePollInterval.TotalMilliseconds.ToString(CultureInfo.InvariantCulture));

        // The same GC as a MeshOs silo started by the bench gets.
        start.Environment["DOTNET_GCHeapCount"] = "2";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the Hangfire server process.");
        var server = new HangfireServerProcess(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line == ReadyLine)
            {
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
                return server;
            }
        }

        var error = await process.StandardError.ReadToEndAsync(CancellationToken.None);
        server.Dispose();
        throw new InvalidOperationException("The Hangfire server process ended before it was ready: " + error);
    }

    public const string ReadyLine = "HANGFIRE-SERVER-READY";

    public void Dispose()
    {
        try
        {
            // Closing its input asks for a graceful stop.
            _process.StandardInput.Close();
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    /// <summary>The <c>hangfire-server</c> command: runs a BackgroundJobServer until its standard input closes.</summary>
    public static int Run(string connectionString, HangfireSettings settings)
    {
        var storage = settings.Storage(connectionString);
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = settings.Workers, ServerName = "bench-peer" }, storage))
        {
            Console.WriteLine(ReadyLine);
            while (Console.In.ReadLine() is not null)
            {
            }
        }

        return 0;
    }
}
