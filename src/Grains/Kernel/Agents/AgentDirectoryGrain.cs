using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One shard of the agent directory. Entries change only on registration and state changes; writes to storage are
/// coalesced (at most one per <see cref="FlushInterval"/>) because agent grains re-report themselves on activation,
/// which repairs anything a crash lost. Every <see cref="TouchInterval"/> it touches live agents, so an agent whose
/// grain died with a silo is re-activated and its heartbeat timer judges it. The touches are spread over
/// <see cref="TouchSpread"/>, a slice per flush tick: all at once (thousands of calls per shard, every shard on the same
/// minute) they queued every heartbeat of the silo behind them for a few hundred milliseconds.
/// </summary>
internal sealed partial class AgentDirectoryGrain(
    [PersistentState("agent-directory", MeshStorage.GrainStore)] IPersistentState<AgentDirectoryState> state,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<AgentDirectoryGrain> logger) : Grain, IAgentDirectoryGrain, IRemindable
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan TouchSpread = TimeSpan.FromSeconds(45);
    private readonly Queue<string> _toTouch = new();
    private int _touchesPerTick;
    private bool _dirty;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(static async (self, _) =>
            {
                await self.FlushAsync();
                await self.TouchSliceAsync();
            }, this,
            new GrainTimerCreationOptions { DueTime = FlushInterval, Period = FlushInterval, Interleave = false, KeepAlive = true });
        await this.RegisterOrUpdateReminder("touch-live-agents", TouchInterval, TouchInterval);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await FlushAsync();

    public Task UpsertAsync(AgentSummary summary)
    {
        state.State.Agents[summary.AgentId] = summary;
        _dirty = true;
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string agentId)
    {
        _dirty |= state.State.Agents.Remove(agentId);
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<AgentSummary>> ListAsync(string? owner, string? afterId, int limit)
    {
        var page = state.State.Agents.Values
            .Where(a => owner is null || a.Owner == owner)
            .Where(a => afterId is null || string.CompareOrdinal(a.AgentId, afterId) > 0)
            .OrderBy(a => a.AgentId, StringComparer.Ordinal)
            .Take(limit)
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    public Task<ImmutableArray<AgentSummary>> ListMatchingAsync(AgentFilter filter, string? afterId, int limit)
    {
        var page = state.State.Agents.Values
            .Where(a => (afterId is null || string.CompareOrdinal(a.AgentId, afterId) > 0) && filter.Matches(a))
            .OrderBy(a => a.AgentId, StringComparer.Ordinal)
            .Take(limit)
            .ToImmutableArray();
        return Task.FromResult(page);
    }

    public Task<ImmutableDictionary<AgentState, int>> CountByStateAsync() =>
        Task.FromResult(state.State.Agents.Values.GroupBy(a => a.State).ToImmutableDictionary(g => g.Key, g => g.Count()));

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        foreach (var agentId in AgentDirectoryRetention.Forgotten(state.State.Agents.Values, time.GetUtcNow(), options.Value.ForgetOfflineAfter))
        {
            _dirty |= state.State.Agents.Remove(agentId);
        }

        _toTouch.Clear();
        foreach (var agent in state.State.Agents.Values)
        {
            if (agent.State != AgentState.Offline)
            {
                _toTouch.Enqueue(agent.AgentId);
            }
        }

        _touchesPerTick = (int)Math.Ceiling(_toTouch.Count / (TouchSpread / FlushInterval));
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

    private async Task FlushAsync()
    {
        if (!_dirty)
        {
            return;
        }

        _dirty = false;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _dirty = true;
            LogFlushFailed(logger, this.GetPrimaryKeyLong(), ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent directory shard {Shard}: write failed ({Reason}); retrying")]
    private static partial void LogFlushFailed(ILogger logger, long shard, string reason);
}

[GenerateSerializer, Alias("meshos.AgentDirectoryState")]
public sealed class AgentDirectoryState
{
    [Id(0)] public Dictionary<string, AgentSummary> Agents { get; set; } = new(StringComparer.Ordinal);
}
