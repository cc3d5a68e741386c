using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Routing;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Dispatch;

namespace MeshOs.Gateway.Routing;

/// <summary>One agent's routing as an operator sees it: what the pool learned and, when it is connected here, its limit now.</summary>
/// <param name="ConcurrencyLimit">Its adaptive concurrency limit on this gateway (null: not connected here).</param>
/// <param name="AdvertisedConcurrency">The concurrency it registered with (null: not connected here).</param>
public sealed record AgentRouting(RouteStats Stats, double SuccessRate, double TailLatencyMs, int? ConcurrencyLimit, int? AdvertisedConcurrency);

/// <summary>A pool's routing: the settings in force on this gateway, what was learned per agent and per version.</summary>
public sealed record PoolRoutingView(
    string Pool,
    string Policy,
    RoutingWeights Weights,
    int Candidates,
    double ExplorationShare,
    bool AdaptiveConcurrency,
    TimeSpan? LatencyTarget,
    ImmutableArray<AgentRouting> Agents,
    ImmutableArray<VersionStats> Versions);

/// <summary>
/// Adaptive routing for operators, once for every transport (README "Adaptive routing"): the learned statistics of a
/// pool's agents and versions, with the settings in force. Any operator key reads it; tenants get 403.
/// </summary>
public sealed class RoutingService(IGrainFactory grains, DispatchHub hub)
{
    /// <summary>400 for a bad pool name or agent id; 404 for a pool no agent has served, or an agent it never had.</summary>
    public async Task<PoolRoutingView> GetPoolAsync(MeshCaller caller, string? pool, string? agentId)
    {
        caller.RequireOperator();
        var name = string.IsNullOrWhiteSpace(pool) ? throw MeshException.Invalid("pool", "required: the pool's name.")
            : PoolAccess.IsValidPoolName(pool) ? pool
            : throw MeshException.Invalid("pool", "not a valid pool name.");
        if (agentId is not null && (agentId.Length is 0 or > 200))
        {
            throw MeshException.Invalid("agentId", "1–200 characters when given.");
        }

        var stats = await grains.GetGrain<IRoutingStatsGrain>(name).GetAsync(agentId);
        var limits = hub.Limits(name);
        if (stats.Agents.IsEmpty && (agentId is null ? limits.Count == 0 && stats.Versions.IsEmpty : !limits.ContainsKey(agentId)))
        {
            // Pools exist by their agents: one no agent ever served (or an agent it never had) is not there.
            throw MeshException.NotFound(agentId is null ? $"Pool '{name}' (no agent has served it)" : $"Agent '{agentId}' in pool '{name}'");
        }

        var agents = stats.Agents.Select(s => limits.TryGetValue(s.AgentId, out var l)
                ? new AgentRouting(s, Math.Round(s.SuccessRate, 4), Math.Round(s.TailLatencyMs, 1), l.Current, l.Advertised)
                : new AgentRouting(s, Math.Round(s.SuccessRate, 4), Math.Round(s.TailLatencyMs, 1), null, null))
            .ToImmutableArray();
        var settings = hub.Routing.For(name);
        return new PoolRoutingView(name, settings.Policy, settings.Weights, settings.Candidates, settings.ExplorationShare,
            settings.Concurrency.Enabled, settings.Concurrency.LatencyTarget, agents, stats.Versions);
    }
}
