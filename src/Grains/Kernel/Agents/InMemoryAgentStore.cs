using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>The embedded mode's agent store: the same contract as PostgreSQL, held in process memory (lost on exit).</summary>
public sealed class InMemoryAgentStore(IEventLog eventLog) : IAgentStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, AgentRecord> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<int, SortedSet<string>> _byShard = [];

    public Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_agents.GetValueOrDefault(agentId));
        }
    }

    public async Task<bool> WriteAsync(AgentRecord agent, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_agents.TryGetValue(agent.AgentId, out var stored))
            {
                if (stored.Version >= agent.Version)
                {
                    return false;
                }

                if (stored.DirectoryShard != agent.DirectoryShard)
                {
                    Shard(stored.DirectoryShard).Remove(agent.AgentId);
                }
            }

            _agents[agent.AgentId] = agent;
            Shard(agent.DirectoryShard).Add(agent.AgentId);
        }

        if (!events.IsDefaultOrEmpty)
        {
            await eventLog.AppendAsync(events, cancellationToken);
        }

        return true;
    }

    public Task<ImmutableArray<AgentSummary>> ListShardAsync(int shard, string? afterId, int limit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_byShard.TryGetValue(shard, out var ids) || ids.Count == 0 || limit <= 0
                || (afterId is not null && string.CompareOrdinal(afterId, ids.Max) >= 0))
            {
                return Task.FromResult(ImmutableArray<AgentSummary>.Empty);
            }

            // Start at the cursor instead of walking every agent before it: loading a shard page by page stays linear.
            var after = afterId is null ? ids : ids.GetViewBetween(afterId, ids.Max!);
            var page = after.Where(id => afterId is null || string.CompareOrdinal(id, afterId) > 0)
                .Take(limit)
                .Select(id => _agents[id].ToSummary())
                .ToImmutableArray();
            return Task.FromResult(page);
        }
    }

    private SortedSet<string> Shard(int shard)
    {
        if (!_byShard.TryGetValue(shard, out var ids))
        {
            ids = new SortedSet<string>(StringComparer.Ordinal);
            _byShard[shard] = ids;
        }

        return ids;
    }
}
