using System.ComponentModel.DataAnnotations;

namespace MeshOs.Silo.Demo;

/// <summary>The demo fleet of the embedded mode. Section <c>MeshOs:Demo</c>.</summary>
public sealed class DemoOptions
{
    public const string Section = "MeshOs:Demo";

    /// <summary>Run the demo: a tenant, simulated agents and a trickle of jobs. Default: on in the embedded mode only.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The demo tenant's id. Default <c>demo</c>.</summary>
    public string TenantId { get; set; } = "demo";

    /// <summary>Simulated agents. Default 3.</summary>
    [Range(0, 1000)]
    public int Agents { get; set; } = 3;

    /// <summary>Jobs submitted per second. Default 2.</summary>
    [Range(0, 10_000)]
    public double JobsPerSecond { get; set; } = 2;

    /// <summary>Mean time a demo job takes. Default 300 ms.</summary>
    [Range(0, 600_000)]
    public double LatencyMs { get; set; } = 300;
}
