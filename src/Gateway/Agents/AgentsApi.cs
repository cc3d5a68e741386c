using System.Security.Claims;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// /v1/agents: listing and managing agents (operators see all, tenants their own; another's agent is a 404), and
/// /v1/agent: the REST form of the agent protocol for agents that cannot hold a gRPC stream.
/// </summary>
public static class AgentsApi
{
    /// <summary>Largest request body on /v1/agents and /v1/agent (a result is at most MeshOs:Jobs:MaxResultBytes, 1 MiB by default, as JSON text).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapAgentsApi(this IEndpointRouteBuilder app)
    {
        var agents = app.MapGroup("/v1/agents").WithTags("Agents").RequireAuthorization(MeshRoles.OperatorOrTenantPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(64 * 1024));
        agents.MapGet("/", ListAsync).WithName("ListAgents").WithSummary("Agents in id order (a tenant sees its own, and read-only every agent in its own pools).");
        agents.MapGet("/{agentId}", GetAsync).WithName("GetAgent").WithSummary("One agent with its live figures.");
        agents.MapPost("/{agentId}/drain", DrainAsync).WithName("DrainAgent").WithSummary("Stop new leases; the agent finishes its jobs and goes Offline.");
        agents.MapDelete("/{agentId}", DeregisterAsync).WithName("DeregisterAgent").WithSummary("Take the agent Offline; its leases go back to their queues.");
        agents.MapPost("/{agentId}/quarantine", QuarantineAsync).WithName("QuarantineAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("No new leases until released (or, with probationMinutes, until the probation passes).");
        agents.MapPost("/{agentId}/release", ReleaseQuarantineAsync).WithName("ReleaseAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("Lift a quarantine.");
        agents.MapPost("/{agentId}/restart", RestartAgentAsync).WithName("RestartAgent").RequireAuthorization(MeshRoles.OperatorPolicy)
            .WithSummary("Restart through the agent's runtime, or with a command down its channel.");

        var protocol = app.MapGroup("/v1/agent").WithTags("Agent protocol").RequireAuthorization(MeshRoles.AgentPolicy)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
        protocol.MapPost("/register", RegisterAsync).WithName("AgentRegister").WithSummary("Register (or re-register) an agent.");
        protocol.MapPost("/{agentId}/heartbeat", HeartbeatAsync).WithName("AgentHeartbeat").WithSummary("Heartbeat: renews leases; returns state, revoked leases and commands.");
        protocol.MapPost("/{agentId}/lease", LeaseAsync).WithName("AgentLease").WithSummary("Long-poll for up to `slots` jobs.");
        protocol.MapPost("/{agentId}/jobs/{jobId}/start", StartAsync).WithName("AgentStartJob");
        protocol.MapPost("/{agentId}/jobs/{jobId}/complete", CompleteAsync).WithName("AgentCompleteJob");
        protocol.MapPost("/{agentId}/jobs/{jobId}/fail", FailAsync).WithName("AgentFailJob");
        protocol.MapPost("/{agentId}/jobs/{jobId}/release", ReleaseAsync).WithName("AgentReleaseJob");
        return app;
    }

    private static async Task<Ok<AgentPageDto>> ListAsync(ClaimsPrincipal user, AgentDirectoryReader directory, string? owner = null, string? cursor = null, int? limit = null)
    {
        var size = limit ?? 100;
        if (size is < 1 or > 1_000)
        {
            throw MeshException.Invalid("limit: 1–1,000.");
        }

        var page = await directory.ListAsync(AgentVisibility.ListFilter(user, owner), cursor, size);
        return TypedResults.Ok(new AgentPageDto([.. page.Select(AgentDto.From)], page.Count == size ? page[^1].AgentId : null));
    }

    private static async Task<Ok<AgentDto>> GetAsync(string agentId, ClaimsPrincipal user, IGrainFactory grains) =>
        TypedResults.Ok(AgentDto.From(await AgentVisibility.ReadableAsync(agentId, user, grains)));

    private static async Task<Ok<AgentDto>> DrainAsync(string agentId, [FromBody] DrainAgentRequest? request, ClaimsPrincipal user, IGrainFactory grains)
    {
        await VisibleAgentAsync(agentId, user.IsOperator() ? null : user.TenantId(), grains);
        var info = await grains.GetGrain<IAgentGrain>(agentId).DrainAsync(Inputs.Reason(request?.Reason, user.IsOperator() ? "drained by an operator" : "drained by its owner"));
        return TypedResults.Ok(AgentDto.From(info));
    }

    private static async Task<NoContent> DeregisterAsync(string agentId, ClaimsPrincipal user, IGrainFactory grains)
    {
        await VisibleAgentAsync(agentId, user.IsOperator() ? null : user.TenantId(), grains);
        await grains.GetGrain<IAgentGrain>(agentId).DeregisterAsync(user.IsOperator() ? "deregistered by an operator" : "deregistered by its owner");
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AgentDto>> QuarantineAsync(string agentId, [FromBody] Incidents.QuarantineRequest? request, IGrainFactory grains)
    {
        await VisibleAgentAsync(agentId, null, grains);
        var minutes = request?.ProbationMinutes;
        if (minutes is { } m && (!double.IsFinite(m) || m < 0 || m > 60 * 24 * 30))
        {
            throw MeshException.Invalid("probationMinutes: 0–43,200.");
        }

        var info = await grains.GetGrain<IAgentGrain>(agentId).QuarantineAsync(Inputs.Reason(request?.Reason, "quarantined by an operator"),
            minutes is > 0 ? TimeSpan.FromMinutes(minutes.Value) : null);
        return TypedResults.Ok(AgentDto.From(info));
    }

    private static async Task<Ok<AgentDto>> ReleaseQuarantineAsync(string agentId, [FromBody] Incidents.ReasonRequest? request, IGrainFactory grains)
    {
        await VisibleAgentAsync(agentId, null, grains);
        return TypedResults.Ok(AgentDto.From(await grains.GetGrain<IAgentGrain>(agentId).ReleaseAsync(Inputs.Reason(request?.Reason, "released by an operator"))));
    }

    private static async Task<Ok<Incidents.RestartResponse>> RestartAgentAsync(string agentId, [FromBody] Incidents.ReasonRequest? request, IGrainFactory grains)
    {
        await VisibleAgentAsync(agentId, null, grains);
        var path = await grains.GetGrain<IAgentGrain>(agentId).RestartAsync(Inputs.Reason(request?.Reason, "restarted by an operator"));
        return TypedResults.Ok(new Incidents.RestartResponse(agentId, path));
    }

    private static async Task<Ok<RegisterAgentResponse>> RegisterAsync([FromBody] RegisterAgentRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        var owner = user.AgentOwner()!;
        var registration = AgentInputs.Registration(owner, request.AgentId, request.Pool, request.Capabilities, request.MaxConcurrency,
            request.Version, request.Region, request.CostPerHour, request.RuntimeId);
        var registered = await grains.GetGrain<IAgentGrain>(registration.AgentId).RegisterAsync(registration, null);
        return TypedResults.Ok(new RegisterAgentResponse(registration.AgentId, owner, registered.Agent.State,
            registered.HeartbeatInterval.TotalSeconds, registered.LeaseDuration.TotalSeconds));
    }

    private static async Task<Ok<HeartbeatResponse>> HeartbeatAsync(string agentId, [FromBody] HeartbeatRequest request, ClaimsPrincipal user, IGrainFactory grains)
    {
        await OwnedAgentAsync(agentId, user, grains);
        var ack = await grains.GetGrain<IAgentGrain>(agentId).HeartbeatAsync(new AgentHeartbeat(
            AgentInputs.Load(request.Load),
            [.. (request.InFlight ?? []).Select(l => new LeaseRef(l.JobId, l.Epoch))],
            AgentInputs.Metrics(request.Metrics)));
        return TypedResults.Ok(new HeartbeatResponse(ack.State,
            [.. ack.RevokedLeases.Select(l => new LeaseRefDto(l.JobId, l.Epoch))],
            [.. ack.Commands.Select(c => new CommandDto(c.Kind, c.JobId, c.Reason))]));
    }

    private static async Task<Ok<LeaseResponse>> LeaseAsync(string agentId, [FromBody] LeaseRequest request, ClaimsPrincipal user,
        IGrainFactory grains, DispatchHub hub, CancellationToken cancellationToken)
    {
        var agent = await OwnedAgentAsync(agentId, user, grains);
        if (request.Slots < 1 || request.Slots > agent.Registration.MaxConcurrency)
        {
            throw MeshException.Invalid($"slots: 1–{agent.Registration.MaxConcurrency} (the agent's maxConcurrency).");
        }

        var wait = request.WaitSeconds ?? 20;
        if (!double.IsFinite(wait) || wait < 0 || wait > 60)
        {
            throw MeshException.Invalid("waitSeconds: 0–60.");
        }

        if (!AgentStates.IsLeasable(agent.State))
        {
            throw MeshException.Precondition($"The agent is {agent.State}; it gets no new leases.");
        }

        var session = new PollAgentSession(agent.Registration, agent.State);
        hub.Attach(session);
        hub.SetCredits(session, request.Slots);
        IReadOnlyList<LeaseGrant> grants;
        try
        {
            grants = await session.CollectAsync(TimeSpan.FromSeconds(wait), cancellationToken);
        }
        finally
        {
            hub.Detach(session);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // The caller is gone: hand the jobs straight back instead of letting their leases run out.
            foreach (var grant in grants)
            {
                grains.GetJobGrain(grant.JobId).ReleaseAsync(agentId, grant.Epoch, "the agent's lease request was abandoned").Ignore();
            }
        }

        return TypedResults.Ok(new LeaseResponse([.. grants.Select(AssignmentDto.From)]));
    }

    private static async Task<NoContent> StartAsync(string agentId, string jobId, [FromBody] EpochRequest request, ClaimsPrincipal user, IGrainFactory grains, AgentReporter reporter)
    {
        var agent = await OwnedAgentAsync(agentId, user, grains);
        await reporter.StartAsync(agent.Registration.Owner, agentId, Jobs.JobSubmitter.ParseJobId(jobId), Epoch(request.Epoch));
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> CompleteAsync(string agentId, string jobId, [FromBody] CompleteRequest request, ClaimsPrincipal user, IGrainFactory grains, AgentReporter reporter)
    {
        var agent = await OwnedAgentAsync(agentId, user, grains);
        var usage = Usage(request.TokensIn, request.TokensOut, request.Cost);
        await reporter.CompleteAsync(agent.Registration.Owner, agentId, Jobs.JobSubmitter.ParseJobId(jobId), Epoch(request.Epoch),
            new JobResult(true, Inputs.JsonText(request.Result, "result"), null, false, usage));
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> FailAsync(string agentId, string jobId, [FromBody] FailRequest request, ClaimsPrincipal user, IGrainFactory grains, AgentReporter reporter)
    {
        var agent = await OwnedAgentAsync(agentId, user, grains);
        if (request.Error is { Length: > 10_000 })
        {
            throw MeshException.Invalid("error: at most 10,000 characters.");
        }

        var usage = Usage(request.TokensIn, request.TokensOut, request.Cost);
        await reporter.CompleteAsync(agent.Registration.Owner, agentId, Jobs.JobSubmitter.ParseJobId(jobId), Epoch(request.Epoch),
            new JobResult(false, null, string.IsNullOrEmpty(request.Error) ? "failed" : request.Error, request.Retryable, usage));
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> ReleaseAsync(string agentId, string jobId, [FromBody] EpochRequest request, ClaimsPrincipal user, IGrainFactory grains, AgentReporter reporter)
    {
        var agent = await OwnedAgentAsync(agentId, user, grains);
        await reporter.ReleaseAsync(agent.Registration.Owner, agentId, Jobs.JobSubmitter.ParseJobId(jobId), Epoch(request.Epoch), Inputs.Reason(request.Reason, "released by the agent"));
        return TypedResults.NoContent();
    }

    private static JobUsage Usage(long tokensIn, long tokensOut, decimal cost) =>
        tokensIn < 0 || tokensOut < 0 || cost < 0 ? throw MeshException.Invalid("usage: tokens and cost must be non-negative.") : new JobUsage(tokensIn, tokensOut, cost);

    /// <summary>A lease epoch as granted: epochs start at 1.</summary>
    private static long Epoch(long epoch) => epoch >= 1 ? epoch : throw MeshException.Invalid("epoch: the lease's epoch (1 or more).");

    /// <summary>The agent when the caller may see it (an operator: any; a tenant: its own); otherwise NotFound.</summary>
    private static async Task<AgentInfo> VisibleAgentAsync(string agentId, string? owner, IGrainFactory grains)
    {
        if (!AgentIds.IsValid(agentId))
        {
            throw MeshException.NotFound("Agent");
        }

        var info = await grains.GetGrain<IAgentGrain>(agentId).GetAsync();
        if (info is null || (owner is not null && info.Registration.Owner != owner))
        {
            throw MeshException.NotFound($"Agent '{agentId}'");
        }

        return info;
    }

    /// <summary>The agent when the caller runs it (same owner as the caller's credentials); otherwise NotFound.</summary>
    private static Task<AgentInfo> OwnedAgentAsync(string agentId, ClaimsPrincipal user, IGrainFactory grains) =>
        VisibleAgentAsync(agentId, user.AgentOwner() ?? throw MeshException.NotFound($"Agent '{agentId}'"), grains);
}

internal static class AgentStates
{
    public static bool IsLeasable(AgentState state) => state is AgentState.Healthy or AgentState.Degraded;
}

/// <summary>Lists agents across the directory shards, merged in id order.</summary>
public sealed class AgentDirectoryReader(IGrainFactory grains, IConfiguration configuration)
{
    private readonly int _shards = configuration.GetValue("MeshOs:Agents:DirectoryShards", 16);

    public async Task<List<AgentSummary>> ListAsync(AgentFilter filter, string? afterId, int limit)
    {
        var pages = await Task.WhenAll(Enumerable.Range(0, _shards)
            .Select(shard => grains.GetGrain<IAgentDirectoryGrain>(shard).ListMatchingAsync(filter, afterId, limit)));
        return [.. pages.SelectMany(p => p).OrderBy(a => a.AgentId, StringComparer.Ordinal).Take(limit)];
    }
}
