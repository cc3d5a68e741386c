using System.Collections.Concurrent;
using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Cluster.Healing;

/// <summary>
/// An agent driven straight through its grain, as a gateway session would: it registers, heartbeats before every
/// step of mesh time while told to (renewing the leases it holds) and falls silent when told to, which is how a test
/// kills it.
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    private readonly HealingClusterFixture _fixture;
    private readonly Lock _gate = new();
    private ImmutableArray<LeaseRef> _leases = [];
    private IDisposable? _beating;
    private DateTimeOffset? _silentSince;

    public TestAgent(HealingClusterFixture fixture, string pool, string capability, string? runtime = null, IAgentChannelObserver? channel = null)
    {
        _fixture = fixture;
        Id = $"{pool}-agent-{Guid.NewGuid().ToString("N")[..6]}";
        Pool = pool;
        Capability = capability;
        Runtime = runtime;
        Channel = channel;
    }

    public string Id { get; }

    public string Pool { get; }

    public string Capability { get; }

    public string? Runtime { get; }

    public IAgentChannelObserver? Channel { get; }

    public IAgentGrain Grain => _fixture.Grains.GetGrain<IAgentGrain>(Id);

    /// <summary>Commands that came back on heartbeat answers.</summary>
    public ConcurrentQueue<AgentCommand> CommandsFromHeartbeats { get; } = new();

    /// <summary>Leases the agent believes it holds (sent with every heartbeat).</summary>
    public ImmutableArray<LeaseRef> Leases
    {
        get
        {
            lock (_gate)
            {
                return _leases;
            }
        }

        set
        {
            lock (_gate)
            {
                _leases = value;
            }
        }
    }

    public AgentRegistration Registration => new(Id, "platform", Pool, [Capability], 4, "test-1", "local", 0.5m, Runtime);

    public Task<AgentRegistered> RegisterAsync() => Grain.RegisterAsync(Registration, Channel);

    public async Task<HeartbeatAck> BeatAsync()
    {
        var ack = await Grain.HeartbeatAsync(new AgentHeartbeat(0.1, Leases, ImmutableDictionary<string, double>.Empty));
        foreach (var command in ack.Commands)
        {
            CommandsFromHeartbeats.Enqueue(command);
        }

        return ack;
    }

    /// <summary>Registers and starts heartbeating.</summary>
    public async Task<TestAgent> StartAsync()
    {
        await RegisterAsync();
        StartHeartbeats();
        return this;
    }

    /// <summary>From the next step of mesh time on, the agent heartbeats before every step.</summary>
    public void StartHeartbeats()
    {
        lock (_gate)
        {
            _beating ??= _fixture.Clock.BeforeEachStep(BeatAsync);
            _silentSince = null;
        }
    }

    /// <summary>
    /// The agent falls silent (no more heartbeats); returns the instant of mesh time since when it is silent (its
    /// last heartbeat or registration was at that instant: agents beat before every step).
    /// </summary>
    public DateTimeOffset StopHeartbeats()
    {
        lock (_gate)
        {
            if (_beating is not null)
            {
                _beating.Dispose();
                _beating = null;
                _silentSince = _fixture.Clock.Now;
            }

            return _silentSince ?? _fixture.Clock.Now;
        }
    }

    public async Task<AgentInfo> InfoAsync() => (await Grain.GetAsync())!;

    public async ValueTask DisposeAsync()
    {
        StopHeartbeats();
        try
        {
            await Grain.DeregisterAsync("deregistered by the test");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Cleanup only.
        }
    }
}

/// <summary>A runtime's session as a test sees it: every restart order it was given.</summary>
public sealed class RecordingRuntime : IRuntimeObserver
{
    public ConcurrentQueue<(string AgentId, string Reason)> Orders { get; } = new();

    public ConcurrentQueue<Abstractions.Cost.ScaleOrder> ScaleOrders { get; } = new();

    public Task OnRestartAsync(string agentId, string reason)
    {
        Orders.Enqueue((agentId, reason));
        return Task.CompletedTask;
    }

    public Task OnScaleAsync(Abstractions.Cost.ScaleOrder order)
    {
        ScaleOrders.Enqueue(order);
        return Task.CompletedTask;
    }
}

/// <summary>An agent's command channel as a test sees it: every command pushed down it.</summary>
public sealed class RecordingChannel : IAgentChannelObserver
{
    public ConcurrentQueue<AgentCommand> Commands { get; } = new();

    public ConcurrentQueue<AgentState> States { get; } = new();

    public Task OnCommandAsync(AgentCommand command)
    {
        Commands.Enqueue(command);
        return Task.CompletedTask;
    }

    public Task OnStateChangedAsync(AgentState state)
    {
        States.Enqueue(state);
        return Task.CompletedTask;
    }
}

/// <summary>Jobs driven straight through their grains: submit, lease to a named agent, start, finish.</summary>
public static class TestJobs
{
    public static JobSpec Spec(string pool, string capability, TimeSpan? timeout = null, int maxAttempts = 3) =>
        new("healing-test", capability, pool, "{}", 5, timeout ?? TimeSpan.FromMinutes(1),
            new RetryPolicy(maxAttempts, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), 2), null);

    public static async Task<IJobGrain> SubmitAsync(IGrainFactory grains, JobSpec spec, string tenantId = "healing-tests")
    {
        var job = grains.GetGrain<IJobGrain>(Guid.CreateVersion7());
        var outcome = await job.SubmitAsync(tenantId, spec, 10_000, 10_000);
        Assert.True(outcome.Created);
        return job;
    }

    /// <summary>Takes the job out of its queue (as a dispatcher would), leases it to the agent and starts it.</summary>
    public static async Task<LeaseGrant> LeaseAndStartAsync(IGrainFactory grains, IJobGrain job, TestAgent agent)
    {
        var record = (await job.GetAsync(null))!;
        await grains.GetGrain<IQueueGrain>(new QueueKey(record.Spec.Pool, record.Spec.Capability, 0).ToString())
            .TakeAsync("healing-test", 1_000, 0, TimeSpan.Zero);
        var grant = await job.LeaseAsync(agent.Id, "1.0.0", TimeSpan.Zero);
        Assert.NotNull(grant);
        await job.StartAsync(agent.Id, grant.Epoch);
        return grant;
    }

    /// <summary>
    /// Runs one attempt of a fresh job on the agent: leased, started, finished. Mesh time does not move meanwhile, so
    /// every attempt's run time is zero: the same for every agent, so that none is judged slow.
    /// </summary>
    public static async Task RunAsync(IGrainFactory grains, TestAgent agent, bool succeed)
    {
        var job = await SubmitAsync(grains, Spec(agent.Pool, agent.Capability, maxAttempts: 1));
        var grant = await job.LeaseAsync(agent.Id, "1.0.0", TimeSpan.Zero);
        Assert.NotNull(grant);
        await job.StartAsync(agent.Id, grant.Epoch);
        await job.CompleteAsync(agent.Id, grant.Epoch, succeed
            ? new JobResult(true, "{}", null, false, JobUsage.None)
            : new JobResult(false, null, "simulated failure", false, JobUsage.None));
    }
}

public static class SupervisorReads
{
    /// <summary>The supervisor's remediations about one subject, oldest first.</summary>
    public static async Task<List<Remediation>> RemediationsOfAsync(this IHealingSupervisorGrain healing, string subject) =>
        [.. (await healing.GetRemediationsAsync(subject, 1_000)).Reverse()];
}
