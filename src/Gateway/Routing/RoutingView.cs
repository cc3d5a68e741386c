using System.Collections.Concurrent;
using MeshOs.Abstractions.Routing;

namespace MeshOs.Gateway.Routing;

/// <summary>
/// A dispatcher's copy of what its pool learned about the agents of one capability: read from the pool's
/// <see cref="IRoutingStatsGrain"/> every <see cref="RoutingOptions.RefreshInterval"/>, only what changed since the
/// last read. Reads are lock-free (the policy reads it under the dispatcher's lock).
/// </summary>
internal sealed partial class RoutingView(IGrainFactory grains, string pool, string capability, TimeProvider time, ILogger logger)
{
    private readonly ConcurrentDictionary<string, RouteStats> _agents = new(StringComparer.Ordinal);
    private long _epoch;
    private long _stamp;
    private TimeSpan _halfLife;

    public RouteStats? Get(string agentId) => _agents.GetValueOrDefault(agentId);

    /// <summary>
    /// What <paramref name="stats"/>' counts weigh at <paramref name="now"/>: halved per half-life since the entry last
    /// changed, so an agent that failed and then got no work is not judged by old failures for ever.
    /// </summary>
    public double Fade(RouteStats? stats, DateTimeOffset now) =>
        stats is null || _halfLife <= TimeSpan.Zero || now <= stats.UpdatedAt ? 1.0 : Math.Pow(0.5, (now - stats.UpdatedAt) / _halfLife);

    /// <summary>Reads what changed now (also what the refresh loop does at each tick).</summary>
    public async Task RefreshAsync()
    {
        var changes = await grains.GetGrain<IRoutingStatsGrain>(pool).GetChangesAsync(capability, _epoch, _stamp);
        if (changes.Full)
        {
            _agents.Clear();
        }

        foreach (var entry in changes.Entries)
        {
            _agents[entry.AgentId] = entry;
        }

        _epoch = changes.Epoch;
        _halfLife = changes.HalfLife;
        _stamp = changes.Stamp;
    }

    public async Task RunAsync(TimeSpan interval, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                LogRefreshFailed(logger, pool, capability, ex.GetBaseException().Message); // the last statistics stay in force
            }

            try
            {
                await Task.Delay(interval, time, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Routing statistics of {Pool}/{Capability} were not refreshed: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string pool, string capability, string reason);
}
