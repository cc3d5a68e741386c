using MeshOs.Testing;

namespace MeshOs.Bench.Targets;

/// <summary>Where MeshOs keeps its state in a deployment the bench starts.</summary>
public enum StorageMode
{
    /// <summary>One silo, in-memory storage and localhost clustering.</summary>
    Embedded,

    /// <summary>Clustering, grain storage, reminders and the job store on a private PostgreSQL the bench starts.</summary>
    Postgres,
}

/// <summary>
/// What to measure: a deployment the bench starts itself (the default), or an existing one named by its URLs.
/// </summary>
public sealed record TargetOptions(
    StorageMode Mode,
    Uri? Http,
    Uri? Grpc,
    string? OperatorKey,
    string? EnrollmentToken,
    int? ServerPid,
    IReadOnlyDictionary<string, string> SiloSettings)
{
    /// <summary>Load pg_stat_statements into the private PostgreSQL and report the top statements.</summary>
    public bool PgStatements { get; init; }

    /// <summary>An existing deployment's silo /metrics URLs (where agent state changes are counted).</summary>
    public IReadOnlyList<Uri> SiloMetrics { get; init; } = [];

    /// <summary>Environment variables for the processes the bench starts, over <see cref="MeshProcess.ProductGc"/>.</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>What the started processes' environment changes: the product's GC, then the command line's variables.</summary>
    public IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var environment = new Dictionary<string, string>(MeshProcess.ProductGc, StringComparer.Ordinal);
        foreach (var (name, value) in ServerEnvironment)
        {
            environment[name] = value;
        }

        return environment;
    }

    public bool IsExternal => Http is not null || Grpc is not null;

    public TargetOptions With(IReadOnlyDictionary<string, string> defaults)
    {
        // The scenario's own settings first; the command line's --silo-setting wins.
        var merged = new Dictionary<string, string>(defaults, StringComparer.Ordinal);
        foreach (var (key, value) in SiloSettings)
        {
            merged[key] = value;
        }

        return this with { SiloSettings = merged };
    }
}
