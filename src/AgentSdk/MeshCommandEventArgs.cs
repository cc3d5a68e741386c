using MeshOs.Grpc.V1;

namespace MeshOs.AgentSdk;

/// <summary>A command the mesh sent to the agent, raised before the SDK acts on it.</summary>
/// <remarks>
/// Raised on the connection's reading loop: a subscriber must return quickly and must not wait for the agent to stop.
/// Setting <see cref="Handled"/> skips the SDK's own action, for a host that carries out the command itself
/// (the simulator restarts a whole simulated process on <see cref="CommandKind.Restart"/>).
/// </remarks>
public sealed class MeshCommandEventArgs(CommandKind kind, Guid? jobId, string reason, long epoch = 0) : EventArgs
{
    public CommandKind Kind { get; } = kind;

    /// <summary>The job a <see cref="CommandKind.CancelJob"/> is about; null for other commands.</summary>
    public Guid? JobId { get; } = jobId;

    /// <summary>
    /// The lease of <see cref="JobId"/> a <see cref="CommandKind.CancelJob"/> is about: it applies only to the run under
    /// that epoch (0: a mesh that does not say, any run of the job).
    /// </summary>
    public long Epoch { get; } = epoch;

    public string Reason { get; } = reason;

    /// <summary>Set to true to keep the SDK from acting on the command.</summary>
    public bool Handled { get; set; }
}
