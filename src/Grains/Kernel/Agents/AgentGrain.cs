using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One agent. Heartbeats stay in memory; registration and state changes are written to grain storage, reported to
/// the agent directory and published as events. One timer, set for the next moment the state could change, declares
/// the agent Unresponsive after <see cref="AgentOptions.MissedHeartbeats"/> silent intervals (sooner when its stream
/// closed and it did not come back), and Offline later.
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
    private Queue<AgentCommand>? _pendingCommands; // most agents never have one waiting
    private IAgentChannelObserver? _channel;
    private IGrainTimer? _timer;
    private DateTimeOffset _lastHeartbeat;
    private DateTimeOffset? _lastHeartbeatReceived;
    private DateTimeOffset? _disconnectedAt;
    private double _load;
    private int _inFlight;

    /// <summary>The registration's copy once registered (the grain key would be a new string on every use).</summary>
    private string AgentId => state.State.Registration?.AgentId ?? this.GetPrimaryKeyString();

    private IAgentDirectoryGrain Directory =>
        GrainFactory.GetGrain<IAgentDirectoryGrain>(AgentPolicy.DirectoryShard(AgentId, _options.DirectoryShards));

    private AgentHolds Holds => new(state.State.QuarantineHold, state.State.DrainHold);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // After a silo failure the agent may still be alive and heartbeating elsewhere: give it a full window.
        _lastHeartbeat = time.GetUtcNow();
        if (state.State.Registration is { } stored)
        {
            var reg = state.State.Registration = SharedValues.Silo.Share(stored);
            ScheduleCheck();

            // Re-report: the directory coalesces its writes, so a crash may have lost this agent's latest entry.
            await Directory.UpsertAsync(new AgentSummary(AgentId, reg.Owner, reg.Pool, reg.Capabilities, state.State.State, state.State.StateChangedAt));
        }
    }

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

        await RequirePoolAccessAsync(registration);

        var now = time.GetUtcNow();
        _channel = channel;
        _disconnectedAt = null;
        _lastHeartbeat = now;
        _lastHeartbeatReceived = now;
        DropCommandsOfPreviousSession();
        var isNew = current is null;
        state.State.Registration = SharedValues.Silo.Share(registration);
        if (isNew)
        {
            state.State.RegisteredAt = now;
            state.State.State = AgentState.Registering;
        }

        await TransitionAsync(AgentLifecycle.OnRegister(state.State.State, Holds), AgentChangeCause.Registered, isNew ? "registered" : "re-registered", forceWrite: true);
        ScheduleCheck();
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
                await TransitionAsync(next, next == AgentState.Offline ? AgentChangeCause.DrainCompleted : AgentChangeCause.HeartbeatResumed,
                    next == AgentState.Offline ? "drained" : "heartbeat resumed");
                ScheduleCheck(); // the next deadline depends on the new state
            }
        }

        var revoked = await RenewLeasesAsync(inFlight);
        ImmutableArray<AgentCommand> commands = [];
        if (_pendingCommands is { Count: > 0 } pending)
        {
            commands = [.. pending];
            pending.Clear();
        }

        return new HeartbeatAck(state.State.State, revoked, commands);
    }

    public Task DisconnectAsync(IAgentChannelObserver channel)
    {
        if (_channel is not null && _channel.Equals(channel))
        {
            _channel = null;
            _disconnectedAt = time.GetUtcNow();
            ScheduleCheck();
        }

        return Task.CompletedTask;
    }

    public async Task<AgentInfo> DrainAsync(string reason)
    {
        EnsureRegistered();
        if (state.State.State is not (AgentState.Offline or AgentState.Draining))
        {
            state.State.DrainHold = true;
            await TransitionAsync(_inFlight == 0 && _channel is null ? AgentState.Offline : AgentState.Draining, AgentChangeCause.DrainRequested, reason);
            await SendCommandAsync(new AgentCommand(AgentCommandKind.Drain, null, reason));
        }

        return ToInfo();
    }

    public async Task DeregisterAsync(string reason)
    {
        EnsureRegistered();
        await TransitionAsync(AgentState.Offline, AgentChangeCause.Deregistered, reason);
        _channel = null;
        await RevokeLeasesAsync(reason);
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

        (_pendingCommands ??= new()).Enqueue(command);
        return Task.CompletedTask;
    }

    public async Task<AgentInfo> QuarantineAsync(string reason, TimeSpan? probation)
    {
        EnsureRegistered();
        state.State.QuarantineHold = true;
        state.State.ProbationUntil = probation is { } p && p > TimeSpan.Zero ? time.GetUtcNow() + p : null;
        await TransitionAsync(AgentState.Quarantined, AgentChangeCause.Quarantined, reason, forceWrite: true);
        ScheduleCheck();
        return ToInfo();
    }

    public Task<AgentInfo> ReleaseAsync(string reason) => ReleaseAsync(AgentChangeCause.Released, reason);

    private async Task<AgentInfo> ReleaseAsync(AgentChangeCause cause, string reason)
    {
        EnsureRegistered();
        if (state.State.QuarantineHold || state.State.State == AgentState.Quarantined)
        {
            state.State.QuarantineHold = false;
            state.State.ProbationUntil = null;
            var silent = time.GetUtcNow() - _lastHeartbeat > _options.UnresponsiveAfter || (_channel is null && _disconnectedAt is not null);
            await TransitionAsync(silent ? AgentState.Unresponsive : AgentState.Healthy, cause, reason, forceWrite: true);
            ScheduleCheck();
        }

        return ToInfo();
    }

    public async Task<AgentInfo> SetDegradedAsync(bool degraded, string reason)
    {
        EnsureRegistered();
        var current = state.State.State;
        if (degraded && current == AgentState.Healthy)
        {
            await TransitionAsync(AgentState.Degraded, AgentChangeCause.Performance, reason);
        }
        else if (!degraded && current == AgentState.Degraded)
        {
            await TransitionAsync(AgentState.Healthy, AgentChangeCause.Performance, reason);
        }

        return ToInfo();
    }

    public async Task<RestartPath> RestartAsync(string reason)
    {
        EnsureRegistered();
        var reg = state.State.Registration!;
        if (reg.Runtime is { Length: > 0 } runtime
            && await GrainFactory.GetGrain<IRuntimeGrain>($"{reg.Owner}/{runtime}").RestartAsync(AgentId, reason))
        {
            LogRestart(logger, AgentId, "runtime " + runtime, reason);
            return RestartPath.Runtime;
        }

        await SendCommandAsync(new AgentCommand(AgentCommandKind.Restart, null, reason));
        LogRestart(logger, AgentId, _channel is null ? "command (queued until it reconnects)" : "command", reason);
        return RestartPath.Command;
    }

    public async Task<int> RevokeLeasesAsync(string reason)
    {
        var leases = await GrainFactory.GetGrain<IJobQueryGrain>(0).ListLeasedByAsync(AgentId);
        await Task.WhenAll(leases.Select(l => GrainFactory.GetJobGrain(l.JobId).RevokeLeaseAsync(l.Epoch, reason)));
        return leases.Length;
    }

    /// <summary>
    /// A pool not named after the agent's owner needs its owner's grant, checked on every registration (a reconnect
    /// after a revocation is refused too). PermissionDenied otherwise.
    /// </summary>
    private async Task RequirePoolAccessAsync(AgentRegistration registration)
    {
        if (!PoolAccess.NeedsGrant(registration.Owner, registration.Pool))
        {
            return;
        }

        var poolOwner = PoolAccess.OwnerOf(registration.Pool);
        var grants = poolOwner == AgentPools.PlatformOwner
            ? []
            : await GrainFactory.GetGrain<ITenantGrain>(poolOwner).GetPoolGrantsAsync();
        if (!PoolAccess.MayServe(registration.Owner, registration.Pool, grants))
        {
            throw new MeshException(MeshErrorCode.PermissionDenied,
                $"pool: '{registration.Pool}' belongs to '{poolOwner}', which has not granted agents of '{registration.Owner}' access to it.");
        }
    }

    /// <summary>
    /// Registering starts a new session: a queued restart would restart it again, and a queued cancel was meant for a
    /// lease the old session held. The job may since have been leased to this very agent again under a new epoch, and
    /// the cancel (which names the job, not the epoch) would then kill that run, leaving it to lease expiry. A job the
    /// old session still runs is fenced by its epoch all the same. A drain still applies.
    /// </summary>
    private void DropCommandsOfPreviousSession()
    {
        if (_pendingCommands is not { Count: > 0 } pending)
        {
            return;
        }

        var keep = pending.Where(c => c.Kind is not (AgentCommandKind.Restart or AgentCommandKind.CancelJob)).ToList();
        pending.Clear();
        keep.ForEach(pending.Enqueue);
    }

    private async Task<ImmutableArray<LeaseRef>> RenewLeasesAsync(ImmutableArray<LeaseRef> inFlight)
    {
        if (inFlight.IsEmpty)
        {
            return [];
        }

        var renewals = inFlight.Select(async lease =>
            (lease, ok: await GrainFactory.GetJobGrain(lease.JobId).RenewAsync(AgentId, lease.Epoch))).ToArray();
        var results = await Task.WhenAll(renewals);
        return [.. results.Where(r => !r.ok).Select(r => r.lease)];
    }

    private async Task OnCheckAsync()
    {
        var now = time.GetUtcNow();
        if (state.State.QuarantineHold && state.State.ProbationUntil is { } until && now >= until)
        {
            await ReleaseAsync(AgentChangeCause.ProbationEnded, "probation passed");
            return;
        }

        var next = AgentLifecycle.OnTick(state.State.State, _lastHeartbeat, now, _options, _channel is null ? _disconnectedAt : null);
        if (next is { } newState)
        {
            var reason = newState switch
            {
                AgentState.Offline => $"silent for {(now - _lastHeartbeat).TotalMinutes:0.#} min",
                _ when _channel is null && _disconnectedAt is { } gone && now - _lastHeartbeat <= _options.UnresponsiveAfter =>
                    $"disconnected {(now - gone).TotalSeconds:0.#} s ago and not back",
                _ => $"no heartbeat for {_options.MissedHeartbeats} intervals of {_options.HeartbeatInterval.TotalSeconds:0.#} s",
            };
            await TransitionAsync(newState, AgentChangeCause.Silent, reason);
        }

        ScheduleCheck();
    }

    private async Task TransitionAsync(AgentState to, AgentChangeCause cause, string reason, bool forceWrite = false)
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
                new AgentStateChanged(AgentId, reg.Owner, reg.Pool, reg.Region, reg.Version, reg.CostPerHour, from, to, reason, cause), null));
            if (_channel is { } channel)
            {
                channel.OnStateChangedAsync(to).Ignore();
            }
        }
    }

    /// <summary>Sets the one timer for the next moment the state could change (or the probation ends).</summary>
    private void ScheduleCheck()
    {
        var s = state.State;
        var next = AgentLifecycle.NextCheck(s.State, _lastHeartbeat, _options, _channel is null ? _disconnectedAt : null);
        if (s.QuarantineHold && s.ProbationUntil is { } until && (next is null || until < next))
        {
            next = until;
        }

        if (next is not { } at)
        {
            _timer?.Dispose();
            _timer = null;
            return;
        }

        var due = at - time.GetUtcNow();
        due = (due < TimeSpan.Zero ? TimeSpan.Zero : due) + TimeSpan.FromMilliseconds(10);
        if (_timer is null)
        {
            _timer = this.RegisterGrainTimer(static (self, _) => self.OnCheckAsync(), this,
                new GrainTimerCreationOptions { DueTime = due, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true });
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
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
            _lastHeartbeatReceived, _load, _inFlight, _channel is not null, s.QuarantineHold, s.ProbationUntil);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: {From} → {To} ({Reason})")]
    private static partial void LogTransition(ILogger logger, string agentId, AgentState from, AgentState to, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: command channel failed ({Reason}); commands wait for the next heartbeat")]
    private static partial void LogChannelFailed(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: restart through {Path} ({Reason})")]
    private static partial void LogRestart(ILogger logger, string agentId, string path, string reason);
}

[GenerateSerializer, Alias("meshos.AgentGrainState")]
public sealed class AgentGrainState
{
    [Id(0)] public AgentRegistration? Registration { get; set; }
    [Id(1)] public AgentState State { get; set; }
    [Id(2)] public string StateReason { get; set; } = string.Empty;
    [Id(3)] public DateTimeOffset RegisteredAt { get; set; }
    [Id(4)] public DateTimeOffset StateChangedAt { get; set; }

    /// <summary>Quarantined until an operator or the healing supervisor releases it (or its probation passes).</summary>
    [Id(5)] public bool QuarantineHold { get; set; }

    /// <summary>Draining until it has finished its work and gone Offline.</summary>
    [Id(6)] public bool DrainHold { get; set; }

    /// <summary>When a quarantine is lifted automatically; null: only by a release.</summary>
    [Id(7)] public DateTimeOffset? ProbationUntil { get; set; }
}
