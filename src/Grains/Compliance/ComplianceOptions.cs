using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Compliance;

/// <summary>The compliance auditor. Section <c>MeshOs:Compliance</c>.</summary>
public sealed class ComplianceOptions
{
    public const string Section = "MeshOs:Compliance";

    /// <summary>Whether the auditor scans periodically. Policies are enforced either way. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the full scan runs (agents' versions against the advisories, operator keys' hygiene). Default 5 minutes.</summary>
    [PositiveTimeSpan]
    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The first scan after the auditor starts. Default 10 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan FirstScanDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>One point of score history per scope at most this often. Default 1 hour.</summary>
    [PositiveTimeSpan]
    public TimeSpan ScoreHistoryInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long score history is kept. Default 90 days (a quarter, for the quarterly review).</summary>
    [PositiveTimeSpan]
    public TimeSpan ScoreHistoryRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How long a resolved finding (and its history) is kept after it resolved. Default 90 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan ResolvedFindingRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>
    /// A check reported from the job path (residency, classification at lease; MFA at the operator gate) that is not
    /// made again for this long leaves the score, and its finding resolves as no longer observed. Default 24 hours.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan ReportedCheckLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Findings kept at most; past it the oldest resolved go first. Default 50,000.</summary>
    [Range(100, 1_000_000)]
    public int MaxFindings { get; set; } = 50_000;
}
