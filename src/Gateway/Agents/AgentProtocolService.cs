using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// An agent acting through the protocol, its identity established: registered on this stream, or (REST) found to be
/// run by the caller. <see cref="State"/> is the agent's state when that was established.
/// </summary>
public sealed record AgentHandle(MeshCaller Caller, AgentRegistration Registration, AgentState State)
{
    public string AgentId => Registration.AgentId;

    public string Owner => Registration.Owner;
}

/// <summary>One heartbeat as both transports carry it.</summary>
public sealed record HeartbeatInput(double Load, ImmutableArray<LeaseRef> InFlight, IEnumerable<KeyValuePair<string, double>>? Metrics);

/// <summary>
/// The agent protocol, once for every transport: register, heartbeat, lease (the REST long-poll; a stream gets its
/// assignments from the dispatcher), and the reports about a job (start, result, release), each under the lease's
/// epoch. Agents are run by the platform (enrollment token) or by a tenant (its key); an agent another owner runs is
/// NotFound. REST (/v1/agent) and gRPC (AgentChannel.Connect) only read their messages and write these answers.
/// </summary>
public sealed class AgentProtocolService(IGrainFactory grains, AgentReporter reporter, DispatchHub hub, Mutations mutations, TimeProvider time)
{
    /// <summary>Longest lease long-poll, and the default.</summary>
    public static readonly TimeSpan MaxLeaseWait = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan DefaultLeaseWait = TimeSpan.FromSeconds(20);

    /// <summary>The registration the caller may make: its own agent, in a pool its owner may serve (checked by the grain).</summary>
    public static AgentRegistration Registration(MeshCaller caller, RegisterInput input) =>
        AgentInputs.Registration(caller.RequireAgentOwner(), input);

    /// <summary>
    /// Registers (or re-registers) the agent; <paramref name="channel"/> is the stream's command channel, null for a
    /// REST agent. Conflict when another owner registered the id; PermissionDenied while it is quarantined.
    /// </summary>
    public async Task<(AgentHandle Agent, AgentRegistered Registered)> RegisterAsync(MeshCaller caller, AgentRegistration registration, IAgentChannelObserver? channel)
    {
        var registered = await mutations.RunAsync(caller, MeshActions.RegisterAgent, MeshTargets.Agent(registration.AgentId), ChangeSummaries.Register(registration),
            () => grains.GetGrain<IAgentGrain>(registration.AgentId).RegisterAsync(registration, channel));
        return (new AgentHandle(caller, registration, registered.Agent.State), registered);
    }

    /// <summary>The agent when the caller runs it (the same owner as its credentials); otherwise NotFound, as for one that does not exist.</summary>
    public async Task<AgentHandle> OwnedAsync(MeshCaller caller, string agentId)
    {
        var owner = caller.RequireAgentOwner();
        if (!AgentIds.IsValid(agentId))
        {
            throw MeshException.NotFound("Agent");
        }

        var info = await grains.GetGrain<IAgentGrain>(agentId).GetAsync();
        return info is not null && info.Registration.Owner == owner
            ? new AgentHandle(caller, info.Registration, info.State)
            : throw MeshException.NotFound($"Agent '{agentId}'");
    }

    /// <summary>Records a heartbeat: renews the leases it lists; returns the agent's state, leases to drop and commands.</summary>
    public Task<HeartbeatAck> HeartbeatAsync(AgentHandle agent, HeartbeatInput input)
    {
        var heartbeat = new AgentHeartbeat(Load(input.Load), InFlight(input.InFlight), Metrics(input.Metrics));
        return mutations.RunAsync(agent.Caller, MeshActions.Heartbeat, MeshTargets.Agent(agent.AgentId), ChangeSummaries.Heartbeat(heartbeat.Load, heartbeat.InFlight.Length),
            () => grains.GetGrain<IAgentGrain>(agent.AgentId).HeartbeatAsync(heartbeat));
    }

