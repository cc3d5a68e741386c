using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Tenants;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// A connected runtime's handle in the cluster. Holds only its live session (nothing durable): when no session is
/// attached, a restart order cannot be delivered and the caller falls back to other means. A runtime that declares
/// pools it can scale is listed with each pool's scalers (<see cref="IPoolScalersGrain"/>) while it is attached.
/// </summary>
internal sealed partial class RuntimeGrain([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time, ILogger<RuntimeGrain> logger) : Grain, IRuntimeGrain
{
    private IRuntimeObserver? _session;
    private ImmutableArray<string> _agents = [];
    private ImmutableArray<string> _scalable = [];
    private DateTimeOffset? _lastRestart;
    private int _restarts;
    private int _scaleOrders;

    private string Key => this.GetPrimaryKeyString();

    /// <summary>The owner part of the key (<c>{owner}/{runtimeId}</c>).</summary>
    private string Owner => Key[..Key.IndexOf('/', StringComparison.Ordinal)];

    public async Task AttachAsync(IRuntimeObserver session, ImmutableArray<string> agentIds, ImmutableArray<string> scalablePools)
    {
        _session = session;
        _agents = agentIds.IsDefault ? [] : agentIds;
        // A runtime scales only its owner's own pools: a tenant's runtime cannot be handed the platform's or another's.
        var scalable = scalablePools.IsDefault ? [] : scalablePools.Where(p => PoolAccess.IsOwnPool(Owner, p)).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToImmutableArray();
        await AnnounceAsync(_scalable.Except(scalable, StringComparer.Ordinal), present: false);
        await AnnounceAsync(scalable, present: true);
        _scalable = scalable;
        // Stay active while a session holds the observer; the gateway re-attaches after a silo failure.
        DelayDeactivation(TimeSpan.FromDays(1));
    }

    public async Task DetachAsync(IRuntimeObserver session)
    {
        if (_session is not null && _session.Equals(session))
        {
            _session = null;
            await AnnounceAsync(_scalable, present: false);
            _scalable = [];
        }
    }

    public Task<bool> RestartAsync(string agentId, string reason)
    {
        if (_session is not { } session)
        {
            return Task.FromResult(false);
        }

        session.OnRestartAsync(agentId, reason).Ignore();
        _lastRestart = time.GetUtcNow();
        _restarts++;
        return Task.FromResult(true);
    }

    public Task<bool> ScaleAsync(ScaleOrder order)
    {
        if (_session is not { } session || !_scalable.Contains(order.Pool, StringComparer.Ordinal))
        {
            return Task.FromResult(false);
        }

        session.OnScaleAsync(order).Ignore();
        _scaleOrders++;
        LogScaleOrder(logger, Key, order.OrderId, order.Pool, order.Start, order.Stop.Length);
        return Task.FromResult(true);
    }

    public Task ReportScaleAsync(ScaleReport report)
    {
        LogScaleReport(logger, Key, report.OrderId, report.Started.Length, report.Stopped.Length, report.Detail);
        return GrainFactory.GetGrain<ICostAdvisorGrain>(0).ReportAsync(report with { Runtime = Key });
    }

    public Task ReportAsync(string agentId, bool restarted, string detail)
    {
        LogReport(logger, Key, agentId, restarted, detail);
        return Task.CompletedTask;
    }

    public Task<RuntimeInfo> GetAsync() => Task.FromResult(new RuntimeInfo(_session is not null, _agents, _lastRestart, _restarts, _scalable, _scaleOrders));

    private Task AnnounceAsync(IEnumerable<string> pools, bool present) =>
        Task.WhenAll(pools.Select(pool => GrainFactory.GetGrain<IPoolScalersGrain>(pool).SetAsync(Key, present)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime}: restart of {AgentId} {Restarted} ({Detail})")]
    private static partial void LogReport(ILogger logger, string runtime, string agentId, bool restarted, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime}: scale order {OrderId} for pool {Pool}: start {Start}, stop {Stop}")]
    private static partial void LogScaleOrder(ILogger logger, string runtime, string orderId, string pool, int start, int stop);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime}: scale order {OrderId} done: {Started} started, {Stopped} stopped ({Detail})")]
    private static partial void LogScaleReport(ILogger logger, string runtime, string orderId, int started, int stopped, string detail);
}
