using MeshOs.Grpc.V1;

namespace MeshOs.AgentSdk;

/// <summary>Why the SDK cancelled a job's handler; decides what, if anything, is reported.</summary>
internal enum StopReason
{
    /// <summary>Not cancelled by the SDK; a cancelled token then means the job's timeout.</summary>
    None,

    /// <summary>The agent is stopping: the job is released for another agent, unless it finished anyway.</summary>
    Shutdown,

    /// <summary>The mesh revoked the lease: nothing is reported.</summary>
    Revoked,

    /// <summary>The mesh cancelled the job: nothing is reported.</summary>
    Cancelled,

    /// <summary>The mesh refused a report (stale epoch): nothing more is reported.</summary>
    Refused,

    /// <summary>The agent was aborted as if it crashed: nothing is reported.</summary>
    Aborted,
}

/// <summary>A job the agent holds: running, or finished with a report the mesh has not yet acknowledged.</summary>
/// <remarks>Mutable state; every field is read and written under the owning agent's lock.</remarks>
internal sealed class HeldJob(AgentJob job, string wireId, CancellationTokenSource cancellation, long stream)
{
    public AgentJob Job { get; } = job;

    /// <summary>The job id exactly as the mesh sent it, echoed in reports.</summary>
    public string WireId { get; } = wireId;

    public CancellationTokenSource Cancellation { get; } = cancellation;

    /// <summary>The current lease's epoch; a re-assignment of the same job raises it.</summary>
    public long Epoch { get; set; } = job.Epoch;

    /// <summary>The stream whose assignment the job holds: only reports of that stream's assignments return a credit.</summary>
    public long Stream { get; set; } = stream;

    /// <summary>True while the handler runs.</summary>
    public bool Running { get; set; } = true;

    /// <summary>Cancelled with no report to come; kept only until the handler returns.</summary>
    public bool Dropped { get; set; }

    public StopReason StopReason { get; set; }

    /// <summary>The result or release to deliver once the handler is done.</summary>
    public AgentMessage? Report { get; set; }

    /// <summary>The report waits for a connection.</summary>
    public bool ReportPending { get; set; }

    /// <summary>Starts, results and releases sent for the current epoch on the current stream.</summary>
    public int Sent { get; set; }

    /// <summary>Accepting acknowledgements received for them.</summary>
    public int Acked { get; set; }
}
