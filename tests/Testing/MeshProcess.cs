using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace MeshOs.Testing;

/// <summary>What kind of MeshOs process to start.</summary>
public enum MeshProcessKind
{
    /// <summary>src/Silo: a silo, co-hosting the gateway unless told otherwise.</summary>
    Silo,

    /// <summary>src/Gateway: the standalone gateway, an Orleans client.</summary>
    Gateway,
}

/// <summary>
/// A real MeshOs process (silo or standalone gateway) started from the build output, listening on free ports of
/// 127.0.0.1 only. Its output is kept for diagnostics. <see cref="Kill"/> sends SIGKILL; <see cref="StopAsync"/>
/// asks for a graceful stop (SIGTERM).
/// </summary>
public sealed class MeshProcess : IAsyncDisposable
{
    /// <summary>
    /// The environment that leaves the GC as a deployment has it (the runtimeconfig's server GC, whose heap count
    /// adapts to the load), instead of the test suite's fixed two heaps.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ProductGc { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DOTNET_GCHeapCount"] = "",
    };

    public const string OperatorKey = "op_test_operator_key_0123456789abcdef";
    public const string EnrollmentToken = "et_test_enrollment_token_0123456789abcdef";

    private readonly StringBuilder _output = new();
    private readonly Lock _outputGate = new();
    private readonly Dictionary<string, string> _args;
    private readonly IReadOnlyDictionary<string, string>? _environment;
    private readonly bool _portsChosenHere;
    private Process _process;
    private int _relaunches;

    private MeshProcess(MeshProcessKind kind, Dictionary<string, string> args, IReadOnlyDictionary<string, string>? environment,
        int httpPort, int grpcPort, int siloPort, int gatewayPort, bool portsChosenHere)
    {
        Kind = kind;
        _args = args;
        _environment = environment;
        _portsChosenHere = portsChosenHere;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        _process = Launch();
    }

    public MeshProcessKind Kind { get; }

    public int HttpPort { get; private set; }

    public int GrpcPort { get; private set; }

    /// <summary>The Orleans silo-to-silo port (silos only).</summary>
    public int SiloPort { get; private set; }

    /// <summary>The Orleans client gateway port of a silo (silos only).</summary>
    public int GatewayPort { get; private set; }

    public Uri HttpUrl => new($"http://127.0.0.1:{HttpPort}");

    public Uri GrpcUrl => new($"http://127.0.0.1:{GrpcPort}");

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The CPU time the process has used so far, all its threads: its own work, whatever else the machine runs.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The exit code, once the process has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_outputGate)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts a silo. Without a connection string it runs the embedded mode (in-memory, localhost clustering);
    /// with one, it joins the PostgreSQL cluster named by <paramref name="clusterId"/>.
    /// </summary>
    public static MeshProcess StartSilo(string? connectionString = null, string clusterId = "meshos-test",
        IReadOnlyDictionary<string, string>? settings = null, bool coHostGateway = true, int? siloPort = null, int? gatewayPort = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var ports = (http: FreePort.Get(), grpc: FreePort.Get(), silo: siloPort ?? FreePort.Get(), gateway: gatewayPort ?? FreePort.Get());
        var args = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["MeshOs:Silo:SiloPort"] = ports.silo.ToString(CultureInfo.InvariantCulture),
            ["MeshOs:Silo:GatewayPort"] = ports.gateway.ToString(CultureInfo.InvariantCulture),
            ["MeshOs:Silo:AdvertisedIP"] = "127.0.0.1",
            ["MeshOs:Silo:CoHostGateway"] = coHostGateway ? "true" : "false",
            ["MeshOs:ClusterId"] = clusterId,
            ["MeshOs:Demo:Enabled"] = "false",
        };
        if (connectionString is not null)
        {
            args["ConnectionStrings:MeshOs"] = connectionString;
        }

        return Start(MeshProcessKind.Silo, ports.http, ports.grpc, ports.silo, ports.gateway, args, settings, environment,
            portsChosenHere: siloPort is null && gatewayPort is null);
    }

    /// <summary>Starts a standalone gateway: a client of the PostgreSQL cluster, or of a local silo's gateway port.</summary>
    public static MeshProcess StartGateway(string? connectionString = null, string clusterId = "meshos-test", int? localGatewayPort = null,
        IReadOnlyDictionary<string, string>? settings = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (http, grpc) = (FreePort.Get(), FreePort.Get());
        var args = new Dictionary<string, string>(StringComparer.Ordinal) { ["MeshOs:ClusterId"] = clusterId };
        if (connectionString is not null)
        {
            args["ConnectionStrings:MeshOs"] = connectionString;
        }

        if (localGatewayPort is { } port)
        {
            args["MeshOs:Client:LocalGatewayPort"] = port.ToString(CultureInfo.InvariantCulture);
        }

        return Start(MeshProcessKind.Gateway, http, grpc, 0, 0, args, settings, environment, portsChosenHere: true);
    }

    /// <summary>
    /// How long a start may take before it counts as failed: generous, since a process starts as fast as the machine lets
    /// it (a silo on a 2-core machine busy with the rest of the suite took over a minute), and reached only when the
    /// process never gets ready.
    /// </summary>
    public static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(180);

    /// <summary>Waits until /health/ready answers 200; throws with the process output when it does not in time.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + (timeout ?? StartPatience);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                // Another process took one of the free ports between our probe and the bind: start again on new ones.
                if (_portsChosenHere && _relaunches < 3 && Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    _relaunches++;
                    Relaunch();
                    continue;
                }

                throw new InvalidOperationException($"The {Kind} process exited with code {_process.ExitCode} before it was ready:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(HttpUrl, "/health/ready"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The {Kind} process was not ready within {timeout ?? StartPatience}:\n{Tail()}");
    }

    /// <summary>SIGKILL: the process dies at once, without any shutdown work.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM and wait for the graceful shutdown; SIGKILL if it takes longer than <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await term!.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>
    /// Waits until the process has exited on its own and everything it printed has been read (its output is read
    /// asynchronously: <see cref="HasExited"/> can be true before the last lines arrive). False after
    /// <paramref name="timeout"/> with the process still running.
    /// </summary>
    public async Task<bool> ExitedAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The lines the process logged at error or critical level (with the single-line console format, each with its exception).</summary>
    public string Errors() => string.Join('\n', Output.Split('\n').Where(line => line.Contains("fail:", StringComparison.Ordinal) || line.Contains("crit:", StringComparison.Ordinal)));

    /// <summary>The last lines the process printed.</summary>
    public string Tail(int lines = 80)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Task.CompletedTask;
        _process.Dispose();
    }

    private static MeshProcess Start(MeshProcessKind kind, int http, int grpc, int silo, int gateway,
        Dictionary<string, string> args, IReadOnlyDictionary<string, string>? settings, IReadOnlyDictionary<string, string>? environment = null,
        bool portsChosenHere = true)
    {
        args["MeshOs:Gateway:OperatorKey"] = OperatorKey;
        args["MeshOs:Gateway:EnrollmentToken"] = EnrollmentToken;
        args["Logging:Console:FormatterOptions:SingleLine"] = "true";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            args[key] = value;
        }

        return new MeshProcess(kind, args, environment, http, grpc, silo, gateway, portsChosenHere);
    }

    private void Relaunch()
    {
        _process.Dispose();
        lock (_outputGate)
        {
            _output.AppendLine("---- relaunched on new ports (address already in use) ----");
        }

        HttpPort = FreePort.Get();
        GrpcPort = FreePort.Get();
        if (Kind == MeshProcessKind.Silo)
        {
            SiloPort = FreePort.Get();
            GatewayPort = FreePort.Get();
            _args["MeshOs:Silo:SiloPort"] = SiloPort.ToString(CultureInfo.InvariantCulture);
            _args["MeshOs:Silo:GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture);
        }

        _process = Launch();
    }

    private Process Launch()
    {
        _args["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{HttpPort}";
        _args["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{GrpcPort}";
        var dll = BuildOutput(Kind);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var (key, value) in _args)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        // Each test process gets a modest GC: several run side by side on two cores. (The benchmark clears this with
        // ProductGc: it measures the GC a deployment runs with.)
        start.Environment["DOTNET_GCHeapCount"] = "2";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in _environment ?? new Dictionary<string, string>())
        {
            if (value.Length == 0)
            {
                start.Environment.Remove(name); // an empty value removes the variable
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {dll}.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The built MeshOs.Silo.dll or MeshOs.Gateway.dll of the same configuration as the running tests.</summary>
    public static string BuildOutput(MeshProcessKind kind)
    {
        var project = kind == MeshProcessKind.Silo ? "Silo" : "Gateway";
        var configuration = typeof(MeshProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryRoot(), "src", project, "bin", configuration, "net10.0", $"MeshOs.{project}.dll");
        return File.Exists(dll)
            ? dll
            : throw new FileNotFoundException($"{dll} is missing: build the solution (dotnet build MeshOs.sln -c {configuration}) first.", dll);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MeshOs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("MeshOs.sln not found above " + AppContext.BaseDirectory);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputGate)
        {
            if (_output.Length > 4_000_000)
            {
                _output.Remove(0, 1_000_000);
            }

            _output.AppendLine(line);
        }
    }
}