    /// <summary>
    /// A REST agent's long-poll for work: up to <paramref name="slots"/> jobs (at most its maxConcurrency), answered as
    /// soon as the first is leased or after the wait (0–60 s, default 20). Jobs leased to a caller that went away meanwhile
    /// are handed straight back. FailedPrecondition unless the agent is Healthy or Degraded.
    /// </summary>
    public async Task<IReadOnlyList<LeaseGrant>> LeaseAsync(AgentHandle agent, int slots, double? waitSeconds, CancellationToken cancellationToken)
    {
        if (slots < 1 || slots > agent.Registration.MaxConcurrency)
        {
            throw MeshException.Invalid("slots", $"1–{agent.Registration.MaxConcurrency} (the agent's maxConcurrency).");
        }

        var wait = waitSeconds ?? DefaultLeaseWait.TotalSeconds;
        if (!double.IsFinite(wait) || wait < 0 || wait > MaxLeaseWait.TotalSeconds)
        {
            throw MeshException.Invalid("waitSeconds", "0–60.");
        }

        if (!AgentStates.IsLeasable(agent.State))
        {
            throw MeshException.Precondition($"The agent is {agent.State}; it gets no new leases.");
        }

        return await mutations.RunAsync(agent.Caller, MeshActions.Lease, MeshTargets.Agent(agent.AgentId), ChangeSummaries.Lease(slots, wait), async () =>
        {
            var session = new PollAgentSession(agent.Registration, agent.State, time);
            hub.Attach(session);
            hub.SetCredits(session, slots);
            IReadOnlyList<LeaseGrant> grants;
            try
            {
                grants = await session.CollectAsync(TimeSpan.FromSeconds(wait), cancellationToken);
            }
            finally
            {
                hub.Detach(session);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                // The caller is gone: hand the jobs straight back instead of letting their leases run out.
                foreach (var grant in grants)
                {
                    grains.GetJobGrain(grant.JobId).ReleaseAsync(agent.AgentId, grant.Epoch, "the agent's lease request was abandoned").Ignore();
                }
            }

            return grants;
        });
    }

    /// <summary>The agent started the job under <paramref name="epoch"/>. Refused (StaleEpoch, Finished, NotFound) when it no longer holds that lease.</summary>
    public Task StartAsync(AgentHandle agent, Guid jobId, long epoch)
    {
        Epoch(epoch);
        return mutations.RunAsync(agent.Caller, MeshActions.StartJob, MeshTargets.Job(jobId), ChangeSummaries.Start(epoch),
            () => reporter.StartAsync(agent.Owner, agent.AgentId, jobId, epoch));
    }

    /// <summary>
    /// The attempt's result. A repeat of the result the job ended with is accepted again; any other report about a job
    /// that ended (timed out, cancelled, dead-lettered, another result) is refused as Finished, naming its status.
    /// </summary>
    public Task CompleteAsync(AgentHandle agent, Guid jobId, long epoch, JobResult result)
    {
        Epoch(epoch);
        return mutations.RunAsync(agent.Caller, result.Succeeded ? MeshActions.CompleteJob : MeshActions.FailJob, MeshTargets.Job(jobId), ChangeSummaries.Complete(epoch, result),
            () => reporter.CompleteAsync(agent.Owner, agent.AgentId, jobId, epoch, result));
    }

    /// <summary>Gives the job back unstarted; a lease the agent no longer holds is a no-op (a release may be repeated).</summary>
    public Task ReleaseAsync(AgentHandle agent, Guid jobId, long epoch, string? reason)
    {
        Epoch(epoch);
        var why = Inputs.Reason(reason, "released by the agent");
        return mutations.RunAsync(agent.Caller, MeshActions.ReleaseJob, MeshTargets.Job(jobId), ChangeSummaries.Release(epoch, why),
            () => reporter.ReleaseAsync(agent.Owner, agent.AgentId, jobId, epoch, why));
    }

    /// <summary>A lease epoch as granted: epochs start at 1.</summary>
    private static void Epoch(long epoch)
    {
        if (epoch < 1)
        {
            throw MeshException.Invalid("epoch", "the lease's epoch (1 or more).");
        }
    }

    private static double Load(double load) =>
        double.IsFinite(load) && load is >= 0 and <= 1_000 ? load : throw MeshException.Invalid("load", "0–1,000.");

    private static ImmutableArray<LeaseRef> InFlight(ImmutableArray<LeaseRef> leases) =>
        leases.Length <= 100_000 ? leases : throw MeshException.Invalid("inFlight", "at most 100,000 leases.");

    private static ImmutableDictionary<string, double> Metrics(IEnumerable<KeyValuePair<string, double>>? metrics)
    {
        var dict = (metrics ?? []).ToImmutableDictionary(StringComparer.Ordinal);
        if (dict.Count > 64 || dict.Keys.Any(k => k.Length > 100) || dict.Values.Any(v => !double.IsFinite(v)))
        {
            throw MeshException.Invalid("metrics", "at most 64 finite values with names of at most 100 characters.");
        }

        return dict;
    }
}

internal static class AgentStates
{
    public static bool IsLeasable(AgentState state) => state is AgentState.Healthy or AgentState.Degraded;
}
