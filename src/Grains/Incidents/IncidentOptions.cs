using MeshOs.Abstractions.Incidents;

namespace MeshOs.Grains.Incidents;

/// <summary>Escalation tiers, per-severity policies and notification targets. Section <c>MeshOs:Incidents</c>.</summary>
public sealed class IncidentOptions
{
    public const string Section = "MeshOs:Incidents";

    /// <summary>
    /// Escalation tiers in order. An unacknowledged incident climbs to the next tier when the current tier's response
    /// time passes. Default, as the runbook: Tier 1 on-call 15 min, Tier 2 engineering lead 30 min, Tier 3 leadership 1 h.
    /// </summary>
    public List<EscalationTier> Tiers { get; set; } = [];

    /// <summary>Per-severity policy (keys P0..P3). Missing severities use <see cref="SeverityPolicy.DefaultFor"/>.</summary>
    public Dictionary<IncidentSeverity, SeverityPolicy> Policies { get; set; } = [];

    /// <summary>Webhooks notified of incident events (JSON, HMAC-SHA256 signed when a secret is set).</summary>
    public List<WebhookTarget> Webhooks { get; set; } = [];

    /// <summary>Delivery attempts per notification before it is given up (logged). Default 6.</summary>
    public int WebhookAttempts { get; set; } = 6;

    /// <summary>First retry delay of a failed webhook delivery, doubling each time. Default 1 s.</summary>
    public TimeSpan WebhookRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Timeout of one webhook request. Default 10 s.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Resolved incidents kept in the directory index for figures and listing. Default 10,000.</summary>
    public int IndexCapacity { get; set; } = 10_000;

    public IReadOnlyList<EscalationTier> EffectiveTiers => Tiers.Count > 0 ? Tiers : EscalationTier.Defaults;

    public SeverityPolicy PolicyFor(IncidentSeverity severity) =>
        Policies.TryGetValue(severity, out var policy) ? policy : SeverityPolicy.DefaultFor(severity);
}

/// <summary>One escalation tier: who is notified and how long they have to acknowledge.</summary>
public sealed class EscalationTier
{
    public static readonly IReadOnlyList<EscalationTier> Defaults =
    [
        new() { Name = "Tier 1 on-call", ResponseTime = TimeSpan.FromMinutes(15) },
        new() { Name = "Tier 2 engineering lead", ResponseTime = TimeSpan.FromMinutes(30) },
        new() { Name = "Tier 3 leadership", ResponseTime = TimeSpan.FromHours(1) },
    ];

    public string Name { get; set; } = string.Empty;

    public TimeSpan ResponseTime { get; set; }
}

/// <summary>How incidents of one severity are escalated.</summary>
public sealed class SeverityPolicy
{
    /// <summary>Whether an unacknowledged incident climbs tiers. Default: yes for P0–P2, no for P3.</summary>
    public bool Escalate { get; set; } = true;

    /// <summary>The tier notified when the incident opens (1-based). Default 1.</summary>
    public int StartTier { get; set; } = 1;

    /// <summary>
    /// How often an acknowledged but unresolved incident is notified again (and an unacknowledged one at the top
    /// tier). Default: P0 15 min, P1 30 min, P2 2 h, P3 never (zero).
    /// </summary>
    public TimeSpan RenotifyInterval { get; set; } = TimeSpan.FromMinutes(30);

    public static SeverityPolicy DefaultFor(IncidentSeverity severity) => severity switch
    {
        IncidentSeverity.P0 => new() { RenotifyInterval = TimeSpan.FromMinutes(15) },
        IncidentSeverity.P1 => new() { RenotifyInterval = TimeSpan.FromMinutes(30) },
        IncidentSeverity.P2 => new() { RenotifyInterval = TimeSpan.FromHours(2) },
        _ => new() { Escalate = false, RenotifyInterval = TimeSpan.Zero },
    };
}

/// <summary>A webhook that receives incident notifications.</summary>
public sealed class WebhookTarget
{
    public string Name { get; set; } = string.Empty;

    public Uri? Url { get; set; }

    /// <summary>HMAC-SHA256 key: each request carries <c>X-MeshOs-Signature: sha256=&lt;hex of HMAC(timestamp + "." + body)&gt;</c>.</summary>
    public string? Secret { get; set; }

    /// <summary>Only incidents this severe or worse are sent (P0 is the most severe). Default P3: all.</summary>
    public IncidentSeverity MinSeverity { get; set; } = IncidentSeverity.P3;

    /// <summary>Only these tiers' notifications are sent (1-based); empty: every tier. Default empty.</summary>
    public List<int> Tiers { get; set; } = [];

    /// <summary>
    /// Whether tenants' budget alerts are sent here too (a threshold below 100% counts as P3 for <see cref="MinSeverity"/>,
    /// the limit reached as P2). Default true.
    /// </summary>
    public bool BudgetAlerts { get; set; } = true;

    /// <summary>Whether maintenance announcements (scheduled and emergency windows, cancellations) are sent here. Default true.</summary>
    public bool MaintenanceNotices { get; set; } = true;
}
