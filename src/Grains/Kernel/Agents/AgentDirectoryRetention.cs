using MeshOs.Abstractions.Agents;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// When the agent directory forgets an agent: Offline for longer than <see cref="AgentOptions.ForgetOfflineAfter"/>
/// (its listing, status counts and the directory shards' memory would otherwise grow with every agent that ever
/// registered). A forgotten agent that comes back registers again and is listed again; its grain keeps its own state.
/// Pure: the directory's storage layout is not its business.
/// </summary>
public static class AgentDirectoryRetention
{
    public static bool IsForgotten(AgentSummary agent, DateTimeOffset now, TimeSpan retention) =>
        agent.State == AgentState.Offline && now - agent.StateChangedAt > retention;

    /// <summary>The agents of <paramref name="agents"/> to forget now.</summary>
    public static List<string> Forgotten(IEnumerable<AgentSummary> agents, DateTimeOffset now, TimeSpan retention) =>
        [.. agents.Where(a => IsForgotten(a, now, retention)).Select(a => a.AgentId)];
}
