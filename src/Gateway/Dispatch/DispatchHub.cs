using System.Collections.Concurrent;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Tenants;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Dispatch;

/// <summary>
/// This gateway's dispatcher. Agents connected here (sessions) declare credits; one <see cref="QueuePoller"/> per
/// pool and capability takes jobs from that queue's shards on their behalf and leases each to a session with a free
/// credit. One lock guards credits and session lists; it is held only for bookkeeping, never across a call.
/// </summary>
public sealed partial class DispatchHub(IGrainFactory grains, PoolGrantCache poolGrants, Jobs.AdmissionGate admission,
    Compliance.DataPlacementChecks placement, IOptions<Routing.RoutingOptions> routing, IHostApplicationLifetime lifetime, TimeProvider time,
    ILogger<DispatchHub> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Routing.PoolRouting> _poolRouting = new(StringComparer.Ordinal);
    private int _randoms;

    /// <summary>The sessions attached and not detached (for operators' views); guarded by the lock.</summary>
    private readonly Dictionary<AgentSession, AgentSession> _sessions = new(ReferenceEqualityComparer.Instance);

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<QueueName, QueuePoller> _pollers = new();

    // The pollers stop with the process's first step of stopping: a stopping silo answers their long-polls at once.
    private readonly CancellationTokenSource _stopping = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);

    /// <summary>Identifies this dispatcher to the queues (logging and diagnostics).</summary>
    public string DispatcherId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    internal Lock Gate => _gate;

    internal IGrainFactory Grains => grains;

    /// <summary>The gateway's clock, for the pollers' waits.</summary>
    internal TimeProvider Time => time;

    internal ILogger Logger => logger;

    /// <summary>The gateway's admission, which steers submits by how long the jobs taken here had waited.</summary>
    internal Jobs.AdmissionGate Admission => admission;

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>The residency and classification policies, which decide which agents may lease a job.</summary>
    internal Compliance.DataPlacementChecks Placement => placement;

    /// <summary>The routing settings (README "Adaptive routing").</summary>
    internal Routing.RoutingOptions Routing => routing.Value;

    /// <summary>Randomness for one policy: seeded from <see cref="Routing.RoutingOptions.Seed"/> when set, so a run repeats.</summary>
    internal Random NewRandom() =>
        routing.Value.Seed is { } seed ? new Random(unchecked(seed + Interlocked.Increment(ref _randoms))) : new Random();

    /// <summary>The adaptive concurrency limits of the pool's agents connected here, by agent id (a snapshot).</summary>
    internal IReadOnlyDictionary<string, (int Current, int Advertised)> Limits(string pool)
    {
        var limits = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var session in _sessions.Values)
            {
                if (session.Registration.Pool == pool && !session.Closed)
                {
                    limits[session.AgentId] = (session.Limit.Current, session.Limit.Advertised);
                }
            }
        }

        return limits;
    }

    /// <summary>Makes a session's credits visible to the pollers of its pool and capabilities.</summary>
    public void Attach(AgentSession session)
    {
        var settings = _poolRouting.GetOrAdd(session.Registration.Pool, pool => routing.Value.For(pool));
        lock (_gate)
        {
            session.Limit = new Routing.ConcurrencyLimit(session.Registration.MaxConcurrency, settings.Concurrency);
            _sessions[session] = session;
        }

        foreach (var capability in session.Registration.Capabilities)
        {
            var poller = _pollers.GetOrAdd(new QueueName(session.Registration.Pool, capability), name => new QueuePoller(this, name));
            poller.Add(session);
        }
    }

    /// <summary>Removes a session: it gets no more assignments.</summary>
    public void Detach(AgentSession session)
    {
        lock (_gate)
        {
            _sessions.Remove(session);
            session.Closed = true;
            session.Credits = 0;
            CreditsChanged(session);
        }
    }

    /// <summary>Sets how many more assignments the session accepts.</summary>
    public void SetCredits(AgentSession session, int credits)
    {
        lock (_gate)
        {
            if (session.Closed)
            {
                return;
            }

            session.Credits = Math.Max(0, credits);
            CreditsChanged(session);
        }

        Wake(session);
    }

    /// <summary>
    /// Gives back one credit (an assignment of the session finished or was released). <paramref name="succeeded"/> is
    /// the agent's result (null for a release), which with <paramref name="latency"/> (delivery to report) adjusts the
    /// agent's adaptive concurrency.
    /// </summary>
    public void ReturnCredit(AgentSession session, bool? succeeded = null, TimeSpan latency = default)
    {
        lock (_gate)
        {
            if (session.Closed)
            {
                return;
            }

            if (succeeded is { } ok)
            {
                session.Limit.Observe(ok, latency);
            }

            session.Credits++;
            CreditsChanged(session);
        }

        Wake(session);
    }

    /// <summary>
    /// A lease started for the session has been delivered or has failed; a failed one gives its credit back.
    /// </summary>
    internal void LeaseSettled(AgentSession session, bool returnCredit)
    {
        lock (_gate)
        {
            session.Leasing--;
        }

        if (returnCredit)
        {
            ReturnCredit(session);
        }
    }

    /// <summary>Records the agent's state; an agent that became leasable again is offered work.</summary>
    public void SetState(AgentSession session, Abstractions.Agents.AgentState state)
    {
        if (session.State == state)
        {
            return; // a heartbeat that changes nothing must not make the pollers look again
        }

        session.State = state;
        Wake(session);
    }

    /// <summary>Whether the session's agent may take the pool's jobs now (its owner's pool, or a grant still active).</summary>
    internal ValueTask<bool> MayServeAsync(AgentSession session, string pool) => poolGrants.MayServeAsync(session.Registration.Owner, pool);

    /// <summary>
    /// A session whose access to the pool was revoked (its lease was held back): it gets no more work here. Its agent
    /// grain drains it at the same time; a new grant takes a new registration.
    /// </summary>
    internal void Refuse(AgentSession session, string pool)
    {
        LeaseSettled(session, returnCredit: false);
        Detach(session);
        LogAccessRevoked(logger, session.AgentId, pool);
    }

    internal IQueueGrain Queue(QueueName name, int shard) =>
        grains.GetGrain<IQueueGrain>(new QueueKey(name.Pool, name.Capability, shard).ToString());

    internal IJobGrain Job(Guid jobId) => grains.GetJobGrain(jobId);

    /// <summary>Tells the pollers of the session's queues that its credits changed; under the lock.</summary>
    private void CreditsChanged(AgentSession session)
    {
        foreach (var capability in session.Registration.Capabilities)
        {
            if (_pollers.TryGetValue(new QueueName(session.Registration.Pool, capability), out var poller))
            {
                poller.CreditsChanged(session);
            }
        }
    }

    private void Wake(AgentSession session)
    {
        foreach (var capability in session.Registration.Capabilities)
        {
            if (_pollers.TryGetValue(new QueueName(session.Registration.Pool, capability), out var poller))
            {
                poller.Signal();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_pollers.Values.Select(p => p.Completion));
        foreach (var poller in _pollers.Values)
        {
            poller.Dispose();
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch: agent {AgentId} no longer has access to pool {Pool}; its session gets no more leases")]
    private static partial void LogAccessRevoked(ILogger logger, string agentId, string pool);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dispatch {Queue}: job {JobId} held back for {Seconds} s: policy {PolicyId} refuses every agent here with room ({Reason})")]
    internal static partial void LogHeldBack(ILogger logger, string queue, Guid jobId, double seconds, string policyId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch {Queue}: job {JobId} held back: its compliance could not be checked")]
    internal static partial void LogPlacementUnchecked(ILogger logger, string queue, Guid jobId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch {Queue}: {Operation} failed: {Reason}")]
    internal static partial void LogDispatchFailed(ILogger logger, string queue, string operation, string reason);
}
