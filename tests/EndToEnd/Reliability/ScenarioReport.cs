using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// The figures of one scenario run: a time-stamped log to the test output while it runs, and at the end one summary
/// (acknowledged, completed, lost, double terminal results, duplicated executions, recovery times) written to the
/// test output and to <c>reliability/&lt;profile&gt;-&lt;scenario&gt;.md</c> under the test assembly's folder, from
/// which RELIABILITY.md's figures are taken.
/// </summary>
public sealed class ScenarioReport(string scenario, ReliabilityProfile profile, ITestOutputHelper output)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Name, string Value)> _figures = [];

    public string Scenario { get; } = scenario;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>One line of the running log, prefixed with the seconds since the scenario began.</summary>
    public void Log(string line) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:0.0} s  {line}"));

    /// <summary>Adds a figure to the summary.</summary>
    public void Figure(string name, string value) => _figures.Add((name, value));

    public void Figure(string name, TimeSpan? value) =>
        Figure(name, value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.TotalSeconds:0.0} s") : "n/a");

    /// <summary>The figures every scenario reports, from the load and the audit.</summary>
    public void Outcome(SteadyLoad load, AuditResult audit, string? duplicatedNote = null)
    {
        var failed = load.Tries.Count(t => !t.Acknowledged);
        Figure("submits", $"{load.Issued} issued, {audit.Acknowledged} acknowledged, {failed} failed tries (retried with the same key)");
        Figure("completed", $"{audit.Succeeded} Succeeded of {audit.Acknowledged} acknowledged");
        Figure("lost", $"{audit.Lost} ({audit.Missing.Count} missing, {audit.NotSucceeded.Count} not Succeeded)");
        Figure("double terminal", $"{audit.DoubleTerminal} (jobs with more than one terminal JobAttemptEnded event; {audit.WithoutTerminalEvent.Count} with none)");
        Figure("duplicated executions", $"{audit.Rerun} job(s) run more than once; {audit.ExtraAttempts} extra attempt(s): {audit.ExtraOutcomes}"
            + (duplicatedNote is null ? string.Empty : "; " + duplicatedNote));
        Figure("stored, never acknowledged", audit.StoredUnacknowledged.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Writes the summary to the test output and to the results file.</summary>
    public void Write()
    {
        Figure("scenario time", _clock.Elapsed);
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {Scenario} ({profile.Name}, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Profile: {profile}")
            .AppendLine();
        foreach (var (name, value) in _figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- **{name}**: {value}");
        }

        output.WriteLine(string.Empty);
        output.WriteLine(text.ToString());
        try
        {
            var folder = Path.Combine(AppContext.BaseDirectory, "reliability");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, $"{profile.Name}-{Scenario}.md"), text.ToString());
        }
        catch (IOException)
        {
            // The figures are in the test output as well.
        }
    }
}
