using System.Collections.Concurrent;
using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Jobs;
using Xunit.Sdk;

namespace MeshOs.Tests.Cluster.Healing;

/// <summary>
/// An agent driven straight through its grain, as a gateway session would: it registers, heartbeats every 100 ms
/// while told to (renewing the leases it holds) and falls silent when told to, which is how a test kills it.
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly Lock _gate = new();
    private ImmutableArray<LeaseRef> _leases = [];
    private CancellationTokenSource? _beating;
    private Task _loop = Task.CompletedTask;

    public TestAgent(IGrainFactory grains, string pool, string capability, string? runtime = null, IAgentChannelObserver? channel = null)
    {
        _grains = grains;
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

    public IAgentGrain Grain => _grains.GetGrain<IAgentGrain>(Id);

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

    public void StartHeartbeats()
    {
        if (_beating is not null)
        {
            return;
        }

        var beating = new CancellationTokenSource();
        _beating = beating;
        _loop = Task.Run(async () =>
        {
            while (!beating.IsCancellationRequested)
            {
                try
                {
                    await BeatAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A beat that fails is a missed beat; the next one tries again.
                }

                try
                {
                    await Task.Delay(100, beating.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>The agent falls silent (no more heartbeats) at the returned instant.</summary>
    public async Task<DateTimeOffset> StopHeartbeatsAsync()
    {
        if (_beating is { } beating)
        {
            await beating.CancelAsync();
            await _loop;
            beating.Dispose();
            _beating = null;
        }

        return DateTimeOffset.UtcNow;
    }

    public async Task<AgentInfo> InfoAsync() => (await Grain.GetAsync())!;

    public async ValueTask DisposeAsync()
    {
        await StopHeartbeatsAsync();
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

/// <summary>A runtime's session as a test sees it: every restart order, with when it arrived.</summary>
public sealed class RecordingRuntime : IRuntimeObserver
{
    public ConcurrentQueue<(string AgentId, string Reason, DateTimeOffset At)> Orders { get; } = new();

    /// <summary>Called on each order after it is recorded (a runtime would start the agent again here).</summary>
    public Func<string, Task>? OnOrder { get; set; }

    public Task OnRestartAsync(string agentId, string reason)
    {
        Orders.Enqueue((agentId, reason, DateTimeOffset.UtcNow));
        if (OnOrder is { } onOrder)
        {
            _ = Task.Run(() => onOrder(agentId));
        }

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
        var grant = await job.LeaseAsync(agent.Id, TimeSpan.Zero);
        Assert.NotNull(grant);
        await job.StartAsync(agent.Id, grant.Epoch);
        return grant;
    }

    /// <summary>Runs one attempt of a fresh job on the agent: leased, started, finished after the run time.</summary>
    public static async Task RunAsync(IGrainFactory grains, TestAgent agent, bool succeed, TimeSpan runTime)
    {
        var job = await SubmitAsync(grains, Spec(agent.Pool, agent.Capability, maxAttempts: 1));
        var grant = await job.LeaseAsync(agent.Id, TimeSpan.Zero);
        Assert.NotNull(grant);
        await job.StartAsync(agent.Id, grant.Epoch);
        await Task.Delay(runTime);
        await job.CompleteAsync(agent.Id, grant.Epoch, succeed
            ? new JobResult(true, "{}", null, false, JobUsage.None)
            : new JobResult(false, null, "simulated failure", false, JobUsage.None));
    }
}

public static class Poll
{
    /// <summary>Reads until <paramref name="done"/> holds; fails the test with <paramref name="what"/> and the last value after the timeout.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new XunitException($"Not within {timeout.TotalSeconds:0.#} s: {what}. Last seen: {Describe(value)}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>The supervisor's remediations about one subject, oldest first.</summary>
    public static async Task<List<Remediation>> RemediationsAsync(IHealingSupervisorGrain healing, string subject) =>
        [.. (await healing.GetRemediationsAsync(subject, 1_000)).Reverse()];

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Collections.IEnumerable items and not string => "[" + string.Join("; ", items.Cast<object?>().Select(i => i?.ToString())) + "]",
        _ => value.ToString() ?? string.Empty,
    };
}
