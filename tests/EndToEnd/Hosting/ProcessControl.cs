using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Hosting;

/// <summary>
/// A MeshOs program (silo, gateway, simulator) started exactly as an operator would start it: its own arguments and
/// environment, nothing added (unlike <see cref="MeshProcess"/>, which pins every port itself). Output is kept.
/// </summary>
public sealed class PlainProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _errors = new();
    private readonly Lock _gate = new();

    public PlainProcess(string project, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var configuration = typeof(MeshProcess).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Debug";
        var dll = Path.Combine(MeshProcess.RepositoryRoot(), "src", project, "bin", configuration, "net10.0", $"MeshOs.{project}.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_GCHeapCount"] = "2";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var name in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "PORT" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_errors, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public string Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for a line of output containing <paramref name="text"/>; fails with the output when it does not come.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The process exited ({_process.ExitCode}) before printing '{text}':\n{Output}\n{Errors}");
            }

            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"No '{text}' within {timeout.TotalSeconds:0} s:\n{Output}\n{Errors}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the process to exit by itself; fails when it does not within <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        _process.WaitForExit(); // the output of an exited process is read to its end
    }

    /// <summary>Sends SIGTERM (what Ctrl+C, docker stop and Kubernetes send) and returns how long the process took to exit.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan patience) => await Signals.TerminateAsync(_process, patience);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(StringBuilder to, string? line)
    {
        if (line is not null)
        {
            lock (_gate)
            {
                to.AppendLine(line);
            }
        }
    }
}

public static class Signals
{
    /// <summary>SIGTERM, then the time to exit; the process is killed (and the test fails) past <paramref name="patience"/>.</summary>
    public static async Task<TimeSpan> TerminateAsync(Process process, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await term!.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The process did not exit within {patience.TotalSeconds:0} s of SIGTERM.");
        }

        process.WaitForExit();
        return clock.Elapsed;
    }
}

/// <summary>Port numbers for the tests that choose ports the way an operator does.</summary>
public static class Ports
{
    /// <summary>True when nothing listens on <paramref name="port"/> of 127.0.0.1 (and so nothing on every interface).</summary>
    public static bool IsFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// A REST port <c>n</c> such that <c>n</c>, <c>n+1</c> and the silo ports <c>--port n</c> moves to (11111 and 30000,
    /// each plus <c>n − 8080</c>) are free a moment ago.
    /// </summary>
    public static int ForWholeSilo()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var n = Random.Shared.Next(20_000, 30_000);
            var offset = n - 8080;
            if (new[] { n, n + 1, 11111 + offset, 30000 + offset }.All(IsFree))
            {
                return n;
            }
        }

        throw new InvalidOperationException("No free set of ports for a whole silo.");
    }

    /// <summary>Two consecutive free ports (REST n, gRPC n+1).</summary>
    public static int Pair()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var n = FreePort.Get();
            if (n < 65000 && IsFree(n + 1))
            {
                return n;
            }
        }

        throw new InvalidOperationException("No two consecutive free ports.");
    }
}
