using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Audit;

/// <summary>The audit log. Section <c>MeshOs:Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "MeshOs:Audit";

    /// <summary>Whether mutations and security decisions are recorded. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The checkpoint key (HMAC-SHA256), at least 32 characters; kept outside the database. Unset with no
    /// <see cref="CheckpointKeyFile"/>: the embedded mode makes an ephemeral key (and warns); the PostgreSQL mode takes
    /// no checkpoints (and warns), so a cut tail is then not detected.
    /// </summary>
    public string? CheckpointKey { get; set; }

    /// <summary>A file whose bytes (at least 32) are the checkpoint key; used when <see cref="CheckpointKey"/> is unset.</summary>
    public string? CheckpointKeyFile { get; set; }

    /// <summary>How often a checkpoint is signed (when entries were added since the last). Default 1 minute.</summary>
    [PositiveTimeSpan]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long entries are kept; whole months are dropped once older. Default 7 years (2,557 days).</summary>
    [PositiveTimeSpan]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(2_557);

    /// <summary>How often retention looks for months to drop. Default 1 hour.</summary>
    [PositiveTimeSpan]
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often the audit writer looks for entries that job changes wrote into the audit inbox and no seal took yet
    /// (PostgreSQL; a silo seals its own job writer's entries at once, this catches another silo's after it stopped).
    /// Default 1 s.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan InboxPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most entries sealed in one transaction (PostgreSQL). Default 2,000.</summary>
    [Range(1, 50_000)]
    public int MaxBatch { get; set; } = 2_000;
}
