using System.CommandLine;
using System.Globalization;
using MeshOs.Bench.Targets;

namespace MeshOs.Bench.Cli;

/// <summary>Options that several commands share, defined once.</summary>
internal static class CommonOptions
{
    public static readonly Option<int> Repeat = new("--repeat")
    {
        Description = "Independent runs (each with fresh processes and database); every run is reported, then the median.",
        DefaultValueFactory = _ => 1,
    };

    public static readonly Option<double> QuietWait = new("--quiet-wait")
    {
        Description = "Seconds to wait, before each run, for other processes to leave the machine idle (< 0.15 cores busy).",
        DefaultValueFactory = _ => 60,
    };

    public static readonly Option<string?> Out = new("--out")
    {
        Description = "JSON results file (default: bench/results/<scenario>-<time>.json).",
    };

    public static readonly Option<StorageMode> Mode = new("--mode")
    {
        Description = "embedded (in-memory) or postgres (a private PostgreSQL the bench starts).",
        DefaultValueFactory = _ => StorageMode.Postgres,
    };

    public static readonly Option<Uri?> Http = new("--http") { Description = "Drive an existing deployment: its REST base URL (needs --grpc).", CustomParser = ParseUri };

    public static readonly Option<Uri?> Grpc = new("--grpc") { Description = "Drive an existing deployment: its gRPC URL (needs --http).", CustomParser = ParseUri };

    private static Uri? ParseUri(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 0 ? null : result.Tokens[0].Value;
        if (text is null)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return uri;
        }

        result.AddError($"'{text}' is not an absolute URL.");
        return null;
    }

    public static readonly Option<string?> OperatorKey = new("--operator-key") { Description = "Operator key of an existing deployment." };

    public static readonly Option<string?> EnrollmentToken = new("--enrollment-token") { Description = "Agent enrollment token of an existing deployment." };

    public static readonly Option<int?> ServerPid = new("--server-pid") { Description = "Process id of an existing deployment's server on this machine, for its CPU and memory." };

    public static readonly Option<Uri[]> SiloMetrics = new("--silo-metrics")
    {
        Description = "An existing deployment's silo /metrics URL (repeatable), where agents declared Unresponsive are counted; " +
            "default: --http's /metrics, which counts them only when that front is a silo (gateway co-hosted).",
        DefaultValueFactory = _ => [],
        CustomParser = result => [.. result.Tokens.Select(t => Uri.TryCreate(t.Value, UriKind.Absolute, out var uri) ? uri : Invalid(result, t.Value))],
    };

    private static Uri Invalid(System.CommandLine.Parsing.ArgumentResult result, string text)
    {
        result.AddError($"'{text}' is not an absolute URL.");
        return new Uri("http://invalid");
    }

    public static readonly Option<string[]> SiloSettings = new("--silo-setting")
    {
        Description = "A configuration key=value for the silos the bench starts (repeatable), e.g. MeshOs:Jobs:LeaseDuration=00:00:10.",
        DefaultValueFactory = _ => [],
    };

    public static readonly Option<string[]> ServerEnvironment = new("--server-env")
    {
        Description = "An environment variable NAME=value for the silos and gateway the bench starts (repeatable), e.g. DOTNET_gcServer=0. " +
            "By default they run with the GC their runtimeconfig gives (server GC, adaptive heap count).",
        DefaultValueFactory = _ => [],
    };

    public static readonly Option<bool> PgStatements = new("--pg-statements")
    {
        Description = "Load pg_stat_statements into the private PostgreSQL (one restart) and print the statements it spent its time on.",
    };

    public static void AddTarget(Command command, bool withMode = true)
    {
        if (withMode)
        {
            command.Options.Add(Mode);
        }

        command.Options.Add(Http);
        command.Options.Add(Grpc);
        command.Options.Add(OperatorKey);
        command.Options.Add(EnrollmentToken);
        command.Options.Add(ServerPid);
        command.Options.Add(SiloMetrics);
        command.Options.Add(SiloSettings);
        command.Options.Add(ServerEnvironment);
    }

    public static void AddRun(Command command)
    {
        command.Options.Add(Repeat);
        command.Options.Add(QuietWait);
        command.Options.Add(Out);
    }

    public static TargetOptions TargetOf(ParseResult parse, StorageMode? forcedMode = null) => new(
        forcedMode ?? parse.GetValue(Mode),
        parse.GetValue(Http),
        parse.GetValue(Grpc),
        parse.GetValue(OperatorKey),
        parse.GetValue(EnrollmentToken),
        parse.GetValue(ServerPid),
        ParseSettings(parse.GetValue(SiloSettings) ?? [], "--silo-setting"))
    {
        PgStatements = parse.GetResult(PgStatements) is not null && parse.GetValue(PgStatements),
        SiloMetrics = parse.GetResult(SiloMetrics) is null ? [] : parse.GetValue(SiloMetrics) ?? [],
        ServerEnvironment = ParseSettings(parse.GetValue(ServerEnvironment) ?? [], "--server-env"),
    };

    public static double? ParseRate(string text) =>
        string.Equals(text, "max", StringComparison.OrdinalIgnoreCase) ? null
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 ? rate
        : throw new ArgumentException($"--rate: a positive number of jobs per second or 'max', not '{text}'.");

    public static IReadOnlyList<double> ParseList(string text, string option) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0
                ? x
                : throw new ArgumentException($"{option}: '{v}' is not a positive number."))];

    private static Dictionary<string, string> ParseSettings(string[] pairs, string option)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"{option}: 'key=value' expected, not '{pair}'.");
            }

            settings[pair[..eq]] = pair[(eq + 1)..];
        }

        return settings;
    }
}
