using System.Security.Claims;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Auth;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// Which agents a caller reads: an operator all of them; a tenant its own and, read-only, every other owner's agent
/// in its own pools (see <see cref="PoolAccess.IsVisibleTo"/>). Changing an agent (drain, deregister) stays with its
/// owner.
/// </summary>
internal static class AgentVisibility
{
    /// <summary>The directory filter of a listing; <paramref name="owner"/> narrows it to one owner's agents.</summary>
    public static AgentFilter ListFilter(ClaimsPrincipal user, string? owner) =>
        new(owner, null, user.IsOperator() ? null : user.TenantId());

    /// <summary>The agent when the caller may read it; NotFound otherwise (as for an unknown id).</summary>
    public static async Task<AgentInfo> ReadableAsync(string agentId, ClaimsPrincipal user, IGrainFactory grains)
    {
        var info = AgentIds.IsValid(agentId) ? await grains.GetGrain<IAgentGrain>(agentId).GetAsync() : null;
        if (info is null || !(user.IsOperator() || PoolAccess.IsVisibleTo(user.TenantId(), info.Registration.Owner, info.Registration.Pool)))
        {
            throw MeshException.NotFound($"Agent '{agentId}'");
        }

        return info;
    }
}
