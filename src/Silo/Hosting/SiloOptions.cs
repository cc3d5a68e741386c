using System.ComponentModel.DataAnnotations;

namespace MeshOs.Silo.Hosting;

/// <summary>Where this silo listens and how the cluster detects dead silos. Section <c>MeshOs:Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "MeshOs:Silo";

    /// <summary>Silo-to-silo port. Default 11111; give each silo on one host its own.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port Orleans clients (standalone gateways) connect to. Default 30000; 0 disables it.</summary>
    [Range(0, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address other silos and clients use to reach this one. Default: 127.0.0.1 in the embedded mode, the
    /// host's first non-loopback IPv4 address otherwise.
    /// </summary>
    public string? AdvertisedIP { get; set; }

    /// <summary>A name for this silo in the dashboard and /status. Default: host name and port.</summary>
    public string? Name { get; set; }

    /// <summary>Whether this silo also serves the REST/gRPC gateway. Default true.</summary>
    public bool CoHostGateway { get; set; } = true;

    /// <summary>
    /// Grain locations this silo caches (Orleans' LRU directory cache). Default 20,000 (Orleans: 1,000,000). Every job
    /// is a grain of its own, so at Orleans' default the cache fills with the locations of finished jobs (about a
    /// million entries, ~100 MB, after a few minutes at full load), and the dashboard's once-a-second metrics walk all
    /// of it: 3 % of a silo's CPU at 1,900 jobs/s with 113,000 entries. What is worth caching is the live grains
    /// called from other silos (agents, queues, tenants, running jobs); a miss costs one directory lookup.
    /// </summary>
    [Range(0, 10_000_000)]
    public int DirectoryCacheSize { get; set; } = 20_000;
}

/// <summary>
/// Failure detection, section <c>MeshOs:Membership</c>. The defaults declare a SIGKILLed silo dead in about 4–5 s
/// on a quiet network; Orleans' own defaults take about 17 s.
/// </summary>
public sealed class MembershipOptions
{
    public const string Section = "MeshOs:Membership";

    /// <summary>How long one probe of a silo may take. Default 2 s (Orleans: 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Missed probes before a silo suspects another. Default 2 (Orleans: 3).</summary>
    [Range(1, 10)]
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>Suspicions needed to declare a silo dead. Default 1 (Orleans: 2); capped by the live silo count.</summary>
    [Range(1, 10)]
    public int NumVotesForDeathDeclaration { get; set; } = 1;

    /// <summary>How often each silo re-reads the membership table. Default 5 s (Orleans: 60 s).</summary>
    public TimeSpan TableRefreshTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a silo writes its I-am-alive time. Default 10 s (Orleans: 30 s).</summary>
    public TimeSpan IAmAliveTablePublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Dead silos older than this are deleted from the table. Default 1 day (Orleans: 7 days).</summary>
    public TimeSpan DefunctSiloExpiration { get; set; } = TimeSpan.FromDays(1);
}
