using MeshOs.Bench.Measurement;

namespace MeshOs.Bench.Reporting;

/// <summary>One figure of a run. <see cref="Value"/> is NaN when it could not be measured.</summary>
public sealed record Metric(string Name, string Unit, double Value);

/// <summary>
/// The figures of one run of a scenario, in the order they are printed, plus notes (what was measured how) and
/// free-form details kept in the JSON file only.
/// </summary>
public sealed class RunResult
{
    private readonly List<Metric> _metrics = [];

    public IReadOnlyList<Metric> Metrics => _metrics;

    public List<string> Notes { get; } = [];

    /// <summary>
    /// What the run found wrong (a heartbeat left unanswered, an agent declared Unresponsive, …): printed loudly, and
    /// the command then exits with status 1.
    /// </summary>
    public List<string> Failures { get; } = [];

    public Dictionary<string, object?> Details { get; } = new(StringComparer.Ordinal);

    public void Add(string name, string unit, double value) => _metrics.Add(new Metric(name, unit, value));

    public void Add(string name, double value) => Add(name, string.Empty, value);

    public void AddLatency(string name, LatencySummary latency)
    {
        Add($"{name} samples", latency.Count);
        Add($"{name} p50", "ms", latency.P50);
        Add($"{name} p95", "ms", latency.P95);
        Add($"{name} p99", "ms", latency.P99);
        Add($"{name} max", "ms", latency.Max);
    }

    public void AddCpu(CpuUsage cpu, string serverName = "server")
    {
        Add($"CPU {serverName}", "cores", cpu.Server);
        Add("CPU bench (producers+agents)", "cores", cpu.Bench);
        Add("CPU postgres", "cores", cpu.Postgres);
        Add("CPU machine", "cores", cpu.Machine);
        Add("CPU other processes", "cores", cpu.Other);
    }

    public void AddPostgres(PostgresActivity? activity)
    {
        if (activity is null)
        {
            return;
        }

        Add("pg commits", "/s", activity.CommitsPerSecond);
        Add("pg WAL fsyncs", "/s", activity.WalSyncsPerSecond);
        Add("pg WAL written", "MiB/s", activity.WalMiBPerSecond);
    }

    public double? Find(string name) => _metrics.FirstOrDefault(m => m.Name == name)?.Value;
}
