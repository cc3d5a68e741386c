using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using MeshOs.Testing;

namespace MeshOs.Tests.Cli.Support;

/// <summary>What one meshctl run did.</summary>
public sealed record MeshctlRun(string[] Arguments, int ExitCode, string Out, string Error)
{
    /// <summary>stdout as JSON (for <c>-o json</c>).</summary>
    public JsonNode Json => JsonNode.Parse(Out) ?? throw new InvalidOperationException("meshctl printed null");

    public override string ToString() => $"meshctl {string.Join(' ', Arguments)} → exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
}

/// <summary>
/// Runs the real built meshctl (<c>dotnet src/Cli/bin/&lt;configuration&gt;/net10.0/meshctl.dll</c>) as its own process,
/// in an environment of its own: no MESHCTL_* variable of the machine's, and a private home and XDG config folder so no
/// config file of the user running the tests is read.
/// </summary>
public sealed class Meshctl : IDisposable
{
    /// <summary>How long one run may take on a busy machine (a start of the runtime is most of it).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _environment;
    private readonly bool _ownsHome;

    public Meshctl(IReadOnlyDictionary<string, string>? environment = null)
        : this(environment ?? new Dictionary<string, string>(), Directory.CreateTempSubdirectory("meshctl-home-").FullName, ownsHome: true)
    {
    }

    private Meshctl(IReadOnlyDictionary<string, string> environment, string home, bool ownsHome)
    {
        Home = home;
        _ownsHome = ownsHome;
        _environment = new Dictionary<string, string>(environment, StringComparer.Ordinal)
        {
            ["HOME"] = Home,
            ["XDG_CONFIG_HOME"] = Path.Combine(Home, ".config"),
        };
    }

    /// <summary>The private home folder the runs see.</summary>
    public string Home { get; }

    public static string Dll
    {
        get
        {
            var configuration = typeof(Meshctl).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var dll = Path.Combine(MeshProcess.RepositoryRoot(), "src", "Cli", "bin", configuration, "net10.0", "meshctl.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build the solution first.", dll);
        }
    }

    /// <summary>
    /// A meshctl with the same home folder (its config file included) that also sets (or, with an empty value, removes)
    /// these environment variables. The home folder stays this one's to delete.
    /// </summary>
    public Meshctl With(IReadOnlyDictionary<string, string> environment)
    {
        var merged = new Dictionary<string, string>(_environment, StringComparer.Ordinal);
        foreach (var (name, value) in environment)
        {
            merged[name] = value;
        }

        return new Meshctl(merged, Home, ownsHome: false);
    }

    public async Task<MeshctlRun> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(Dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MESHCTL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in _environment)
        {
            if (value.Length == 0)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start meshctl");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"meshctl {string.Join(' ', arguments)} did not exit within {Patience}:\n{await output}\n{await error}");
        }

        return new MeshctlRun(arguments, process.ExitCode, await output, await error);
    }

    public void Dispose()
    {
        if (!_ownsHome)
        {
            return;
        }

        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
