using System.Collections.Immutable;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Jobs;
using MeshOs.Abstractions.Routing;
using MeshOs.Gateway.Routing;

namespace MeshOs.Gateway.Dispatch;

/// <summary>
/// Takes jobs from one pool/capability queue for this gateway's agents. While agents have credits it sweeps the
/// shards without waiting, in priority order across shards; when every shard is empty it parks one long-poll per
/// shard, so a job landing on any shard is dispatched at once. Jobs that arrive when no credit is left go back to
/// the queue. A job goes only to a session the residency and classification policies allow
/// (<see cref="Compliance.DataPlacementChecks"/>); one that none of the sessions with room may take is held back by
/// its shard for a moment (<see cref="IQueueGrain.HoldBackAsync"/>), so it neither spins through this poller nor
/// holds up the jobs behind it.
/// </summary>
internal sealed class QueuePoller : IDisposable
{
    private const int MaxBatch = 256;
    private static readonly TimeSpan ParkWait = TimeSpan.FromSeconds(5);

    /// <summary>How much longer than <see cref="ParkWait"/> a long-poll may take to answer before it is given up.</summary>
    private static readonly TimeSpan ParkGrace = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The longest a peek or take of a sweep waits (they answer in milliseconds). One that reached a silo just before
    /// it died would otherwise hold the sweep until the cluster's 30 s response timeout; the sweep fails and retries.
    /// </summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly DispatchHub _hub;
    private readonly QueueName _name;
    private readonly CreditedSessions _credited = new();

    /// <summary>Chooses among the sessions with room (README "Adaptive routing"); consulted only in <see cref="Reserve"/>.</summary>
    private readonly IRoutingPolicy _policy;

    /// <summary>What the pool learned about its agents, kept fresh while the policy reads it; null for round-robin.</summary>
    private readonly RoutingView? _view;

    private readonly List<AgentSession> _gathered = [];
    private RoutingCandidate[] _candidates = [];
    private readonly SemaphoreSlim _signal = new(0, 1);
    private int[] _parked = [];
    private IQueueGrain[] _queues = [];
    private int _shards;

    /// <summary>When this poller last found its agents without a free credit (UTC ticks; 0: never).</summary>
    private long _noRoomAtTicks;

    public QueuePoller(DispatchHub hub, QueueName name)
    {
        _hub = hub;
        _name = name;
        Routing = hub.Routing.For(name.Pool);
        _policy = Routing.CreatePolicy(hub.NewRandom());
        if (_policy.UsesStatistics)
        {
            _view = new RoutingView(hub.Grains, name.Pool, name.Capability, hub.Time, hub.Logger);
            _ = _view.RunAsync(hub.Routing.RefreshInterval, hub.Stopping);
        }

        Completion = Task.Run(RunAsync);
    }

    public Task Completion { get; }

    /// <summary>The pool's routing settings in force.</summary>
    public PoolRouting Routing { get; }

    public void Dispose() => _signal.Dispose();

    public void Add(AgentSession session)
    {
        lock (_hub.Gate)
        {
            _credited.Update(session);
        }

        Signal();
    }

    /// <summary>The session's credits or its closing changed; called under the hub's lock.</summary>
    public void CreditsChanged(AgentSession session) => _credited.Update(session);

    public void Signal()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    private int Demand()
    {
        int demand;
        lock (_hub.Gate)
        {
            demand = _credited.Demand(MaxBatch);
        }

        if (demand == 0)
        {
            Volatile.Write(ref _noRoomAtTicks, _hub.Time.GetUtcNow().UtcTicks);
        }

        return demand;
    }

