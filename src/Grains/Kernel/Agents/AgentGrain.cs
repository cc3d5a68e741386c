using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One agent. Heartbeats stay in memory; registration and state changes are written to grain storage, reported to
/// the agent directory and published as events. A grain timer declares the agent Unresponsive after
/// <see cref="AgentOptions.MissedHeartbeats"/> silent intervals.
/// </summary>
internal sealed partial class AgentGrain(
    [PersistentState("agent", MeshStorage.GrainStore)] IPersistentState<AgentGrainState> state,
    IOptions<AgentOptions> options,
    IOptions<JobOptions> jobOptions,
    EventPublisher events,
    TimeProvider time,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    private readonly AgentOptions _options = options.Value;
    private readonly Queue<AgentCommand> _pendingCommands = new();
    private IAgentChannelObserver? _channel;
    private IGrainTimer? _timer;
    private DateTimeOffset _lastHeartbeat;
    private DateTimeOffset? _lastHeartbeatReceived;
    private double _load;
    private int _inFlight;

    private string AgentId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // After a silo failure the agent may still be alive and heartbeating elsewhere: give it a full window.
        _lastHeartbeat = time.GetUtcNow();
        if (state.State.Registration is { } reg)
        {
            if (state.State.State != AgentState.Offline)
            {
                StartTimer();
            }

            // Re-report: the directory coalesces its writes, so a crash may have lost this agent's latest entry.
            await Directory.UpsertAsync(new AgentSummary(AgentId, reg.Owner, reg.Pool, reg.Capabilities, state.State.State, state.State.StateChangedAt));
        }
    }

    private IAgentDirectoryGrain Directory =>
        GrainFactory.GetGrain<IAgentDirectoryGrain>(AgentPolicy.DirectoryShard(AgentId, _options.DirectoryShards));

    public async Task<AgentRegistered> RegisterAsync(AgentRegistration registration, IAgentChannelObserver? channel)
    {
        AgentPolicy.Validate(registration);
        if (registration.AgentId != AgentId)
        {
            throw MeshException.Invalid("agentId does not match the agent addressed.");
        }

        var current = state.State.Registration;
        if (current is not null && current.Owner != registration.Owner)
        {
            throw MeshException.Conflict($"Agent id '{AgentId}' is registered by another owner.");
        }

        var now = time.GetUtcNow();
        _channel = channel;
        _lastHeartbeat = now;
        DropPendingRestarts(); // registering is the restart; a queued one would restart the new session again
        _lastHeartbeatReceived = now;
        var isNew = current is null;
        state.State.Registration = registration;
        if (isNew)
        {
            state.State.RegisteredAt = now;
            state.State.State = AgentState.Registering;
        }

        await TransitionAsync(AgentLifecycle.OnRegister(state.State.State, Holds), isNew ? "registered" : "re-registered", forceWrite: true);
        StartTimer();
        return new AgentRegistered(ToInfo(), _options.HeartbeatInterval, jobOptions.Value.LeaseDuration);
    }

    public async Task<HeartbeatAck> HeartbeatAsync(AgentHeartbeat heartbeat)
    {
        if (state.State.Registration is null)
        {
            throw MeshException.Precondition("The agent must register before it heartbeats.");
        }

        var now = time.GetUtcNow();
        _lastHeartbeat = now;
        _lastHeartbeatReceived = now;
        _load = heartbeat.Load;
        var inFlight = heartbeat.InFlight.IsDefault ? [] : heartbeat.InFlight;
        _inFlight = inFlight.Length;

        if (state.State.State != AgentState.Offline)
        {
            var next = AgentLifecycle.OnHeartbeat(state.State.State, _inFlight, Holds);
            if (next != state.State.State)
            {
                await TransitionAsync(next, next == AgentState.Offline ? "drained" : "heartbeat resumed");
            }
        }

        var revoked = await RenewLeasesAsync(inFlight);
        var commands = _pendingCommands.ToImmutableArray();
        _pendingCommands.Clear();
        return new HeartbeatAck(state.State.State, revoked, commands);
    }

    public Task DisconnectAsync(IAgentChannelObserver channel)
    {
        if (_channel is not null && _channel.Equals(channel))
        {
            _channel = null;
        }

        return Task.CompletedTask;
    }

    public async Task<AgentInfo> DrainAsync(string reason)
    {
        EnsureRegistered();
        if (state.State.State is not (AgentState.Offline or AgentState.Draining))
        {
            state.State.DrainHold = true;
            await TransitionAsync(_inFlight == 0 && _channel is null ? AgentState.Offline : AgentState.Draining, reason);
            await SendCommandAsync(new AgentCommand(AgentCommandKind.Drain, null, reason));
        }

        return ToInfo();
    }

    public async Task DeregisterAsync(string reason)
    {
        EnsureRegistered();
        await TransitionAsync(AgentState.Offline, reason);
        _channel = null;
        await ReturnLeasesAsync(reason);
    }

    public Task<AgentInfo?> GetAsync() => Task.FromResult(state.State.Registration is null ? null : ToInfo());

    public Task SendCommandAsync(AgentCommand command)
    {
        if (_channel is { } channel)
        {
            try
            {
                channel.OnCommandAsync(command).Ignore();
                return Task.CompletedTask;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogChannelFailed(logger, AgentId, ex.Message);
                _channel = null;
            }
        }

        _pendingCommands.Enqueue(command);
        return Task.CompletedTask;
    }

    private void DropPendingRestarts()
    {
        var keep = _pendingCommands.Where(c => c.Kind != AgentCommandKind.Restart).ToList();
        _pendingCommands.Clear();
        keep.ForEach(_pendingCommands.Enqueue);
    }

    private async Task<ImmutableArray<LeaseRef>> RenewLeasesAsync(ImmutableArray<LeaseRef> inFlight)
    {
        if (inFlight.IsEmpty)
        {
            return [];
        }

        var renewals = inFlight.Select(async lease =>
            (lease, ok: await GrainFactory.GetGrain<IJobGrain>(lease.JobId).RenewAsync(AgentId, lease.Epoch))).ToArray();
        var results = await Task.WhenAll(renewals);
        return [.. results.Where(r => !r.ok).Select(r => r.lease)];
    }

    private async Task ReturnLeasesAsync(string reason)
    {
        var leases = await GrainFactory.GetGrain<IJobQueryGrain>(0).ListLeasedByAsync(AgentId);
        await Task.WhenAll(leases.Select(l => GrainFactory.GetGrain<IJobGrain>(l.JobId).RevokeLeaseAsync(l.Epoch, reason)));
    }

    private async Task OnTickAsync()
    {
        var next = AgentLifecycle.OnTick(state.State.State, _lastHeartbeat, time.GetUtcNow(), _options);
        if (next is { } newState)
        {
            var reason = newState == AgentState.Unresponsive
                ? $"no heartbeat for {_options.MissedHeartbeats} intervals of {_options.HeartbeatInterval.TotalSeconds:0.#} s"
                : $"unresponsive for {_options.OfflineAfter.TotalMinutes:0.#} min";
            await TransitionAsync(newState, reason);
        }
    }

    private async Task TransitionAsync(AgentState to, string reason, bool forceWrite = false)
    {
        var from = state.State.State;
        if (from == to && !forceWrite)
        {
            return;
        }

        if (to == AgentState.Offline)
        {
            state.State.DrainHold = false; // a drain ends when the agent is gone
        }

        var now = time.GetUtcNow();
        state.State.State = to;
        state.State.StateReason = reason;
        if (from != to)
        {
            state.State.StateChangedAt = now;
        }

        await state.WriteStateAsync();
        var reg = state.State.Registration!;
        await Directory.UpsertAsync(new AgentSummary(AgentId, reg.Owner, reg.Pool, reg.Capabilities, to, state.State.StateChangedAt));
        if (from != to)
        {
            LogTransition(logger, AgentId, from, to, reason);
            await events.PublishAsync(new MeshEvent(0, MeshEventKind.AgentStateChanged, now,
                new AgentStateChanged(AgentId, reg.Owner, reg.Pool, reg.Region, reg.Version, reg.CostPerHour, from, to, reason), null));
            if (_channel is { } channel)
            {
                channel.OnStateChangedAsync(to).Ignore();
            }
        }

        if (to == AgentState.Offline)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    private AgentHolds Holds => new(state.State.QuarantineHold, state.State.DrainHold);

    private void StartTimer()
    {
        _timer ??= this.RegisterGrainTimer(
            static (self, _) => self.OnTickAsync(),
            this,
            new GrainTimerCreationOptions
            {
                DueTime = _options.HeartbeatInterval,
                Period = _options.HeartbeatInterval,
                Interleave = false,
                KeepAlive = true,
            });
    }

    private void EnsureRegistered()
    {
        if (state.State.Registration is null)
        {
            throw MeshException.NotFound($"Agent '{AgentId}'");
        }
    }

    private AgentInfo ToInfo()
    {
        var s = state.State;
        return new AgentInfo(s.Registration!, s.State, s.StateReason, s.RegisteredAt, s.StateChangedAt,
            _lastHeartbeatReceived, _load, _inFlight, _channel is not null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: {From} → {To} ({Reason})")]
    private static partial void LogTransition(ILogger logger, string agentId, AgentState from, AgentState to, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: command channel failed ({Reason}); commands wait for the next heartbeat")]
    private static partial void LogChannelFailed(ILogger logger, string agentId, string reason);
}

[GenerateSerializer, Alias("meshos.AgentGrainState")]
public sealed class AgentGrainState
{
    [Id(0)] public AgentRegistration? Registration { get; set; }
    [Id(1)] public AgentState State { get; set; }
    [Id(2)] public string StateReason { get; set; } = string.Empty;
    [Id(3)] public DateTimeOffset RegisteredAt { get; set; }
    [Id(4)] public DateTimeOffset StateChangedAt { get; set; }

    /// <summary>Quarantined until an operator or the healing supervisor releases it.</summary>
    [Id(5)] public bool QuarantineHold { get; set; }

    /// <summary>Draining until it has finished its work and gone Offline.</summary>
    [Id(6)] public bool DrainHold { get; set; }
}
