namespace MeshOs.AgentSdk;

/// <summary>
/// How an agent reaches the mesh and what it declares when it registers. Checked by
/// <see cref="MeshAgentOptionsValidator"/> when a <see cref="MeshAgent"/> is built; the limits mirror the
/// mesh's own so that a bad value fails at start-up rather than as a rejected registration.
/// </summary>
public sealed class MeshAgentOptions
{
    /// <summary>The gateway's gRPC address; <c>http://</c> means HTTP/2 cleartext. Default <c>http://127.0.0.1:8080</c>.</summary>
    public Uri Endpoint { get; set; } = new("http://127.0.0.1:8080");

    /// <summary>
    /// The agent's id, kept across restarts so its leases and history follow it. Required:
    /// 1–128 of letters, digits and <c>- _ . : /</c>.
    /// </summary>
    public string AgentId { get; set; } = string.Empty;

    /// <summary>
    /// The pool the agent serves. Default <c>platform</c>. Agents that authenticate with a tenant's
    /// <see cref="ApiKey"/> must name the tenant's id or a pool under it (<c>tenant/…</c>).
    /// </summary>
    public string Pool { get; set; } = "platform";

    /// <summary>What the agent can do (1–64 names of a-z 0-9 <c>- _ . /</c>); jobs name the capability they need. Required.</summary>
    public IList<string> Capabilities { get; set; } = [];

    /// <summary>How many jobs the agent runs at once (1–10,000). Default 1.</summary>
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>The agent's software version, reported to operators (at most 64 characters). Default empty.</summary>
    public string Version { get; set; } = string.Empty;

    /// <summary>
    /// Where the agent runs (at most 64 characters), reported to operators and the cost optimizer; a tenant that allows
    /// only some regions gets its jobs run only by agents in one of them (the data-residency policy). Default empty.
    /// </summary>
    public string Region { get; set; } = string.Empty;

    /// <summary>
    /// The data classes the agent is certified to handle (e.g. <c>pii</c>, <c>phi</c>; at most 8 names of 1–32 of
    /// a-z 0-9 <c>-</c>): a job tagged with a data class goes only to agents certified for it (the data-classification
    /// policy). Default none.
    /// </summary>
    public IList<string> Certifications { get; set; } = [];

    /// <summary>What an hour of this agent costs (0–1,000,000). Default 0.</summary>
    public double CostPerHour { get; set; }

    /// <summary>
    /// The runtime that started this agent and can restart it when it is dead (it connects over
    /// <c>meshos.v1.RuntimeChannel</c>). Default none: restarts then go to the agent itself as commands.
    /// </summary>
    public string? RuntimeId { get; set; }

    /// <summary>The enrollment token of platform-owned agents (sent as <c>x-enrollment-token</c>). Set this or <see cref="ApiKey"/>.</summary>
    public string? EnrollmentToken { get; set; }

    /// <summary>A tenant's API key, for a tenant's own agents (sent as <c>x-api-key</c>). Set this or <see cref="EnrollmentToken"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The first delay before reconnecting; it doubles on each failed attempt. Default 0.5 s.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between reconnection attempts. Default 30 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection may take to be answered with <c>Registered</c> before it is dropped and retried. Default 10 s.</summary>
    public TimeSpan RegistrationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a graceful close (stop, drain, restart) waits for running handlers and for the mesh to end the
    /// stream before the stream is reset. Default 5 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
