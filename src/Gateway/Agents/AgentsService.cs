using MeshOs.Abstractions;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Agents;

/// <summary>A page of agents in id order, with the id to continue after (null at the end).</summary>
public sealed record AgentPage(IReadOnlyList<AgentSummary> Agents, string? NextCursor);

/// <summary>
/// Managing the fleet, once for every transport: list and look at agents, drain and deregister them (operators any
/// agent, a tenant its own, and read-only the agents serving its pools; another's agent is NotFound, like one that does not exist), and the operator's remediations
/// (quarantine, release, restart). REST (/v1/agents) and gRPC (meshos.v1.Fleet) only read requests and write answers.
/// </summary>
public sealed class AgentsService(IGrainFactory grains, AgentDirectoryReader directory, Mutations mutations)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    /// <summary>The longest probation a quarantine may set.</summary>
    public static readonly TimeSpan MaxProbation = TimeSpan.FromDays(30);

    /// <summary>Agents in id order after <paramref name="cursor"/>: an operator's of any owner (or of <paramref name="owner"/>), a tenant's own.</summary>
    public async Task<AgentPage> ListAsync(MeshCaller caller, string? owner, string? cursor, int? limit)
    {
        var size = Inputs.Limit(limit, DefaultLimit, MaxLimit);
        var filter = caller.IsOperator ? new AgentFilter(owner, null, null) : VisibleTo(caller.RequireTenant(), owner);
        var page = await directory.ListAsync(filter, cursor, size);
        return new AgentPage(page, page.Count == size ? page[^1].AgentId : null);
    }

    /// <summary>One agent: an operator's any, a tenant's own or, read-only, one that can lease the tenant's jobs (<see cref="PoolAccess.IsVisibleTo"/>).</summary>
    public async Task<AgentInfo> GetAsync(MeshCaller caller, string agentId)
    {
        if (!AgentIds.IsValid(agentId))
        {
            throw MeshException.NotFound("Agent"); // never echo an id that is not one (it may be huge)
        }

        var info = await Agent(agentId).GetAsync();
        return info is not null && (caller.IsOperator || Sees(caller.RequireTenant(), info))
            ? info
            : throw MeshException.NotFound($"Agent '{agentId}'");
    }

    private static AgentFilter VisibleTo(TenantPrincipal tenant, string? owner) => new(owner, null, tenant.TenantId, [.. tenant.Pools]);

    private static bool Sees(TenantPrincipal tenant, AgentInfo info) =>
        PoolAccess.IsVisibleTo(tenant.TenantId, tenant.Pools, info.Registration.Owner, info.Registration.Pool);

    /// <summary>Stops new leases; the agent finishes its jobs and goes Offline.</summary>
    public Task<AgentInfo> DrainAsync(MeshCaller caller, string agentId, string? reason) =>
        ChangeAsync(caller, MeshActions.DrainAgent, agentId, ChangeSummaries.AgentAction(reason), agent =>
            agent.DrainAsync(Inputs.Reason(reason, caller.IsOperator ? "drained by an operator" : "drained by its owner")));

    /// <summary>Takes the agent Offline; its leases go back to their queues.</summary>
    public Task DeregisterAsync(MeshCaller caller, string agentId) =>
        ChangeAsync(caller, MeshActions.DeregisterAgent, agentId, ChangeSummaries.AgentAction(null), async agent =>
        {
            await agent.DeregisterAsync(caller.IsOperator ? "deregistered by an operator" : "deregistered by its owner");
            return true;
        });

    /// <summary>No new leases until released, or until <paramref name="probation"/> (up to 30 days; zero or none: until released) passes.</summary>
    public Task<AgentInfo> QuarantineAsync(MeshCaller caller, string agentId, string? reason, TimeSpan? probation)
    {
        caller.RequireOperator();
        if (probation is { } p && (p < TimeSpan.Zero || p > MaxProbation))
        {
            throw MeshException.Invalid("probationMinutes", "0 to 30 days (43,200 minutes).");
        }

        return ChangeAsync(caller, MeshActions.QuarantineAgent, agentId, ChangeSummaries.Quarantine(reason, probation), agent =>
            agent.QuarantineAsync(Inputs.Reason(reason, "quarantined by an operator"), probation > TimeSpan.Zero ? probation : null));
    }

    /// <summary>Lifts a quarantine.</summary>
    public Task<AgentInfo> ReleaseAsync(MeshCaller caller, string agentId, string? reason)
    {
        caller.RequireOperator();
        return ChangeAsync(caller, MeshActions.ReleaseAgent, agentId, ChangeSummaries.AgentAction(reason), agent => agent.ReleaseAsync(Inputs.Reason(reason, "released by an operator")));
    }

    /// <summary>Restarts the agent through the runtime that started it, or with a command down its channel.</summary>
    public Task<RestartPath> RestartAsync(MeshCaller caller, string agentId, string? reason)
    {
        caller.RequireOperator();
        return ChangeAsync(caller, MeshActions.RestartAgent, agentId, ChangeSummaries.AgentAction(reason), agent => agent.RestartAsync(Inputs.Reason(reason, "restarted by an operator")));
    }

    private IAgentGrain Agent(string agentId) => grains.GetGrain<IAgentGrain>(agentId);

    /// <summary>
    /// A change to an agent the caller may see, as one mutation: a refusal because it is another's (NotFound) is
    /// recorded with the rest.
    /// </summary>
    private Task<T> ChangeAsync<T>(MeshCaller caller, string action, string agentId, AuditChange summary, Func<IAgentGrain, Task<T>> change) =>
        mutations.RunAsync(caller, action, MeshTargets.Agent(agentId), summary, async () =>
        {
            await VisibleAsync(caller, agentId);
            return await change(Agent(agentId));
        });

    /// <summary>The agent when the caller may see it (an operator: any; a tenant: its own); otherwise NotFound.</summary>
    private async Task<AgentInfo> VisibleAsync(MeshCaller caller, string agentId)
    {
        var owner = caller.IsOperator ? null : caller.RequireTenant().TenantId;
        if (!AgentIds.IsValid(agentId))
        {
            throw MeshException.NotFound("Agent");
        }

        var info = await Agent(agentId).GetAsync();
        return info is not null && (owner is null || info.Registration.Owner == owner)
            ? info
            : throw MeshException.NotFound($"Agent '{agentId}'");
    }
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
