using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// How big a fuzz run is and where its randomness starts. CI runs a few hundred cases from a fixed seed, so a red run
/// is reproducible as it stands; <c>MESHOS_FUZZ=full</c> runs many more from a fresh seed; <c>MESHOS_FUZZ_SEED</c>
/// replays any seed a failure printed.
/// </summary>
public sealed record FuzzRun(ulong Seed, int Cases, bool Full)
{
    public const string ModeVariable = "MESHOS_FUZZ";
    public const string SeedVariable = "MESHOS_FUZZ_SEED";

    /// <summary>The seed CI uses unless told otherwise.</summary>
    public const ulong DefaultSeed = 20_260_601;

    public static FuzzRun FromEnvironment(int ciCases, int fullCases)
    {
        var full = string.Equals(Environment.GetEnvironmentVariable(ModeVariable), "full", StringComparison.OrdinalIgnoreCase);
        var seedText = Environment.GetEnvironmentVariable(SeedVariable);
        var seed = ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var given)
            ? given
            : full ? (ulong)Random.Shared.NextInt64(1, int.MaxValue) : DefaultSeed;
        return new FuzzRun(seed, full ? fullCases : ciCases, full);
    }

    public string Replay => $"{SeedVariable}={Seed}{(Full ? $" {ModeVariable}=full" : string.Empty)}";
}

/// <summary>One case that broke the contract, with what was sent and what came back.</summary>
public sealed record Violation(int Case, string Rule, string Request, string Answer);

/// <summary>Collects the violations of a run (from concurrent workers) and turns them into one readable failure.</summary>
public sealed class ViolationLog
{
    private readonly ConcurrentBag<Violation> _violations = [];

    public int Count => _violations.Count;

    public void Add(int @case, string rule, string request, string answer) => _violations.Add(new Violation(@case, rule, request, answer));

    /// <summary>A report grouped by rule: how often each broke and the first few cases of each, in case order.</summary>
    public string Report(string surface, FuzzRun run, int cases)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{surface}: {_violations.Select(v => v.Case).Distinct().Count()} of {cases} cases broke the contract (seed {run.Seed}; replay with {run.Replay}).");
        foreach (var group in _violations.GroupBy(v => v.Rule).OrderByDescending(g => g.Count()).Take(60))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {group.Key} ({group.Count()}x), e.g.:");
            foreach (var v in group.OrderBy(v => v.Case).Take(2))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    #{v.Case} {v.Request}");
                text.AppendLine(CultureInfo.InvariantCulture, $"        -> {v.Answer}");
            }
        }

        return text.ToString();
    }
}

/// <summary>Helpers for describing requests in failure messages without pasting megabytes into them.</summary>
public static class Describe
{
    public static string Clip(string? text, int max = 160)
    {
        if (text is null)
        {
            return "null";
        }

        var flat = text.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return flat.Length <= max ? flat : $"{flat[..max]}… ({text.Length:N0} chars)";
    }

    public static string Clip(byte[] bytes, int max = 160)
    {
        var text = Encoding.UTF8.GetString(bytes);
        return Clip(text, max);
    }
}
