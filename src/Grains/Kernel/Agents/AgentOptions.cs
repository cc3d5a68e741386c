using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>Agent liveness and the agent directory. Section <c>MeshOs:Agents</c>.</summary>
public sealed class AgentOptions
{
    public const string Section = "MeshOs:Agents";

    /// <summary>How often agents are asked to heartbeat. Default 5 s.</summary>
    [PositiveTimeSpan]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Missed intervals after which an agent is declared Unresponsive. Default 3.</summary>
    [Range(1, 100)]
    public int MissedHeartbeats { get; set; } = 3;

    /// <summary>
    /// An agent whose stream closed (killed, crashed, network gone) and that has not reconnected this long is
    /// Unresponsive without waiting for <see cref="MissedHeartbeats"/>. Default: one heartbeat interval. Reconnections
    /// (a gateway restart, say) take well under a second, so they do not trip it.
    /// </summary>
    [PositiveTimeSpan(AllowZero = true)]
    public TimeSpan? DisconnectGrace { get; set; }

    /// <summary>An Unresponsive agent that stays silent this long goes Offline. Default 10 min.</summary>
    [PositiveTimeSpan]
    public TimeSpan OfflineAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The agent directory forgets agents Offline this long (listings, /status counts); one that comes back is listed
    /// again when it registers. Default 7 days.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan ForgetOfflineAfter { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Shards of the agent directory (listing and counting). Fixed for a cluster's life. Default 16.</summary>
    [Range(1, 1024)]
    public int DirectoryShards { get; set; } = 16;

    /// <summary>The silence after which an agent is Unresponsive.</summary>
    public TimeSpan UnresponsiveAfter => HeartbeatInterval * MissedHeartbeats;

    public TimeSpan EffectiveDisconnectGrace => DisconnectGrace ?? HeartbeatInterval;
}
