using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Testing;

namespace MeshOs.Bench.Reporting;

/// <summary>Every run of one command, their medians, and where and how they were measured.</summary>
public sealed class BenchReport(string scenario, IReadOnlyList<string> commandLine)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public string Scenario { get; } = scenario;

    public string CommandLine { get; } = "dotnet run -c Release --project bench/MeshOs.Bench -- " + string.Join(' ', commandLine);

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Described when read, so that it includes the PostgreSQL server a run started.</summary>
    public MachineInfo Machine => MachineInfo.Describe();

    public List<RunResult> Runs { get; } = [];

    public IReadOnlyList<Metric> Medians => Median.Over(Runs);

    /// <summary>Prints one run as it finishes, so a long command shows progress.</summary>
    public static void PrintRun(int number, RunResult run)
    {
        Console.WriteLine();
        Console.WriteLine($"── run {number} ──");
        var width = run.Metrics.Count == 0 ? 10 : run.Metrics.Max(m => m.Name.Length);
        foreach (var metric in run.Metrics)
        {
            Console.WriteLine($"  {metric.Name.PadRight(width)}  {Format(metric.Value),12} {metric.Unit}");
        }

        foreach (var note in run.Notes)
        {
            Console.WriteLine($"  · {note}");
        }

        foreach (var failure in run.Failures)
        {
            Console.WriteLine($"  ✗ FAILED: {failure}");
        }
    }

    /// <summary>The summary table: each metric, each run, the median.</summary>
    public void PrintSummary()
    {
        var medians = Medians;
        var width = Math.Max(6, medians.Count == 0 ? 6 : medians.Max(m => m.Name.Length));
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"═══ {Scenario}: {Runs.Count} run(s) ═══");
        text.AppendLine(CultureInfo.InvariantCulture, $"machine: {Machine}");
        text.Append("metric".PadRight(width)).Append("  ").Append("unit".PadRight(6));
        for (var i = 0; i < Runs.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{"run " + (i + 1),12}");
        }

        text.AppendLine(Runs.Count > 1 ? $"{"median",12}" : string.Empty);
        foreach (var metric in medians)
        {
            text.Append(metric.Name.PadRight(width)).Append("  ").Append(metric.Unit.PadRight(6));
            foreach (var run in Runs)
            {
                text.Append(CultureInfo.InvariantCulture, $"{Format(run.Find(metric.Name) ?? double.NaN),12}");
            }

            text.AppendLine(Runs.Count > 1 ? $"{Format(metric.Value),12}" : string.Empty);
        }

        Console.Write(text.ToString());
    }

    /// <summary>Writes the JSON file (to <paramref name="path"/>, or bench/results/&lt;scenario&gt;-&lt;time&gt;.json) and returns its path.</summary>
    public async Task<string> SaveAsync(string? path)
    {
        path ??= Path.Combine(MeshProcess.RepositoryRoot(), "bench", "results",
            $"{Scenario}-{StartedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var document = new
        {
            Scenario,
            CommandLine,
            StartedAt,
            Machine,
            Medians = Medians.ToDictionary(m => m.Name, m => new { m.Value, m.Unit }),
            Runs = Runs.Select(r => new
            {
                Metrics = r.Metrics.ToDictionary(m => m.Name, m => new { m.Value, m.Unit }),
                r.Notes,
                r.Failures,
                r.Details,
            }),
        };
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(document, Json));
        return path;
    }

    public static string Format(double value) =>
        double.IsNaN(value) ? "–"
        : Math.Abs(value) >= 100 || value == Math.Floor(value) ? value.ToString("#,0", CultureInfo.InvariantCulture)
        : Math.Abs(value) >= 10 ? value.ToString("0.0", CultureInfo.InvariantCulture)
        : value.ToString("0.00", CultureInfo.InvariantCulture);
}
