namespace MeshOs.AgentSim;

/// <summary>
/// A simulated fleet: how many agents, how they present themselves and how they behave. Section <c>Sim</c>
/// (command line <c>--Sim:Count=5</c>, environment <c>MESHOS_SIM__COUNT</c> or <c>Sim__Count</c>).
/// Checked by <see cref="SimulationOptionsValidator"/>.
/// </summary>
public sealed class SimulationOptions
{
    public const string Section = "Sim";

    /// <summary>The gateway's gRPC address. Default <c>http://127.0.0.1:8080</c>.</summary>
    public Uri Endpoint { get; set; } = new("http://127.0.0.1:8080");

    /// <summary>How many agents to run. Default 5.</summary>
    public int Count { get; set; } = 5;

    /// <summary>
    /// Agent ids are this prefix and a zero-padded number from 1 (<c>sim-001</c>). <c>{host}</c> in it stands for the
    /// machine's name, so that replicas of one container image do not share ids (<c>sim-{host}-</c>). Default <c>sim-</c>.
    /// </summary>
    public string IdPrefix { get; set; } = "sim-";

    /// <summary>The pool the agents serve. Default <c>platform</c>.</summary>
    public string Pool { get; set; } = "platform";

    /// <summary>Comma-separated capabilities of every agent. Default <c>echo</c>.</summary>
    public string Capabilities { get; set; } = "echo";

    /// <summary>Jobs each agent runs at once. Default 4.</summary>
    public int Concurrency { get; set; } = 4;

    /// <summary>Mean time a job takes, in milliseconds. Default 200.</summary>
    public double LatencyMs { get; set; } = 200;

    /// <summary>A job's time varies uniformly by up to this much either side of the mean, in milliseconds. Default 50.</summary>
    public double LatencyJitterMs { get; set; } = 50;

    /// <summary>Probability that a job fails (a retryable failure result). Default 0.</summary>
    public double FailureRate { get; set; }

    /// <summary>
    /// Probability per job that the agent crashes while running it: the stream is reset, nothing is reported, heartbeats
    /// stop, and the agent comes back as a fresh process after <see cref="RestartDelay"/>. Default 0.
    /// </summary>
    public double CrashRate { get; set; }

    /// <summary>How long a crashed agent stays down before it restarts. Default 5 s.</summary>
    public TimeSpan RestartDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The platform enrollment token. Set this or <see cref="ApiKey"/>.</summary>
    public string? EnrollmentToken { get; set; }

    /// <summary>A tenant's API key, to simulate a tenant's own agents (the pool must then be the tenant's).</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The fleet connects as this runtime (meshos.v1.RuntimeChannel) and restarts its agents when the mesh orders it,
    /// as a process supervisor would. <c>{host}</c> is replaced by the host name. Default <c>sim-{host}</c>; empty:
    /// the fleet does not act as a runtime.
    /// </summary>
    public string RuntimeId { get; set; } = "sim-{host}";

    /// <summary>
    /// Whether the fleet's runtime declares <see cref="Pool"/> scalable: the mesh may then order it to start more agents
    /// like these (scale-up) or stop named ones (scale-down; cost recommendations and autoscale). Default false.
    /// </summary>
    public bool Scalable { get; set; }

    /// <summary>
    /// The version the agents report: dot-separated numbers, so the agent-version policy can order it against
    /// advisories (a version it cannot order is a finding). Default <c>1.0.0</c>.
    /// </summary>
    public string Version { get; set; } = "1.0.0";

    /// <summary>The region the agents report. Default <c>local</c>.</summary>
    public string Region { get; set; } = "local";

    /// <summary>
    /// Comma-separated data classes every agent is certified for (e.g. <c>pii,phi</c>): jobs tagged with a class go
    /// only to agents certified for it. Default none.
    /// </summary>
    public string Certifications { get; set; } = string.Empty;

    /// <summary>What an hour of one agent costs. Default 0.1.</summary>
    public double CostPerHour { get; set; } = 0.1;

    /// <summary>The cost reported per million tokens a job uses. Default 2.</summary>
    public double CostPerMillionTokens { get; set; } = 2;

    /// <summary>The first reconnection delay of each agent. Default 0.5 s.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest reconnection delay of each agent. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the simulator prints its one-line stats. Default 5 s.</summary>
    public TimeSpan StatsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Seeds the agents' random draws, to replay a run. Default none.</summary>
    public int? Seed { get; set; }

    /// <summary>The capabilities as a list.</summary>
    public IReadOnlyList<string> CapabilityList =>
        Capabilities.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The certifications as a list.</summary>
    public IReadOnlyList<string> CertificationList =>
        Certifications.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
