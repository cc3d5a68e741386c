using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// A connected runtime's handle in the cluster. Holds only its live session (nothing durable): when no session is
/// attached, a restart order cannot be delivered and the caller falls back to other means.
/// </summary>
internal sealed partial class RuntimeGrain([FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time, ILogger<RuntimeGrain> logger) : Grain, IRuntimeGrain
{
    private IRuntimeObserver? _session;
    private ImmutableArray<string> _agents = [];
    private DateTimeOffset? _lastRestart;
    private int _restarts;

    public Task AttachAsync(IRuntimeObserver session, ImmutableArray<string> agentIds)
    {
        _session = session;
        _agents = agentIds.IsDefault ? [] : agentIds;
        // Stay active while a session holds the observer; the gateway re-attaches after a silo failure.
        DelayDeactivation(TimeSpan.FromDays(1));
        return Task.CompletedTask;
    }

    public Task DetachAsync(IRuntimeObserver session)
    {
        if (_session is not null && _session.Equals(session))
        {
            _session = null;
        }

        return Task.CompletedTask;
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

    public Task ReportAsync(string agentId, bool restarted, string detail)
    {
        LogReport(logger, this.GetPrimaryKeyString(), agentId, restarted, detail);
        return Task.CompletedTask;
    }

    public Task<RuntimeInfo> GetAsync() => Task.FromResult(new RuntimeInfo(_session is not null, _agents, _lastRestart, _restarts));

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime}: restart of {AgentId} {Restarted} ({Detail})")]
    private static partial void LogReport(ILogger logger, string runtime, string agentId, bool restarted, string detail);
}
