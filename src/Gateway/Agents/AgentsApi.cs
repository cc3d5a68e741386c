using System.ComponentModel;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// The REST adapters of <see cref="AgentsService"/> (/v1/agents: listing and managing agents; operators see all,
/// tenants their own; another's agent is a 404) and of <see cref="AgentProtocolService"/> (/v1/agent: the agent
/// protocol for agents that cannot hold a gRPC stream).
/// </summary>
public static class AgentsApi
{
    /// <summary>Largest request body on /v1/agent (a result is at most MeshOs:Jobs:MaxResultBytes, 1 MiB by default, as JSON text).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>Largest request body on /v1/agents.</summary>
    public const long MaxManagementBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/v1/agents").WithTags("Agents").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .RequireOperatorScope(OperatorScope.IncidentResponder)
            .WithMetadata(new RequestSizeLimitAttribute(MaxManagementBodyBytes)).ProducesAuthenticatedProblems();
        agents.MapGet("/", ListAsync).WithName("ListAgents").WithSummary("Agents in id order (a tenant sees its own and, read-only, every agent that can lease its jobs: granted agents in its pools, agents of the shared pools listed for it).")
            .ProducesProblems(StatusCodes.Status400BadRequest);
        agents.MapGet("/{agentId}", GetAsync).WithName("GetAgent").WithSummary("One agent with its live figures.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        agents.MapPost("/{agentId}/drain", DrainAsync).WithName("DrainAgent").WithSummary("Stop new leases; the agent finishes its jobs and goes Offline.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        agents.MapDelete("/{agentId}", DeregisterAsync).WithName("DeregisterAgent").WithSummary("Take the agent Offline; its leases go back to their queues.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        agents.MapPost("/{agentId}/quarantine", QuarantineAsync).WithName("QuarantineAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("No new leases until released (or, with probationMinutes, until the probation passes). Operator key.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        agents.MapPost("/{agentId}/release", ReleaseQuarantineAsync).WithName("ReleaseAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("Lift a quarantine. Operator key.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);
        agents.MapPost("/{agentId}/restart", RestartAgentAsync).WithName("RestartAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("Restart through the agent's runtime, or with a command down its channel. Operator key.")
            .ProducesBodyProblems().ProducesProblems(StatusCodes.Status404NotFound);

        var protocol = app.MapGroup("/v1/agent").WithTags("Agent protocol").RequireAuthorization(MeshRoles.AgentPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes)).ProducesAuthenticatedProblems().ProducesBodyProblems();
        protocol.MapPost("/register", RegisterAsync).WithName("AgentRegister")
            .WithSummary("Register (or re-register) an agent: 409 when another owner registered the id, 403 while it is quarantined.")
            .ProducesProblems(StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/heartbeat", HeartbeatAsync).WithName("AgentHeartbeat")
            .WithSummary("Heartbeat: renews leases; returns state, revoked leases and commands (a job command names its lease's epoch).")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/lease", LeaseAsync).WithName("AgentLease")
            .WithSummary("Long-poll for up to `slots` jobs (409 unless the agent is Healthy or Degraded).")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/jobs/{jobId}/start", StartAsync).WithName("AgentStartJob")
            .WithSummary("The job started. 409 when the lease is no longer current, or the job already ended (state says how).")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/jobs/{jobId}/complete", CompleteAsync).WithName("AgentCompleteJob")
            .WithSummary("The job's result. A repeat of the accepted result is 204 again; a result after the job ended otherwise is 409 with its state.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/jobs/{jobId}/fail", FailAsync).WithName("AgentFailJob")
            .WithSummary("The attempt failed (retryable or not). 409 as for complete.")
            .ProducesProblems(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        protocol.MapPost("/{agentId}/jobs/{jobId}/release", ReleaseAsync).WithName("AgentReleaseJob")
            .WithSummary("Give the job back unstarted. Releasing a lease no longer held is 204 and changes nothing.")
            .ProducesProblems(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Ok<AgentPageDto>> ListAsync(MeshCaller caller, AgentsService agents,
        [Description("Operators: only this owner's agents (a tenant id, or platform).")] string? owner = null,
        [Description("The nextCursor of the previous page.")] string? cursor = null,
        [Description("Agents per page, 1–1,000; default 100.")] int? limit = null)
    {
        var page = await agents.ListAsync(caller, owner, cursor, limit);
        return TypedResults.Ok(new AgentPageDto([.. page.Agents.Select(AgentDto.From)], page.NextCursor));
    }

    private static async Task<Ok<AgentDto>> GetAsync(string agentId, MeshCaller caller, AgentsService agents) =>
        TypedResults.Ok(AgentDto.From(await agents.GetAsync(caller, agentId)));

    private static async Task<Ok<AgentDto>> DrainAsync(string agentId, [FromBody] ReasonRequest? request, MeshCaller caller, AgentsService agents) =>
        TypedResults.Ok(AgentDto.From(await agents.DrainAsync(caller, agentId, request?.Reason)));

    private static async Task<NoContent> DeregisterAsync(string agentId, MeshCaller caller, AgentsService agents)
    {
        await agents.DeregisterAsync(caller, agentId);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AgentDto>> QuarantineAsync(string agentId, [FromBody] QuarantineRequest? request, MeshCaller caller, AgentsService agents)
    {
        var minutes = request?.ProbationMinutes;
        var probation = minutes switch
        {
            null => (TimeSpan?)null,
            { } m when double.IsFinite(m) && m is >= 0 and <= 43_200 => TimeSpan.FromMinutes(m),
            _ => throw Abstractions.MeshException.Invalid("probationMinutes", "0 to 30 days (43,200 minutes)."),
        };
        return TypedResults.Ok(AgentDto.From(await agents.QuarantineAsync(caller, agentId, request?.Reason, probation)));
    }

    private static async Task<Ok<AgentDto>> ReleaseQuarantineAsync(string agentId, [FromBody] ReasonRequest? request, MeshCaller caller, AgentsService agents) =>
        TypedResults.Ok(AgentDto.From(await agents.ReleaseAsync(caller, agentId, request?.Reason)));

    private static async Task<Ok<RestartResponse>> RestartAgentAsync(string agentId, [FromBody] ReasonRequest? request, MeshCaller caller, AgentsService agents) =>
        TypedResults.Ok(new RestartResponse(agentId, await agents.RestartAsync(caller, agentId, request?.Reason)));

    private static async Task<Ok<RegisterAgentResponse>> RegisterAsync([FromBody] RegisterAgentRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var registration = AgentProtocolService.Registration(caller, request.ToInput());
        var (agent, registered) = await protocol.RegisterAsync(caller, registration, null);
        return TypedResults.Ok(new RegisterAgentResponse(agent.AgentId, agent.Owner, registered.Agent.State,
            registered.HeartbeatInterval.TotalSeconds, registered.LeaseDuration.TotalSeconds));
    }

    private static async Task<Ok<HeartbeatResponse>> HeartbeatAsync(string agentId, [FromBody] HeartbeatRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        var ack = await protocol.HeartbeatAsync(agent, new HeartbeatInput(
            request.Load ?? 0, [.. (request.InFlight ?? []).Select(l => new LeaseRef(l.JobId, l.Epoch))], request.Metrics));
        return TypedResults.Ok(new HeartbeatResponse(ack.State,
            [.. ack.RevokedLeases.Select(l => new LeaseRefDto(l.JobId, l.Epoch))],
            [.. ack.Commands.Select(c => new CommandDto(c.Kind, c.JobId, c.Reason, c.Epoch))]));
    }

    private static async Task<Ok<LeaseResponse>> LeaseAsync(string agentId, [FromBody] LeaseRequest request, MeshCaller caller,
        AgentProtocolService protocol, CancellationToken cancellationToken)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        var grants = await protocol.LeaseAsync(agent, request.Slots ?? 0, request.WaitSeconds, cancellationToken);
        return TypedResults.Ok(new LeaseResponse([.. grants.Select(AssignmentDto.From)]));
    }

    private static async Task<NoContent> StartAsync(string agentId, string jobId, [FromBody] EpochRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        await protocol.StartAsync(agent, JobSubmitter.ParseJobId(jobId), request.Epoch ?? 0);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> CompleteAsync(string agentId, string jobId, [FromBody] CompleteRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        await protocol.CompleteAsync(agent, JobSubmitter.ParseJobId(jobId), request.Epoch ?? 0, request.ToResult());
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> FailAsync(string agentId, string jobId, [FromBody] FailRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        await protocol.CompleteAsync(agent, JobSubmitter.ParseJobId(jobId), request.Epoch ?? 0, request.ToResult());
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> ReleaseAsync(string agentId, string jobId, [FromBody] EpochRequest request, MeshCaller caller, AgentProtocolService protocol)
    {
        var agent = await protocol.OwnedAsync(caller, agentId);
        await protocol.ReleaseAsync(agent, JobSubmitter.ParseJobId(jobId), request.Epoch ?? 0, request.Reason);
        return TypedResults.NoContent();
    }
}
