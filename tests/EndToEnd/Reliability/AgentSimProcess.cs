using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// The simulated fleet as a process of its own (src/AgentSim from the build output), so that a test can SIGKILL every
/// agent at once the way a machine or container dies: their connections go with the process. It prints its figures
/// every second; <see cref="LastStats"/> reads the latest line.
/// </summary>
public sealed partial class AgentSimProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();
    private readonly Process _process;

    private AgentSimProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

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

    /// <summary>The latest figures line the simulator printed (null before the first).</summary>
    public SimStats? LastStats
    {
        get
        {
            var match = StatsLine().Matches(Output).LastOrDefault();
            return match is null ? null : new SimStats(
                int.Parse(match.Groups["connected"].Value, CultureInfo.InvariantCulture),
                int.Parse(match.Groups["inflight"].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups["completed"].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups["refused"].Value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Starts the profile's number of agents (ids <paramref name="idPrefix"/>001…) serving <paramref name="capability"/>.</summary>
    public static AgentSimProcess Start(Uri endpoint, ReliabilityProfile profile, string capability, string idPrefix)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(BuildOutput());
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["Sim:Endpoint"] = endpoint.ToString(),
            ["Sim:EnrollmentToken"] = MeshProcess.EnrollmentToken,
            ["Sim:Count"] = profile.Agents.ToString(CultureInfo.InvariantCulture),
            ["Sim:IdPrefix"] = idPrefix,
            ["Sim:RuntimeId"] = idPrefix + "runtime",
            ["Sim:Capabilities"] = capability,
            ["Sim:Concurrency"] = profile.AgentConcurrency.ToString(CultureInfo.InvariantCulture),
            ["Sim:LatencyMs"] = profile.JobLatencyMs.ToString(CultureInfo.InvariantCulture),
            ["Sim:LatencyJitterMs"] = (profile.JobLatencyMs / 3).ToString(CultureInfo.InvariantCulture),
            ["Sim:ReconnectMinDelay"] = "00:00:00.200",
            ["Sim:ReconnectMaxDelay"] = "00:00:02",
            ["Sim:StatsInterval"] = "00:00:01",
        })
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["DOTNET_GCHeapCount"] = "2";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the agent simulator.");
        process.StandardInput.Close();
        return new AgentSimProcess(process);
    }

    /// <summary>Waits until the simulator reports all <paramref name="count"/> agents connected.</summary>
    public async Task WaitConnectedAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (LastStats?.Connected != count)
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The simulator did not report {count} agents connected (exited: {_process.HasExited}):\n{Tail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: every agent dies at once, mid-job, with its connections.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public string Tail(int lines = 40)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string BuildOutput()
    {
        var configuration = typeof(AgentSimProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(MeshProcess.RepositoryRoot(), "src", "AgentSim", "bin", configuration, "net10.0", "MeshOs.AgentSim.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build the solution (-c {configuration}) first.", dll);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_output.Length > 2_000_000)
            {
                _output.Remove(0, 1_000_000);
            }

            _output.AppendLine(line);
        }
    }

    [GeneratedRegex(@"connected (?<connected>\d+) in-flight (?<inflight>\d+) completed (?<completed>\d+) failed \d+ refused (?<refused>\d+)")]
    private static partial Regex StatsLine();
}

/// <summary>One figures line of the simulator.</summary>
public sealed record SimStats(int Connected, int InFlight, long Completed, long Refused);
