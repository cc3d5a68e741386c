using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using MeshOs.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Kernel.Agents;

/// <summary>
/// One agent, the single writer of its record in the <see cref="IAgentStore"/>. Heartbeats stay in memory; a
/// registration that changes something and every state change is written to the store together with its
/// AgentStateChanged event (one group-committed write, nothing else waits on storage), then reported to the agent
/// directory. A re-registration that changes nothing (a reconnect) writes nothing. One timer, set for the next moment
/// the state could change, declares the agent Unresponsive after <see cref="AgentOptions.MissedHeartbeats"/> silent
/// intervals (sooner when its stream closed and it did not come back), and Offline later.
/// </summary>
internal sealed partial class AgentGrain(
    IAgentStore store,
    IOptions<AgentOptions> options,
    IOptions<JobOptions> jobOptions,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<AgentGrain> logger) : Grain, IAgentGrain
{
    private readonly AgentOptions _options = options.Value;
    private AgentRecord? _agent; // as stored; null until it registers
    private Queue<AgentCommand>? _pendingCommands; // most agents never have one waiting
    private IAgentChannelObserver? _channel;
    private IGrainTimer? _timer;
    private DateTimeOffset _lastHeartbeat;
    private DateTimeOffset? _lastHeartbeatReceived;
    private DateTimeOffset? _disconnectedAt;
    private double _load;
    private int _inFlight;

    /// <summary>The registration's copy once registered (the grain key would be a new string on every use).</summary>
    private string AgentId => _agent?.AgentId ?? this.GetPrimaryKeyString();

    private int DirectoryShard => AgentPolicy.DirectoryShard(AgentId, _options.DirectoryShards);

    private IAgentDirectoryGrain Directory => GrainFactory.GetGrain<IAgentDirectoryGrain>(DirectoryShard);

    private AgentHolds Holds => _agent is { } a ? new(a.QuarantineHold, a.DrainHold) : default;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // After a silo failure the agent may still be alive and heartbeating elsewhere: give it a full window.
        _lastHeartbeat = time.GetUtcNow();
        AgentRecord? stored;
        try
        {
            stored = await store.GetAsync(this.GetPrimaryKeyString(), cancellationToken);
        }
        catch (Exception ex) when (ex is not (MeshException or OperationCanceledException))
        {
            LogStoreFailed(logger, this.GetPrimaryKeyString(), "read", ex);
            throw MeshException.Unavailable("The agent store is unavailable. Retry later.");
        }

        if (stored is not null)
        {
            _agent = stored with { Registration = SharedValues.Silo.Share(stored.Registration) };
            ScheduleCheck();

            // Re-report: the directory shard may have missed this agent's last change (its silo or ours failed between
            // the write and the report); it reads the store only when it activates.
            await ReportToDirectoryAsync();
        }
    }

    public async Task<AgentRegistered> RegisterAsync(AgentRegistration registration, IAgentChannelObserver? channel)
    {
        AgentPolicy.Validate(registration);
        if (registration.AgentId != AgentId)
        {
            throw MeshException.Invalid("agentId does not match the agent addressed.");
        }

        if (_agent is { } known && known.Registration.Owner != registration.Owner)
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
        var current = _agent ?? new AgentRecord(registration, DirectoryShard, AgentState.Registering, string.Empty, now, now,
            QuarantineHold: false, DrainHold: false, ProbationUntil: null, Version: 0);
        var shared = SharedValues.Silo.Share(registration);
        await TransitionAsync(current, current with { Registration = shared }, AgentLifecycle.OnRegister(current.State, Holds), AgentChangeCause.Registered,
            _agent is null ? "registered" : "re-registered", tellChannel: false); // the answer carries the state
        ScheduleCheck();
        return new AgentRegistered(ToInfo(), _options.HeartbeatInterval, jobOptions.Value.LeaseDuration);
    }

    public async Task<HeartbeatAck> HeartbeatAsync(AgentHeartbeat heartbeat)
    {
        if (_agent is null)
        {
            throw MeshException.Precondition("The agent must register before it heartbeats.");
        }

        var now = time.GetUtcNow();
        _lastHeartbeat = now;
        _lastHeartbeatReceived = now;
        _load = heartbeat.Load;
        var inFlight = heartbeat.InFlight.IsDefault ? [] : heartbeat.InFlight;
        _inFlight = inFlight.Length;

        if (_agent.State != AgentState.Offline)
        {
            var next = AgentLifecycle.OnHeartbeat(_agent.State, _inFlight, Holds);
            if (next != _agent.State)
            {
                await TransitionAsync(_agent, _agent, next, next == AgentState.Offline ? AgentChangeCause.DrainCompleted : AgentChangeCause.HeartbeatResumed, next == AgentState.Offline ? "drained" : "heartbeat resumed", tellChannel: false); // so does the ack
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

        return new HeartbeatAck(_agent.State, revoked, commands);
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
        var agent = EnsureRegistered();
        if (agent.State is not (AgentState.Offline or AgentState.Draining))
        {
            await TransitionAsync(agent, agent with { DrainHold = true }, _inFlight == 0 && _channel is null ? AgentState.Offline : AgentState.Draining, AgentChangeCause.DrainRequested, reason);
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

    public Task<AgentInfo?> GetAsync() => Task.FromResult(_agent is null ? null : ToInfo());

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
        var agent = EnsureRegistered();
        var until = probation is { } p && p > TimeSpan.Zero ? time.GetUtcNow() + p : (DateTimeOffset?)null;
        await TransitionAsync(agent, agent with { QuarantineHold = true, ProbationUntil = until }, AgentState.Quarantined, AgentChangeCause.Quarantined, reason);
        ScheduleCheck();
        return ToInfo();
    }

    public Task<AgentInfo> ReleaseAsync(string reason) => ReleaseAsync(AgentChangeCause.Released, reason);

    private async Task<AgentInfo> ReleaseAsync(AgentChangeCause cause, string reason)
    {
        var agent = EnsureRegistered();
        if (agent.QuarantineHold || agent.State == AgentState.Quarantined)
        {
            var silent = time.GetUtcNow() - _lastHeartbeat > _options.UnresponsiveAfter || (_channel is null && _disconnectedAt is not null);
            await TransitionAsync(agent, agent with { QuarantineHold = false, ProbationUntil = null }, silent ? AgentState.Unresponsive : AgentState.Healthy, cause, reason);
            ScheduleCheck();
        }

        return ToInfo();
    }

    public async Task<AgentInfo> SetDegradedAsync(bool degraded, string reason)
    {
        var current = EnsureRegistered().State;
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
        var reg = EnsureRegistered().Registration;
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
    /// Registering starts a new session: a queued restart would restart it again. A queued cancel names the lease it is
    /// about, so it still applies to a run the agent carried over from the old session and leaves a later lease of the
    /// same job alone (the agent acts on it only while it holds that epoch); one without an epoch is dropped. A drain
    /// still applies.
    /// </summary>
    private void DropCommandsOfPreviousSession()
    {
        if (_pendingCommands is not { Count: > 0 } pending)
        {
            return;
        }

        var keep = pending.Where(c => c.Kind switch
        {
            AgentCommandKind.Restart => false,
            AgentCommandKind.CancelJob => c.Epoch > 0,
            _ => true,
        }).ToList();
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
        var agent = _agent!;
        if (agent.QuarantineHold && agent.ProbationUntil is { } until && now >= until)
        {
            await ReleaseAsync(AgentChangeCause.ProbationEnded, "probation passed");
            return;
        }

        var next = AgentLifecycle.OnTick(agent.State, _lastHeartbeat, now, _options, _channel is null ? _disconnectedAt : null);
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

    private Task TransitionAsync(AgentState to, AgentChangeCause cause, string reason) => TransitionAsync(_agent!, _agent!, to, cause, reason);

    /// <summary>
    /// Moves the agent from <paramref name="current"/> (as stored) to <paramref name="changed"/> in state
    /// <paramref name="to"/> for <paramref name="cause"/>: written with its AgentStateChanged event, then reported to the directory and, with
    /// <paramref name="tellChannel"/>, pushed down the agent's channel (not when the change answers a call from that
    /// channel: its answer carries the state). Nothing is written when neither the state nor anything else changed.
    /// When the write fails the agent stays as stored.
    /// </summary>
    private async Task TransitionAsync(AgentRecord current, AgentRecord changed, AgentState to, AgentChangeCause cause, string reason, bool tellChannel = true)
    {
        var from = current.State;
        if (from == to && changed == current)
        {
            return;
        }

        var now = time.GetUtcNow();
        var next = changed with
        {
            State = to,
            StateReason = reason,
            StateChangedAt = from != to ? now : current.StateChangedAt,
            DrainHold = to != AgentState.Offline && changed.DrainHold, // a drain ends when the agent is gone
            Version = current.Version + 1,
        };
        var reg = next.Registration;
        ImmutableArray<MeshEvent> events = from == to ? [] :
        [
            new MeshEvent(0, now,
                new AgentStateChanged(reg.AgentId, reg.Owner, reg.Pool, reg.Region, reg.Version, reg.CostPerHour, from, to, reason, cause, reg.Runtime)),
        ];
        await WriteAsync(next, events);
        _agent = next;
        await ReportToDirectoryAsync();
        if (from != to)
        {
            KernelMetrics.AgentStateChanged(from, to);
            LogTransition(logger, AgentId, from, to, reason);
            if (tellChannel && _channel is { } channel)
            {
                channel.OnStateChangedAsync(to).Ignore();
            }
        }
    }

    private async Task WriteAsync(AgentRecord next, ImmutableArray<MeshEvent> events)
    {
        bool written;
        try
        {
            written = await store.WriteAsync(next, events);
        }
        catch (Exception ex) when (ex is not MeshException)
        {
            LogStoreFailed(logger, AgentId, "write", ex);
            throw MeshException.Unavailable("The agent store is unavailable; nothing was changed. Retry later.");
        }

        if (!written)
        {
            // Another activation of this agent (a silo failover) wrote a newer record: this one is stale. The next call
            // activates the agent afresh from the store.
            LogStale(logger, AgentId, next.Version);
            DeactivateOnIdle();
            throw MeshException.Unavailable("The agent was changed concurrently; nothing was changed. Retry.");
        }
    }

    /// <summary>
    /// The store has the truth; the directory shard is its listing. A failed report is not the caller's failure: the
    /// shard reads the store when it activates and this agent reports again when it next changes or activates.
    /// </summary>
    private async Task ReportToDirectoryAsync()
    {
        try
        {
            await Directory.UpsertAsync(_agent!.ToSummary());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDirectoryFailed(logger, AgentId, ex);
        }
    }

    /// <summary>Sets the one timer for the next moment the state could change (or the probation ends).</summary>
    private void ScheduleCheck()
    {
        var s = _agent!;
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

    private AgentRecord EnsureRegistered() => _agent ?? throw MeshException.NotFound($"Agent '{AgentId}'");

    private AgentInfo ToInfo()
    {
        var s = _agent!;
        return new AgentInfo(s.Registration, s.State, s.StateReason, s.RegisteredAt, s.StateChangedAt,
            _lastHeartbeatReceived, _load, _inFlight, _channel is not null, s.QuarantineHold, s.ProbationUntil);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: {From} → {To} ({Reason})")]
    private static partial void LogTransition(ILogger logger, string agentId, AgentState from, AgentState to, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: command channel failed ({Reason}); commands wait for the next heartbeat")]
    private static partial void LogChannelFailed(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: restart through {Path} ({Reason})")]
    private static partial void LogRestart(ILogger logger, string agentId, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: the agent store failed ({Operation})")]
    private static partial void LogStoreFailed(ILogger logger, string agentId, string operation, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: version {Version} was not written, a newer one is stored; deactivating this stale activation")]
    private static partial void LogStale(ILogger logger, string agentId, long version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: directory report failed; the shard reads the store when it activates")]
    private static partial void LogDirectoryFailed(ILogger logger, string agentId, Exception exception);
}