    private async Task RunAsync()
    {
        var stopping = _hub.Stopping;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (_shards == 0)
                {
                    _shards = await _hub.Grains.GetGrain<IQueueDirectoryGrain>(0).RegisterAsync(_name.Pool, _name.Capability);
                    _parked = new int[_shards];
                    _queues = [.. Enumerable.Range(0, _shards).Select(shard => _hub.Queue(_name, shard))];
                }

                await _signal.WaitAsync(stopping);
                await SweepAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                DispatchHub.LogDispatchFailed(_hub.Logger, _name.ToString(), "sweep", ex.GetBaseException().Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _hub.Time, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
                Signal();
            }
        }
    }

    /// <summary>
    /// One pass while agents have credits: peek every shard that has no long-poll parked, then take from the shard
    /// whose next job has the highest priority (the oldest on a tie), never below the next best shard's priority, so
    /// priorities hold across shards. When no shard has work, park a long-poll on each.
    /// </summary>
    private async Task SweepAsync(CancellationToken stopping)
    {
        if (Demand() == 0)
        {
            return;
        }

        var heads = new QueueHead?[_shards];
        var open = Enumerable.Range(0, _shards).Where(shard => Volatile.Read(ref _parked[shard]) == 0).ToArray();
        await Task.WhenAll(open.Select(async shard => heads[shard] = await _queues[shard].PeekAsync().WaitAsync(CallTimeout, _hub.Time)));

        var found = false;
        while (true)
        {
            var demand = Demand();
            if (demand == 0)
            {
                return;
            }

            var ranked = open.Where(shard => heads[shard] is not null)
                .OrderByDescending(shard => heads[shard]!.Value.Priority)
                .ThenBy(shard => heads[shard]!.Value.EnqueuedAt)
                .ToList();
            if (ranked.Count == 0)
            {
                break;
            }

            var best = ranked[0];
            var floor = ranked.Count > 1 ? heads[ranked[1]]!.Value.Priority : 0;
            var result = await WithinAsync(best, _queues[best].TakeAsync(_hub.DispatcherId, Math.Min(demand, MaxBatch), floor, TimeSpan.Zero), CallTimeout, stopping);
            heads[best] = result.Jobs.IsEmpty ? null : result.Next;
            if (!result.Jobs.IsEmpty)
            {
                found = true;
                await AssignAsync(best, result.Jobs);
            }
        }

        if (found)
        {
            Signal(); // more may have arrived meanwhile
            return;
        }

        for (var shard = 0; shard < _shards; shard++)
        {
            if (Interlocked.CompareExchange(ref _parked[shard], 1, 0) == 0)
            {
                _ = ParkAsync(shard, stopping);
            }
        }
    }

    /// <summary>
    /// A long-poll on one shard. While it keeps handing out jobs and agents keep credits it polls again at once, the
    /// next job going straight to it; a sweep (peeking every shard, priorities across shards) follows only when it comes
    /// back empty or the agents are out of credits, i.e. when a backlog can build up.
    /// </summary>
    private async Task ParkAsync(int shard, CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var result = await WithinAsync(shard, _queues[shard].TakeAsync(_hub.DispatcherId, Math.Max(1, Demand()), 0, ParkWait), ParkWait + ParkGrace, stopping);
                if (result.Jobs.IsEmpty)
                {
                    break;
                }

                await AssignAsync(shard, result.Jobs);
                if (result.Next is not null || Demand() == 0)
                {
                    break; // a backlog: the sweep takes it in priority order across shards
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            DispatchHub.LogDispatchFailed(_hub.Logger, _name.ToString(), $"take from shard {shard}", ex.GetBaseException().Message);
            await Task.Delay(TimeSpan.FromSeconds(1), _hub.Time, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            Volatile.Write(ref _parked[shard], 0);
            Signal();
        }
    }

    /// <summary>
    /// <paramref name="take"/>'s answer, or a <see cref="TimeoutException"/> after <paramref name="patience"/>: the
    /// shard's silo may have died with the call in it (it would wait for the cluster's 30 s response timeout), and
    /// giving up lets sweeps reach the shard's new activation. Should the old call still answer, its jobs are
    /// assigned all the same (or, unassigned, go back to the queue when it reconciles with the store).
    /// </summary>
    private async Task<TakeResult> WithinAsync(int shard, Task<TakeResult> take, TimeSpan patience, CancellationToken stopping)
    {
        try
        {
            return await take.WaitAsync(patience, _hub.Time, stopping);
        }
        catch (TimeoutException)
        {
            _ = take.ContinueWith(t => t.IsCompletedSuccessfully && !t.Result.Jobs.IsEmpty ? AssignAsync(shard, t.Result.Jobs) : Task.CompletedTask,
                CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            throw new TimeoutException($"shard {shard} did not answer within {patience.TotalSeconds:0.#} s");
        }
    }

    /// <summary>
    /// Reserves a session with a free credit for each taken job and starts its lease; what cannot be placed goes back
    /// to its shard. The leases are not awaited: each waits for its durable commit on its own while the poller goes
    /// on taking, so a job that arrives during a commit is not held until the previous batch is delivered (the
    /// reserved credits already bound how many leases are in flight).
    /// </summary>
    private async Task AssignAsync(int shard, ImmutableArray<TakenJob> jobs)
    {
        // What admission steers by is the wait the mesh caused: since the job was queued, or since this poller's agents
        // last had no room, whichever is later (a job waiting for busy agents is not a sign of an overloaded mesh).
        // A job handed back (a store outage failed its lease) waited for the store, not behind other jobs.
        var roomSince = new DateTimeOffset(Volatile.Read(ref _noRoomAtTicks), TimeSpan.Zero);
        _hub.Admission.OnTaken(_name.Pool, _name.Capability,
            jobs.Where(j => !j.HandedBack).Select(j => j.EnqueuedAt > roomSince ? j.EnqueuedAt : roomSince));
        var queue = _queues[shard];
        List<TakenJob>? leftovers = null;
        List<TakenJob>? heldBack = null;
        foreach (var job in jobs)
        {
            Compliance.DataPlacementChecks.LeaseRule? rule;
            try
            {
                rule = await _hub.Placement.ForLeaseAsync(job.TenantId, _name.Pool, job.DataClasses);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                DispatchHub.LogPlacementUnchecked(_hub.Logger, _name.ToString(), job.JobId, ex);
                (heldBack ??= []).Add(job);
                continue;
            }

            if (Reserve(rule) is var (session, routing))
            {
                rule?.Leased(session.Registration);
                _ = LeaseAsync(queue, job, session, routing);
            }
            else if (rule?.Refusal is { } refusal)
            {
                rule.HeldBack();
                DispatchHub.LogHeldBack(_hub.Logger, _name.ToString(), job.JobId, _hub.Placement.HoldBack.TotalSeconds, refusal.PolicyId, refusal.Message);
                (heldBack ??= []).Add(job);
            }
            else
            {
                (leftovers ??= []).Add(job);
            }
        }

        if (heldBack is not null)
        {
            await queue.HoldBackAsync([.. heldBack], _hub.Placement.HoldBack);
        }

        if (leftovers is not null)
        {
            await queue.ReturnAsync([.. leftovers]);
        }
    }

    private async Task LeaseAsync(IQueueGrain queue, TakenJob job, AgentSession session, RoutingDecision routing)
    {
        LeaseGrant? grant;
        try
        {
            if (!await _hub.MayServeAsync(session, _name.Pool))
            {
                _hub.Refuse(session, _name.Pool);
                queue.ReturnAsync([job]).Ignore();
                return;
            }

            var call = _hub.Job(job.JobId).LeaseAsync(session.AgentId, session.Registration.Version, TimeSpan.Zero, routing);
            try
            {
                grant = await call.WaitAsync(CallTimeout, _hub.Time);
            }
            catch (TimeoutException)
            {
                // The job's silo may have died with the call in it. Give the job back to its queue now; should the
                // lease still be granted, release it at once so that the job is not held by an agent that never saw it.
                _ = call.ContinueWith(t =>
                {
                    if (t.IsCompletedSuccessfully && t.Result is { } late)
                    {
                        _hub.Job(job.JobId).ReleaseAsync(session.AgentId, late.Epoch, "granted after the dispatcher gave up waiting").Ignore();
                    }
                }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                throw;
            }
        }
        catch (Exception ex)
        {
            DispatchHub.LogDispatchFailed(_hub.Logger, _name.ToString(), $"lease of job {job.JobId}", ex.GetBaseException().Message);
            _hub.LeaseSettled(session, returnCredit: true);
            queue.ReturnAsync([job]).Ignore(); // lost with the shard's silo, the queue finds it again when it reconciles with the store
            return;
        }

        if (grant is null)
        {
            // Cancelled or already leased elsewhere: the queue must stop counting it against the tenant.
            _hub.LeaseSettled(session, returnCredit: true);
            queue.LeaseEndedAsync(job.JobId, job.TenantId).Ignore();
            return;
        }

        var delivered = session.TryDeliver(grant);
        _hub.LeaseSettled(session, returnCredit: false);
        if (!delivered)
        {
            _hub.Job(job.JobId).ReleaseAsync(session.AgentId, grant.Epoch, "the agent's session ended before delivery").Ignore();
        }
    }

    /// <summary>
    /// Picks the session for one job and takes its credit: the sessions with room that <paramref name="rule"/> (if
    /// any) allows are gathered in rotation, up to the policy's window, and the routing policy chooses among them.
    /// Returns the session and the decision (kept with the job, so operators can see why), or null when none has room.
    /// </summary>
    private (AgentSession Session, RoutingDecision Decision)? Reserve(Compliance.DataPlacementChecks.LeaseRule? rule)
    {
        lock (_hub.Gate)
        {
            var count = _credited.Gather(_policy.Window, rule is null ? null : session => rule.Allows(session.Registration), _gathered);
            if (count == 0)
            {
                return null;
            }

            if (_candidates.Length < count)
            {
                _candidates = new RoutingCandidate[_policy.Window];
            }

            var now = _view is null ? default : _hub.Time.GetUtcNow();
            for (var i = 0; i < count; i++)
            {
                var s = _gathered[i];
                var stats = _view?.Get(s.AgentId);
                _candidates[i] = new RoutingCandidate(s.AgentId, s.Registration.Version, s.Outstanding + s.Leasing, s.Limit.Current,
                    (double)s.Registration.CostPerHour, stats, _view?.Fade(stats, now) ?? 1.0);
            }

            Span<double> scores = stackalloc double[count];
            var choice = _policy.Choose(_candidates.AsSpan(0, count), scores);
            var chosen = _gathered[choice.Index];
            _credited.Take(chosen);
            return (chosen, RoutingExplanation.Of(_policy.Name, _candidates.AsSpan(0, count), choice.Scored ? scores : default, choice));
        }
    }
}
