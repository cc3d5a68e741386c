using System.Collections.Immutable;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Routing;
using MeshOs.Grains.Storage;
using MeshOs.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Routing;

/// <summary>
/// One pool's learned statistics (<see cref="IRoutingStatsGrain"/>): an entry per agent and capability and one per
/// agent version, changed by attempt ends and saved every <see cref="RouteLearningOptions.SaveInterval"/> when they
/// changed (statistics, not accounting: a crash loses at most that much learning, never a job). Every change takes
/// the next stamp, so a dispatcher reads only what changed since its last read.
/// </summary>
internal sealed partial class RoutingStatsGrain(
    [PersistentState("routing-stats", MeshStorage.GrainStore)] IPersistentState<RoutingStatsState> state,
    IOptions<RouteLearningOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<RoutingStatsGrain> logger) : Grain, IRoutingStatsGrain
{
    private readonly RouteLearningOptions _options = options.Value;

    /// <summary>Tells a reader's stamps of an earlier activation from this one's (stamps restart with the activation).</summary>
    private readonly long _epoch = Random.Shared.NextInt64(1, long.MaxValue);

    private long _stamp;
    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stamp = state.State.Agents.Values.Select(e => e.Stamp).DefaultIfEmpty(0).Max();
        this.RegisterGrainTimer(static (self, _) => self.SaveIfDirtyAsync(), this,
            new GrainTimerCreationOptions { DueTime = _options.SaveInterval, Period = _options.SaveInterval, Interleave = false, KeepAlive = true });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public Task ApplyAsync(ImmutableArray<MeshEvent> events)
    {
        var s = state.State;
        var settings = _options.Settings;
        foreach (var e in events)
        {
            if (e.Position <= s.LastPosition || e.Payload is not JobAttemptEnded { AgentId: { } agentId } ended)
            {
                continue;
            }

            s.LastPosition = e.Position;
            var key = Key(ended.Capability, agentId);
            if (RouteEstimator.Observe(s.Agents.GetValueOrDefault(key), ended, e.At, _stamp + 1, settings) is { } next)
            {
                _stamp++;
                s.Agents[key] = next;
                _dirty = true;
            }

            if (RouteEstimator.ObserveVersion(s.Versions.GetValueOrDefault(Key(ended.Capability, ended.AgentVersion ?? "")), ended, e.At) is { } version)
            {
                s.Versions[Key(ended.Capability, version.Version)] = version;
            }
        }

        if (events.Length > 0)
        {
            s.LastPosition = Math.Max(s.LastPosition, events[^1].Position);
        }

        return Task.CompletedTask;
    }

    public Task<RouteStatsChanges> GetChangesAsync(string capability, long epoch, long afterStamp)
    {
        var full = epoch != _epoch;
        var entries = state.State.Agents.Values
            .Where(e => e.Capability == capability && (full || e.Stamp > afterStamp))
            .ToImmutableArray();
        return Task.FromResult(new RouteStatsChanges(_stamp, entries, full, _epoch, _options.HalfLife));
    }

    public Task<PoolRouteStats> GetAsync(string? agentId)
    {
        var agents = state.State.Agents.Values
            .Where(e => agentId is null || e.AgentId == agentId)
            .OrderBy(e => e.AgentId, StringComparer.Ordinal).ThenBy(e => e.Capability, StringComparer.Ordinal)
            .ToImmutableArray();
        var versions = agentId is not null ? [] : state.State.Versions.Values
            .OrderBy(v => v.Capability, StringComparer.Ordinal).ThenBy(v => v.Version, StringComparer.Ordinal)
            .ToImmutableArray();
        return Task.FromResult(new PoolRouteStats(this.GetPrimaryKeyString(), agents, versions));
    }

    private async Task SaveIfDirtyAsync()
    {
        if (!_dirty)
        {
            return;
        }

        var cutoff = time.GetUtcNow() - _options.ForgetAfter;
        foreach (var (key, entry) in state.State.Agents.Where(p => p.Value.UpdatedAt < cutoff).ToList())
        {
            state.State.Agents.Remove(key);
        }

        try
        {
            await state.WriteStateAsync();
            _dirty = false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSaveFailed(this.GetPrimaryKeyString(), ex);
        }
    }

    private static string Key(string capability, string agentOrVersion) => capability + "\n" + agentOrVersion;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Routing statistics of pool {Pool} were not saved; the next save retries")]
    private partial void LogSaveFailed(string pool, Exception exception);
}

/// <summary>A pool's learned statistics as saved.</summary>
[GenerateSerializer, Alias("meshos.RoutingStatsState")]
public sealed class RoutingStatsState
{
    /// <summary>By capability and agent id.</summary>
    [Id(0)] public Dictionary<string, RouteStats> Agents { get; set; } = new(StringComparer.Ordinal);

    /// <summary>By capability and version.</summary>
    [Id(1)] public Dictionary<string, VersionStats> Versions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The last event-log position applied (a redelivered batch is skipped up to it).</summary>
    [Id(2)] public long LastPosition { get; set; }
}

/// <summary>The <c>routing</c> consumer of the event log: stateless; hands each pool its attempt ends, all pools in parallel.</summary>
internal sealed class RoutingLearnerGrain : Grain, IRoutingLearnerGrain
{
    public Task OnEventsAsync(ImmutableArray<MeshEvent> events)
    {
        var byPool = new Dictionary<string, ImmutableArray<MeshEvent>.Builder>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Payload is JobAttemptEnded { AgentId: not null } ended && RouteEstimator.Counts(ended.Outcome) is not null)
            {
                if (!byPool.TryGetValue(ended.Pool, out var part))
                {
                    byPool[ended.Pool] = part = ImmutableArray.CreateBuilder<MeshEvent>();
                }

                part.Add(e);
            }
        }

        return Task.WhenAll(byPool.Select(p => GrainFactory.GetGrain<IRoutingStatsGrain>(p.Key).ApplyAsync(p.Value.ToImmutable())));
    }
}
