namespace MeshOs.AgentSdk;

/// <summary>A job the mesh assigned to this agent.</summary>
/// <param name="Epoch">The lease's fencing token; the SDK reports with it, a handler rarely needs it.</param>
/// <param name="TenantId">The tenant that submitted the job.</param>
/// <param name="Type">The job's type, free-form (for example <c>summarize</c>).</param>
/// <param name="Capability">The capability the job asked for; one of the agent's.</param>
/// <param name="PayloadJson">The job's input, as submitted.</param>
/// <param name="Attempt">1 on the first run, more on retries.</param>
/// <param name="Timeout">How long the job may run; the handler's token is cancelled past it. Null: no limit.</param>
public sealed record AgentJob(
    Guid JobId,
    long Epoch,
    string TenantId,
    string Type,
    string Capability,
    string PayloadJson,
    int Attempt,
    TimeSpan? Timeout);
