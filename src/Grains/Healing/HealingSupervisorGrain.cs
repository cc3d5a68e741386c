using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Healing;

/// <summary>
/// The self-healing engine. It learns about the fleet only from the kernel's events (never by polling agents, never
/// on the job path) and acts back through the same grain interfaces operators use. Each tick it: declares dead the
/// agents Unresponsive longer than the grace (their leases are revoked so their jobs run elsewhere at once),
/// restarts dead agents with exponential backoff, quarantines agents that fail too often, degrades agents that
/// perform far below their pool, watches queue pressure, and opens, updates and clears incidents from fleet impact.
/// Every action is recorded.
/// </summary>
internal sealed partial class HealingSupervisorGrain(
    [PersistentState("healing", MeshStorage.GrainStore)] IPersistentState<HealingState> state,
    IOptions<HealingOptions> options,
    IOptions<AgentOptions> agentOptions,
    IOptions<JobOptions> jobOptions,
    EventPublisher events,
    IAuditLog audit,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<HealingSupervisorGrain> logger) : Grain, IHealingSupervisorGrain, IRemindable,
    IMeshEventHandler<AgentStateChanged>, IMeshEventHandler<JobAttemptEnded>
{
    private static readonly TimeSpan SaveEvery = TimeSpan.FromSeconds(2);
    private readonly HealingOptions _options = options.Value;
    private readonly Dictionary<string, Queue<AttemptSample>> _agentSamples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<AttemptSample>> _poolSamples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _poolCompletionsPerMinute = new(StringComparer.Ordinal);
    private readonly List<(string DedupKey, string Message)> _annotations = [];
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);
    private DateTimeOffset _lastPrune;
    private DateTimeOffset _lastQueueCheck;
    private DateTimeOffset _lastDegradationCheck;
    private DateTimeOffset _lastSave;
    private bool _dirty;
    private bool _evaluating;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        if (state.State.Agents.Count == 0)
        {
            await SeedFromDirectoryAsync();
        }

        this.RegisterGrainTimer(static (self, _) => self.EvaluateAsync(), this,
            new GrainTimerCreationOptions { DueTime = _options.TickInterval, Period = _options.TickInterval, Interleave = false, KeepAlive = true });
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await state.WriteStateAsync();
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public async Task OnEventsAsync(ImmutableArray<MeshEvent> batch)
    {
        var s = state.State;
        foreach (var e in batch)
        {
            if (e.Position <= s.LastPosition)
            {
                continue; // redelivered: at-least-once
            }

            MeshEventDispatch.Dispatch(this, e);

            s.LastPosition = e.Position;
            s.EventsProcessed++;
        }

        _dirty = true;
        if (_options.Enabled)
        {
            // Incidents follow impact at once rather than at the next tick.
            await FlushAnnotationsAsync();
            await EvaluatePoolsAsync(time.GetUtcNow());
        }

        await SaveIfDueAsync(force: false);
    }

    public Task<HealingReport> GetReportAsync(int recent)
    {
        var pools = PoolHealthNow();
        var remediations = state.State.Remediations.AsEnumerable().Reverse().Take(Math.Clamp(recent, 0, 1_000)).ToImmutableArray();
        return Task.FromResult(new HealingReport(pools, remediations, [.. state.State.Recommendations.AsEnumerable().Reverse().Take(20)], state.State.EventsProcessed));
    }

    public Task<ImmutableArray<Remediation>> GetRemediationsAsync(string? subject, int limit) =>
        Task.FromResult(state.State.Remediations.AsEnumerable().Reverse()
            .Where(r => subject is null || r.Subject == subject)
            .Take(Math.Clamp(limit, 1, 10_000))
            .ToImmutableArray());

    public async Task EvaluateAsync()
    {
        if (!_options.Enabled || _evaluating)
        {
            return;
        }

        _evaluating = true;
        try
        {
            var now = time.GetUtcNow();
            await DeclareDeathsAsync(now);
            await QuarantineRepeatOffendersAsync(now);
            await RestartDeadAsync(now);
            await EvaluateDegradationAsync(now);
            await FlushAnnotationsAsync();
            await EvaluatePoolsAsync(now);
            if (now - _lastPrune >= PruneEvery)
            {
                _lastPrune = now;
                Prune(now);
            }

            if (now - _lastQueueCheck >= _options.QueueCheckInterval)
            {
                _lastQueueCheck = now;
                await EvaluateQueuesAsync(now);
            }

            await SaveIfDueAsync(force: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogEvaluationFailed(logger, ex.GetBaseException().Message);
        }
        finally
        {
            _evaluating = false;
        }
    }

    void IMeshEventHandler<AgentStateChanged>.Handle(MeshEvent envelope, AgentStateChanged payload) => OnAgentStateChanged(envelope.At, payload);

    void IMeshEventHandler<JobAttemptEnded>.Handle(MeshEvent envelope, JobAttemptEnded payload) => OnAttemptEnded(envelope.At, payload);

    private void OnAgentStateChanged(DateTimeOffset at, AgentStateChanged change)
    {
        var agents = state.State.Agents;
        if (!agents.TryGetValue(change.AgentId, out var view))
        {
            view = new AgentView { Pool = change.Pool, Owner = change.Owner };
            agents[change.AgentId] = view;
        }

        view.Pool = change.Pool;
        view.State = change.To;
        view.Since = at;
        view.Gone = change.To == AgentState.Offline && (change.From == AgentState.Draining || AgentChangeCauses.LeftOnPurpose(change.Cause));
        if (change.From == AgentState.Quarantined && change.To != AgentState.Quarantined)
        {
            var automatic = change.Cause == AgentChangeCause.ProbationEnded;
            Record(at, RemediationStep.Release, change.AgentId, $"{change.Reason}; now {change.To}", automatic);
        }

        if (change.To is AgentState.Healthy or AgentState.Degraded && view.Dead)
        {
            if (change.From is AgentState.Unresponsive or AgentState.Offline)
            {
                Record(at, RemediationStep.Restart, change.AgentId, $"back {change.To} after {(at - (view.DeadAt ?? at)).TotalSeconds:0.#} s dead ({view.Restarts} restart(s))", true);
            }

            view.Dead = false;
            view.DeadAt = null;
            view.NextRestartAt = null;
            view.Restarts = 0;
        }

        if (change.To != AgentState.Degraded)
        {
            view.DegradedByHealing = false;
        }
    }

    private void OnAttemptEnded(DateTimeOffset at, JobAttemptEnded job)
    {
        if (job.Outcome == AttemptOutcome.TimedOut)
        {
            Record(at, RemediationStep.StuckJob, job.JobId.ToString(),
                $"ran past its timeout on {job.AgentId}: cancelled there, job now {job.Status}", true);
        }

        if (job.AgentId is not { } agentId || job.Outcome is AttemptOutcome.Cancelled or AttemptOutcome.Released)
        {
            return;
        }

        var failed = job.Outcome is AttemptOutcome.Failed or AttemptOutcome.TimedOut or AttemptOutcome.LeaseLost;
        var sample = new AttemptSample(at, failed, job.RunTime);
        Add(_agentSamples, agentId, sample, at);
        Add(_poolSamples, job.Pool, sample, at);
        if (job.Outcome == AttemptOutcome.Succeeded)
        {
            _poolCompletionsPerMinute[job.Pool] = _poolCompletionsPerMinute.GetValueOrDefault(job.Pool) * 0.98 + 1;
        }

        if (job.Outcome is AttemptOutcome.TimedOut or AttemptOutcome.LeaseLost
            && state.State.Agents.TryGetValue(agentId, out var view) && HealingPolicy.CountsLeaseFailure(view.State, view.Dead))
        {
            if (job.Outcome == AttemptOutcome.LeaseLost)
            {
                if (!HealingPolicy.IsNewLeaseLoss(at, view.LastLeaseLossAt, jobOptions.Value.LeaseDuration))
                {
                    return;
                }

                view.LastLeaseLossAt = at;
            }

            view.Failures.Add(at);
        }
    }

    private async Task DeclareDeathsAsync(DateTimeOffset now)
    {
        foreach (var (agentId, view) in AgentsWhere(v => !v.Dead && !v.Gone && v.State == AgentState.Unresponsive && now - v.Since >= _options.DeadAfter))
        {
            HealingPolicy.DropSymptomsOfSilence(view.Failures, view.Since, agentOptions.Value.UnresponsiveAfter, view.LastDeathAt);
            view.Dead = true;
            view.DeadAt = now;
            view.LastDeathAt = now;
            view.Failures.Add(now);
            view.Failures.RemoveAll(f => now - f > _options.QuarantineWindow);
            Act(now, RemediationStep.DeclaredDead, agentId, $"Unresponsive for {(now - view.Since).TotalSeconds:0.#} s (grace {_options.DeadAfter.TotalSeconds:0.#} s)");

            var agent = GrainFactory.GetGrain<IAgentGrain>(agentId);
            var revoked = await agent.RevokeLeasesAsync("agent declared dead");
            Act(now, RemediationStep.Reassign, agentId, $"{revoked} leased job(s) returned to their queues at once");

            if (HealingPolicy.ShouldQuarantine(view.Failures, now, _options))
            {
                await QuarantineAsync(agentId, view, now);
            }

            await RestartAsync(agentId, view, now);
        }
    }

    /// <summary>Live agents whose jobs keep timing out or losing their leases reach the quarantine rung too.</summary>
    private async Task QuarantineRepeatOffendersAsync(DateTimeOffset now)
    {
        // New evidence only: failures since its last quarantine (a released agent is not re-quarantined for old ones).
        foreach (var (agentId, view) in AgentsWhere(v => !v.Gone && v.State is AgentState.Healthy or AgentState.Degraded
            && v.Failures.Count >= _options.QuarantineFailures && v.Failures.Any(f => v.LastQuarantinedAt is not { } last || f > last)))
        {
            view.Failures.RemoveAll(f => now - f > _options.QuarantineWindow);
            if (HealingPolicy.ShouldQuarantine(view.Failures, now, _options))
            {
                await QuarantineAsync(agentId, view, now);
            }
        }
    }

    private async Task QuarantineAsync(string agentId, AgentView view, DateTimeOffset now)
    {
        var failures = view.Failures.Count;
        await GrainFactory.GetGrain<IAgentGrain>(agentId).QuarantineAsync($"{failures} failures within {Format(_options.QuarantineWindow)}",
            _options.Probation > TimeSpan.Zero ? _options.Probation : null);
        view.State = AgentState.Quarantined;
        view.LastQuarantinedAt = now;
        Act(now, RemediationStep.Quarantine, agentId,
            $"{failures} failures within {Format(_options.QuarantineWindow)}; " +
            (_options.Probation > TimeSpan.Zero ? $"probation {Format(_options.Probation)}" : "until released by an operator"));
    }

    private static string Format(TimeSpan span) =>
        span >= TimeSpan.FromMinutes(1) ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.#} s";

    private async Task RestartDeadAsync(DateTimeOffset now)
    {
        // A quarantined agent is left alone until its release; restarts resume if it is still dead then.
        foreach (var (agentId, view) in AgentsWhere(v => v.Dead && !v.Gone && v.NextRestartAt is { } at && now >= at
            && v.State is AgentState.Unresponsive or AgentState.Offline))
        {
            await RestartAsync(agentId, view, now);
        }
    }

    /// <summary>
    /// The agents a tick acts on, copied because acting awaits calls. Only the matches: the ticks run every second,
    /// and copying every agent each time (20,000 entries, 320 KB) made a large-object garbage the GC had to chase.
    /// </summary>
    private List<KeyValuePair<string, AgentView>> AgentsWhere(Func<AgentView, bool> predicate) =>
        [.. state.State.Agents.Where(a => predicate(a.Value))];

    private async Task RestartAsync(string agentId, AgentView view, DateTimeOffset now)
    {
        var path = await GrainFactory.GetGrain<IAgentGrain>(agentId).RestartAsync($"healing: restart {view.Restarts + 1}");
        view.Restarts++;
        var delay = HealingPolicy.RestartDelay(view.Restarts, _options);
        view.NextRestartAt = now + delay;
        Act(now, RemediationStep.Restart, agentId,
            $"restart {view.Restarts} through {(path == RestartPath.Runtime ? "its runtime" : "a command")}; next in {delay.TotalSeconds:0} s if still dead");
    }

    private async Task EvaluateDegradationAsync(DateTimeOffset now)
    {
        if (now - _lastDegradationCheck < _options.DegradationCheckInterval)
        {
            return;
        }

        _lastDegradationCheck = now;
        var pools = new Dictionary<string, PerformanceFigures>(StringComparer.Ordinal);
        foreach (var (agentId, samples) in _agentSamples)
        {
            Trim(samples, now);
            if (!state.State.Agents.TryGetValue(agentId, out var view) || !_poolSamples.TryGetValue(view.Pool, out var poolSamples)
                || (view.State != AgentState.Healthy && !(view.State == AgentState.Degraded && view.DegradedByHealing)))
            {
                continue;
            }

            if (!pools.TryGetValue(view.Pool, out var pool))
            {
                Trim(poolSamples, now);
                pool = PerformanceFigures.Of(poolSamples);
                pools[view.Pool] = pool;
            }

            var agent = PerformanceFigures.Of(samples);
            // The agent's own state-change event arrives later through the event log: the view takes the new state at
            // once, so that the next check (possibly before that event) neither degrades it twice nor misses a recovery.
            if (view.State == AgentState.Healthy && !view.DegradedByHealing && HealingPolicy.IsOutlier(agent, pool, _options))
            {
                var reason = $"error rate {agent.ErrorRate:P0} vs pool {pool.ErrorRate:P0}, median {agent.MedianRunTime.TotalMilliseconds:0} ms vs {pool.MedianRunTime.TotalMilliseconds:0} ms";
                await GrainFactory.GetGrain<IAgentGrain>(agentId).SetDegradedAsync(true, reason);
                view.DegradedByHealing = true;
                view.State = AgentState.Degraded;
                Act(now, RemediationStep.Degrade, agentId, reason);
            }
            else if (view.State == AgentState.Degraded && view.DegradedByHealing && HealingPolicy.HasRecovered(agent, pool, _options))
            {
                await GrainFactory.GetGrain<IAgentGrain>(agentId).SetDegradedAsync(false, "back in line with its pool");
                view.DegradedByHealing = false;
                view.State = AgentState.Healthy;
                Act(now, RemediationStep.Recover, agentId, $"error rate {agent.ErrorRate:P0}, median {agent.MedianRunTime.TotalMilliseconds:0} ms");
            }
        }
    }

    private async Task EvaluatePoolsAsync(DateTimeOffset now)
    {
        var incidents = GrainFactory.GetGrain<IIncidentDirectoryGrain>(0);
        var pools = PoolHealthNow();

        // A pool whose agents all left on purpose (or were forgotten) has nothing unavailable any more.
        foreach (var key in state.State.OpenAlerts.Keys.Where(k => k.StartsWith("pool-", StringComparison.Ordinal)).ToList())
        {
            var pool = key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..];
            if (!pools.Any(p => p.Pool == pool))
            {
                await RaiseOrClearAsync(incidents, key, null, string.Empty, string.Empty, $"pool '{pool}' has no agents left that count");
            }
        }

        foreach (var pool in pools)
        {
            var key = $"pool-availability:{pool.Pool}";
            var severity = HealingPolicy.AvailabilitySeverity(pool.Agents, pool.Unavailable);
            var title = $"Pool '{pool.Pool}': {pool.Unavailable} of {pool.Agents} agent(s) unavailable";
            await RaiseOrClearAsync(incidents, key, severity, title,
                $"{pool.Available} available, {pool.Unavailable} unavailable ({pool.Quarantined} quarantined), {pool.Degraded} degraded",
                $"all {pool.Agents} agent(s) of pool '{pool.Pool}' available again");

            if (_poolSamples.TryGetValue(pool.Pool, out var samples))
            {
                Trim(samples, now);
                var failed = samples.Count(x => x.Failed);
                var degraded = samples.Count >= _options.DegradationMinSamples && (double)failed / samples.Count > _options.PoolErrorRateSlo;
                if (degraded == state.State.OpenAlerts.ContainsKey($"pool-performance:{pool.Pool}"))
                {
                    continue; // no change: spare the median
                }

                var figures = PerformanceFigures.Of(samples);
                await RaiseOrClearAsync(incidents, $"pool-performance:{pool.Pool}", degraded ? IncidentSeverity.P2 : null,
                    $"Pool '{pool.Pool}': error rate {figures.ErrorRate:P0} over the SLO of {_options.PoolErrorRateSlo:P0}",
                    $"{figures.Samples} attempts in the last {_options.DegradationWindow.TotalMinutes:0.#} min, median run time {figures.MedianRunTime.TotalMilliseconds:0} ms",
                    $"error rate {figures.ErrorRate:P0} back under the SLO");
            }
        }
    }

    private async Task EvaluateQueuesAsync(DateTimeOffset now)
    {
        var topology = await GrainFactory.GetGrain<IQueueDirectoryGrain>(0).ListAsync();
        var incidents = GrainFactory.GetGrain<IIncidentDirectoryGrain>(0);
        foreach (var queue in topology.Queues)
        {
            var stats = await Task.WhenAll(Enumerable.Range(0, topology.Shards)
                .Select(shard => GrainFactory.GetGrain<IQueueGrain>(new QueueKey(queue.Pool, queue.Capability, shard).ToString()).GetStatsAsync()));
            var pending = stats.Sum(st => st.Ready + st.Delayed);
            var name = $"{queue.Pool}/{queue.Capability}";
            var key = $"queue-pressure:{name}";
            if (pending <= _options.QueuePressureThreshold)
            {
                state.State.PressureSince.Remove(name);
                await RaiseOrClearAsync(incidents, key, null, string.Empty, string.Empty, $"backlog of {name} down to {pending}");
                continue;
            }

            if (!state.State.PressureSince.TryGetValue(name, out var since))
            {
                state.State.PressureSince[name] = now;
                continue;
            }

            if (now - since < _options.QueuePressureDuration)
            {
                continue;
            }

            var pool = PoolHealthNow().FirstOrDefault(p => p.Pool == queue.Pool);
            var available = pool?.Available ?? 0;
            var perAgent = available == 0 ? 0 : _poolCompletionsPerMinute.GetValueOrDefault(queue.Pool) / Math.Max(1, available);
            var suggested = HealingPolicy.SuggestedAgents(pending, perAgent);
            var reason = $"{pending} jobs pending for {(now - since).TotalSeconds:0} s (threshold {_options.QueuePressureThreshold}) with {available} available agent(s)";
            var last = state.State.Recommendations.LastOrDefault(r => r.Pool == queue.Pool && r.Capability == queue.Capability);
            if (last is null || now - last.At >= _options.QueuePressureDuration)
            {
                var recommendation = new ScaleRecommendation(now, queue.Pool, queue.Capability, pending, available, suggested, reason);
                state.State.Recommendations.Add(recommendation);
                if (state.State.Recommendations.Count > 100)
                {
                    state.State.Recommendations.RemoveAt(0);
                }

                Record(now, RemediationStep.ScaleUp, name, $"add {suggested} agent(s): {reason}", true);
                await events.PublishAsync(new MeshEvent(0, now, recommendation));
            }

            await RaiseOrClearAsync(incidents, key, IncidentSeverity.P2, $"Queue {name}: capacity below demand", reason + $"; recommended: add {suggested} agent(s)", string.Empty);
        }
    }

    private async Task RaiseOrClearAsync(IIncidentDirectoryGrain incidents, string key, IncidentSeverity? severity, string title, string detail, string clearReason)
    {
        var open = state.State.OpenAlerts;
        if (severity is { } sev)
        {
            if (!open.TryGetValue(key, out var raised) || raised != sev)
            {
                await incidents.RaiseAsync(new Alert(key, sev, title, "healing", detail));
                open[key] = sev;
                _dirty = true;
            }
        }
        else if (open.Remove(key))
        {
            await incidents.ClearAsync(key, clearReason);
            _dirty = true;
        }
    }

    private ImmutableArray<PoolHealth> PoolHealthNow()
    {
        var now = time.GetUtcNow();
        return [.. state.State.Agents.Values
            .Where(a => !a.Gone && a.State != AgentState.Draining)
            .Where(a => !(a.State == AgentState.Offline && now - a.Since > _options.ForgetDeadAgentsAfter))
            .GroupBy(a => a.Pool, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var unavailable = g.Count(a => a.State is AgentState.Unresponsive or AgentState.Quarantined or AgentState.Offline);
                return new PoolHealth(g.Key, g.Count(), g.Count() - unavailable, unavailable,
                    g.Count(a => a.State == AgentState.Degraded), g.Count(a => a.State == AgentState.Quarantined));
            })];
    }

    private async Task SeedFromDirectoryAsync()
    {
        var shards = await Task.WhenAll(Enumerable.Range(0, agentOptions.Value.DirectoryShards)
            .Select(shard => GrainFactory.GetGrain<IAgentDirectoryGrain>(shard).ListAsync(null, null, int.MaxValue)));
        foreach (var agent in shards.SelectMany(s => s))
        {
            state.State.Agents[agent.AgentId] = new AgentView
            {
                Pool = agent.Pool,
                Owner = agent.Owner,
                State = agent.State,
                Since = agent.StateChangedAt,
                Gone = agent.State == AgentState.Offline,
            };
        }
    }

    /// <summary>
    /// Records an action the supervisor took on an agent, and appends it to the audit log as the mesh's own
    /// (<c>healing.{step}</c> on <c>agent/{id}</c>, actor system/healing). The append is not awaited: a tick may act on
    /// hundreds of agents, and the group commit batches them; a failed append is logged.
    /// </summary>
    private void Act(DateTimeOffset at, RemediationStep step, string agentId, string detail)
    {
        Record(at, step, agentId, detail, automatic: true);
        if (audit.Enabled)
        {
            _ = AuditAsync(HealingAudit.Draft(step, agentId, detail));
        }
    }

    private async Task AuditAsync(AuditDraft draft)
    {
        try
        {
            await audit.AppendAsync(draft);
        }
        catch (Exception ex)
        {
            LogAuditFailed(logger, draft.Action, draft.Target, ex.GetBaseException().Message);
        }
    }

    private void Record(DateTimeOffset at, RemediationStep step, string subject, string detail, bool automatic)
    {
        var remediations = state.State.Remediations;
        remediations.Add(new Remediation(at, step, subject, detail, automatic));
        if (remediations.Count > _options.RemediationHistory)
        {
            remediations.RemoveRange(0, remediations.Count - _options.RemediationHistory);
        }

        _dirty = true;
        LogRemediation(logger, step, subject, detail);
        if (state.State.Agents.TryGetValue(subject, out var view) && state.State.OpenAlerts.ContainsKey($"pool-availability:{view.Pool}"))
        {
            _annotations.Add(($"pool-availability:{view.Pool}", $"{step} {subject}: {detail}"));
        }
    }

    /// <summary>Writes remediations into their pool's open incident timeline, before the incident can be cleared.</summary>
    private async Task FlushAnnotationsAsync()
    {
        if (_annotations.Count == 0)
        {
            return;
        }

        var pending = _annotations.ToList();
        _annotations.Clear();
        var directory = GrainFactory.GetGrain<IIncidentDirectoryGrain>(0);
        foreach (var group in pending.GroupBy(a => a.DedupKey))
        {
            if (await directory.FindOpenAsync(group.Key) is { } incidentId)
            {
                var incident = GrainFactory.GetGrain<IIncidentGrain>(incidentId);
                foreach (var (_, message) in group.Take(50))
                {
                    await incident.AnnotateAsync("healing", message);
                }
            }
        }
    }

    private void Add(Dictionary<string, Queue<AttemptSample>> samples, string key, AttemptSample sample, DateTimeOffset now)
    {
        if (!samples.TryGetValue(key, out var queue))
        {
            queue = new Queue<AttemptSample>();
            samples[key] = queue;
        }

        queue.Enqueue(sample);
        Trim(queue, now);
    }

    /// <summary>
    /// Bounds the state by what still matters: agents Offline past <see cref="HealingOptions.ForgetDeadAgentsAfter"/>
    /// are forgotten with their samples, and sample keys whose samples all left the window are dropped.
    /// </summary>
    private void Prune(DateTimeOffset now)
    {
        foreach (var (agentId, view) in state.State.Agents)
        {
            if (HealingPolicy.IsForgotten(view.State, view.Since, now, _options))
            {
                state.State.Agents.Remove(agentId);
                _agentSamples.Remove(agentId);
                _dirty = true;
            }
        }

        foreach (var samples in new[] { _agentSamples, _poolSamples })
        {
            foreach (var (key, queue) in samples)
            {
                Trim(queue, now);
                if (queue.Count == 0)
                {
                    samples.Remove(key);
                }
            }
        }

        foreach (var pool in _poolCompletionsPerMinute.Keys.Where(p => !_poolSamples.ContainsKey(p)).ToList())
        {
            _poolCompletionsPerMinute.Remove(pool);
        }
    }

    private void Trim(Queue<AttemptSample> samples, DateTimeOffset now)
    {
        while (samples.Count > 0 && (now - samples.Peek().At > _options.DegradationWindow || samples.Count > 10_000))
        {
            samples.Dequeue();
        }
    }

    private async Task SaveIfDueAsync(bool force)
    {
        var now = time.GetUtcNow();
        if (_dirty && (force || now - _lastSave >= SaveEvery))
        {
            _dirty = false;
            _lastSave = now;
            await state.WriteStateAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit entry {Action} on {Target} could not be appended: {Reason}")]
    private static partial void LogAuditFailed(ILogger logger, string action, string target, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Healing: {Step} {Subject}: {Detail}")]
    private static partial void LogRemediation(ILogger logger, RemediationStep step, string subject, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Healing: evaluation failed: {Reason}")]
    private static partial void LogEvaluationFailed(ILogger logger, string reason);
}

[GenerateSerializer, Alias("meshos.HealingState")]
public sealed class HealingState
{
    [Id(0)] public long LastPosition { get; set; }
    [Id(1)] public long EventsProcessed { get; set; }
    [Id(2)] public Dictionary<string, AgentView> Agents { get; set; } = new(StringComparer.Ordinal);
    [Id(3)] public List<Remediation> Remediations { get; set; } = [];
    [Id(4)] public List<ScaleRecommendation> Recommendations { get; set; } = [];
    [Id(5)] public Dictionary<string, DateTimeOffset> PressureSince { get; set; } = new(StringComparer.Ordinal);
    [Id(6)] public Dictionary<string, IncidentSeverity> OpenAlerts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The supervisor's view of one agent, built from its state-change events.</summary>
[GenerateSerializer, Alias("meshos.HealingAgentView")]
public sealed class AgentView
{
    [Id(0)] public string Pool { get; set; } = string.Empty;
    [Id(1)] public string Owner { get; set; } = string.Empty;
    [Id(2)] public AgentState State { get; set; }
    [Id(3)] public DateTimeOffset Since { get; set; }

    /// <summary>Left on purpose (drained, deregistered): not counted in its pool.</summary>
    [Id(4)] public bool Gone { get; set; }

    /// <summary>Declared dead: its leases were revoked, restarts are under way.</summary>
    [Id(5)] public bool Dead { get; set; }
    [Id(6)] public DateTimeOffset? DeadAt { get; set; }
    [Id(7)] public List<DateTimeOffset> Failures { get; set; } = [];
    [Id(8)] public int Restarts { get; set; }
    [Id(9)] public DateTimeOffset? NextRestartAt { get; set; }
    [Id(10)] public bool DegradedByHealing { get; set; }
    [Id(11)] public DateTimeOffset? LastQuarantinedAt { get; set; }

    /// <summary>When it was last declared dead (kept after it is back, unlike <see cref="DeadAt"/>).</summary>
    [Id(12)] public DateTimeOffset? LastDeathAt { get; set; }

    /// <summary>When a lost lease of it was last counted as a failure (see <see cref="HealingPolicy.IsNewLeaseLoss"/>).</summary>
    [Id(13)] public DateTimeOffset? LastLeaseLossAt { get; set; }
}
