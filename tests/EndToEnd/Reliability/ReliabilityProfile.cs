using System.Globalization;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// How big a run of the reliability scenarios is. The CI size runs with every <c>dotnet test</c> (about half a minute
/// per scenario on two cores); <c>MESHOS_RELIABILITY=full</c> scales the load, the fleet and every phase up.
/// </summary>
/// <param name="Name"><c>ci</c> or <c>full</c>.</param>
/// <param name="SubmitsPerSecond">The steady load: jobs submitted per second over gRPC, each with its own idempotency key.</param>
/// <param name="Submitters">Concurrent submitting loops (a loop waits while its submit is retried).</param>
/// <param name="Agents">Simulated agents of the fleet doing the work.</param>
/// <param name="AgentConcurrency">Jobs each agent runs at once.</param>
/// <param name="JobLatencyMs">Mean run time of a job on a simulated agent (± a third).</param>
/// <param name="Warmup">Load before the fault.</param>
/// <param name="Aftermath">Load after the mesh has recovered, before the submitters stop.</param>
/// <param name="DatabasePause">How long PostgreSQL stays down in the database restart scenario.</param>
/// <param name="AgentDowntime">How long killed agents (or a killed gateway) stay down before they are restarted.</param>
/// <param name="DrainTimeout">Longest wait for every acknowledged job to become terminal.</param>
public sealed record ReliabilityProfile(
    string Name,
    double SubmitsPerSecond,
    int Submitters,
    int Agents,
    int AgentConcurrency,
    double JobLatencyMs,
    TimeSpan Warmup,
    TimeSpan Aftermath,
    TimeSpan DatabasePause,
    TimeSpan AgentDowntime,
    TimeSpan DrainTimeout)
{
    /// <summary>The environment variable that selects the size: unset or <c>ci</c>, or <c>full</c>.</summary>
    public const string Variable = "MESHOS_RELIABILITY";

    public static ReliabilityProfile Ci { get; } = new(
        "ci", SubmitsPerSecond: 25, Submitters: 6, Agents: 6, AgentConcurrency: 4, JobLatencyMs: 150,
        Warmup: TimeSpan.FromSeconds(4), Aftermath: TimeSpan.FromSeconds(4), DatabasePause: TimeSpan.FromSeconds(5),
        AgentDowntime: TimeSpan.FromSeconds(2), DrainTimeout: TimeSpan.FromSeconds(60));

    public static ReliabilityProfile Full { get; } = new(
        "full", SubmitsPerSecond: 150, Submitters: 24, Agents: 30, AgentConcurrency: 4, JobLatencyMs: 300,
        Warmup: TimeSpan.FromSeconds(30), Aftermath: TimeSpan.FromSeconds(30), DatabasePause: TimeSpan.FromSeconds(10),
        AgentDowntime: TimeSpan.FromSeconds(5), DrainTimeout: TimeSpan.FromMinutes(3));

    /// <summary>The size chosen by <see cref="Variable"/>.</summary>
    public static ReliabilityProfile Current { get; } = Environment.GetEnvironmentVariable(Variable)?.Trim().ToLowerInvariant() switch
    {
        null or "" or "ci" => Ci,
        "full" => Full,
        var other => throw new InvalidOperationException($"{Variable}={other}: expected 'ci' (the default) or 'full'."),
    };

    /// <summary>
    /// The mesh's intervals shortened so that every fault is noticed and repaired in seconds: heartbeats every second,
    /// an agent silent for 3 beats is Unresponsive and declared dead 2 s later, 5 s leases, queues reconciled with the
    /// store every 2 s and swept for orphaned leases every second, events pumped every 100 ms. Every client of the
    /// tests calls from 127.0.0.1, so the per-address limit on failed authentications is lifted.
    /// </summary>
    public static IReadOnlyDictionary<string, string> MeshSettings { get; } = new Dictionary<string, string>
    {
        ["MeshOs:Gateway:AuthFailuresPerMinute"] = "100000",
        ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
        ["MeshOs:Healing:DeadAfter"] = "00:00:02",
        ["MeshOs:Healing:TickInterval"] = "00:00:00.500",
        ["MeshOs:Jobs:LeaseDuration"] = "00:00:05",
        ["MeshOs:Jobs:RecoveryGrace"] = "00:00:05",
        ["MeshOs:Dispatch:ReconcileInterval"] = "00:00:02",
        ["MeshOs:Dispatch:ReconcileMinAge"] = "00:00:01",
        ["MeshOs:Dispatch:LeaseSweepInterval"] = "00:00:01",
        ["MeshOs:Events:PumpInterval"] = "00:00:00.100",
    };

    /// <summary><see cref="MeshSettings"/> with <paramref name="extra"/> on top.</summary>
    public static Dictionary<string, string> Settings(IReadOnlyDictionary<string, string>? extra = null)
    {
        var all = new Dictionary<string, string>(MeshSettings);
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        return all;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {SubmitsPerSecond:0} submits/s by {Submitters} loops, {Agents} agents × {AgentConcurrency} at {JobLatencyMs:0} ms, " +
        $"warm-up {Warmup.TotalSeconds:0} s, aftermath {Aftermath.TotalSeconds:0} s");
}
