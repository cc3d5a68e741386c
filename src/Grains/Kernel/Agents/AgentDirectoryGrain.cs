using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One shard of the agent directory: the listing of its agents, for listing and counting without activating them. It
/// writes nothing: every agent's record is durable in the <see cref="IAgentStore"/> (one row per agent, written by the
/// agent's grain), the shard loads its agents from there when it activates and agent grains report each change to it
/// after their write. (It used to store all its agents as one blob each second, so the cost of every registration grew
/// with the fleet.) Every <see cref="TouchInterval"/> it touches live agents, so an agent whose grain died with a silo
/// is re-activated and its heartbeat timer judges it. The touches are spread over <see cref="TouchSpread"/>, a slice per
/// tick: all at once (thousands of calls per shard, every shard on the same minute) they queued every heartbeat of the
/// silo behind them for a few hundred milliseconds. Its calls are synchronous and interleave with the touches it awaits
/// (see <see cref="IAgentDirectoryGrain"/>).
/// </summary>
internal sealed partial class AgentDirectoryGrain(
    IAgentStore store,
    IOptions<AgentOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<AgentDirectoryGrain> logger) : Grain, IAgentDirectoryGrain, IRemindable
{
    private const int LoadPage = 1_000;
    private static readonly TimeSpan TouchTick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan TouchSpread = TimeSpan.FromSeconds(45);
    private readonly Dictionary<string, AgentSummary> _agents = new(StringComparer.Ordinal);
    private readonly Queue<string> _toTouch = new();
    private int _touchesPerTick;

    private int Shard => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await store.ListShardAsync(Shard, after, LoadPage, cancellationToken);
            foreach (var agent in page)
            {
                if (AgentDirectoryRetention.IsForgotten(agent, time.GetUtcNow(), options.Value.ForgetOfflineAfter))
                {
                    continue; // its row stays the agent's record; the listing forgets it
                }

                _agents[agent.AgentId] = agent with
                {
                    Owner = SharedValues.Silo.Share(agent.Owner),
                    Pool = SharedValues.Silo.Share(agent.Pool),
                    Capabilities = SharedValues.Silo.Share(agent.Capabilities),
                };
            }

            if (page.Length < LoadPage)
            {
                break;
            }

            after = page[^1].AgentId;
        }

        LogLoaded(logger, Shard, _agents.Count);
        this.RegisterGrainTimer(static (self, _) => self.TouchSliceAsync(), this,
            new GrainTimerCreationOptions { DueTime = TouchTick, Period = TouchTick, Interleave = false, KeepAlive = true });
        await this.RegisterOrUpdateReminder("touch-live-agents", TouchInterval, TouchInterval);
    }

    public Task UpsertAsync(AgentSummary summary)
    {
        _agents[summary.AgentId] = summary;
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<AgentSummary>> ListAsync(string? owner, string? afterId, int limit)
    {
        var page = _agents.Values
            .Where(a => owner is null || a.Owner == owner)
            .Where(a => afterId is null || string.CompareOrdinal(a.AgentId, afterId) > 0)
            .OrderBy(a => a.AgentId, StringComparer.Ordinal)
            .Take(limit)
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    public Task<ImmutableArray<AgentSummary>> ListMatchingAsync(AgentFilter filter, string? afterId, int limit)
    {
        var page = _agents.Values
            .Where(a => (afterId is null || string.CompareOrdinal(a.AgentId, afterId) > 0) && filter.Matches(a))
            .OrderBy(a => a.AgentId, StringComparer.Ordinal)
            .Take(limit)
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    public Task<ImmutableDictionary<AgentState, int>> CountByStateAsync() =>
        Task.FromResult(_agents.Values.GroupBy(a => a.State).ToImmutableDictionary(g => g.Key, g => g.Count()));

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        foreach (var agentId in AgentDirectoryRetention.Forgotten(_agents.Values, time.GetUtcNow(), options.Value.ForgetOfflineAfter))
        {
            _agents.Remove(agentId);
        }

        _toTouch.Clear();
        foreach (var agent in _agents.Values)
        {
            if (agent.State != AgentState.Offline)
            {
                _toTouch.Enqueue(agent.AgentId);
            }
        }

        _touchesPerTick = (int)Math.Ceiling(_toTouch.Count / (TouchSpread / TouchTick));
        return Task.CompletedTask;
    }

    private async Task TouchSliceAsync()
    {
        var slice = new List<Task>(Math.Min(_toTouch.Count, _touchesPerTick));
        while (slice.Count < _touchesPerTick && _toTouch.TryDequeue(out var agentId))
        {
            slice.Add(GrainFactory.GetGrain<IAgentGrain>(agentId).GetAsync());
        }

        await Task.WhenAll(slice);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent directory shard {Shard}: loaded {Count} agent(s) from the agent store")]
    private static partial void LogLoaded(ILogger logger, int shard, int count);
}
