using MeshOs.AgentSdk;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Agents;

/// <summary>Which agent implementation the fleet runs.</summary>
public enum AgentKind
{
    /// <summary>src/AgentSdk's MeshAgent, as agent authors use it.</summary>
    Sdk,

    /// <summary>The bench's own raw-protocol agent (<see cref="LeanAgent"/>): exact timing of every protocol event.</summary>
    Lean,
}

/// <summary>K simulated agents in the bench process, on its shared gRPC channel, running no-op jobs.</summary>
public interface IBenchFleet : IAsyncDisposable
{
    /// <summary>Successful results the mesh accepted, since the fleet started.</summary>
    long Completed { get; }

    /// <summary>Submit due time → the agent has the assignment, for jobs due in the window.</summary>
    LatencyRecorder Dispatch { get; }

    /// <summary>Submit due time → accepting ReportAck of the result; null when the agent implementation cannot see it.</summary>
    LatencyRecorder? ReportAck { get; }

    /// <summary>What the fleet is and how it times dispatch, for the report.</summary>
    string Description { get; }

    /// <summary>Registrations beyond each agent's first: streams that were lost and opened again.</summary>
    long Reconnections { get; }

    Task StartAsync();

    public static IBenchFleet Create(AgentKind kind, MeshTarget target, int agents, int concurrency, WindowClock window, string idPrefix,
        string capability = BenchJobs.Capability) =>
        kind == AgentKind.Sdk
            ? new SdkFleet(target, agents, concurrency, window, idPrefix, capability)
            : new LeanFleet(target, agents, concurrency, window, idPrefix, capability);
}

/// <summary>
/// MeshAgents of the SDK. Dispatch is timed when the SDK calls the handler (it does so right after reading the
/// assignment, on the thread pool). The SDK does not expose per-job acknowledgements: end-to-end comes from Watch.
/// </summary>
public sealed class SdkFleet : IBenchFleet
{
    private static readonly Task<JobOutcome> Done = Task.FromResult(JobOutcome.Success(string.Empty));
    private readonly MeshAgent[] _agents;
    private readonly CancellationTokenSource _stop = new();
    private readonly WindowClock _window;
    private Task[] _runs = [];

    public SdkFleet(MeshTarget target, int agents, int concurrency, WindowClock window, string idPrefix, string capability)
    {
        _window = window;
        _agents = [.. Enumerable.Range(0, agents).Select(i => new MeshAgent(
            new MeshAgentOptions
            {
                Endpoint = target.GrpcUrl,
                AgentId = $"{idPrefix}-{i:000}",
                Capabilities = [capability],
                MaxConcurrency = concurrency,
                EnrollmentToken = target.EnrollmentToken,
                Version = "bench",
            },
            Handle, channel: target.AgentsChannel))];
        Description = $"{agents} SDK MeshAgents × concurrency {concurrency}, in the bench process, sharing one GrpcChannel (not the producers')";
    }

    public long Completed => _agents.Sum(a => a.Completed);

    public LatencyRecorder Dispatch { get; } = new();

    public LatencyRecorder? ReportAck => null;

    public string Description { get; }

    public long Reconnections => _agents.Sum(a => a.Registrations) - _agents.Length;

    public async Task StartAsync()
    {
        _runs = [.. _agents.Select(a => a.RunAsync(_stop.Token))];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!_agents.All(a => a.Connected))
        {
            if (DateTime.UtcNow > deadline || _runs.FirstOrDefault(r => r.IsFaulted) is { } failed)
            {
                throw new InvalidOperationException($"Only {_agents.Count(a => a.Connected)} of {_agents.Length} SDK agents connected.",
                    _runs.FirstOrDefault(r => r.IsFaulted)?.Exception);
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_runs).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var agent in _agents)
        {
            await agent.DisposeAsync();
        }

        _stop.Dispose();
    }

    private Task<JobOutcome> Handle(AgentJob job, CancellationToken cancellationToken)
    {
        var now = Ticks.Now;
        if (BenchJobs.DueTicksOf(job.PayloadJson) is { } due && _window.Contains(due))
        {
            Dispatch.Record(Ticks.ToMs(now - due));
        }

        return Done;
    }
}

/// <summary>Lean raw-protocol agents: dispatch timed when the assignment is read, end-to-end by the result's ReportAck.</summary>
public sealed class LeanFleet : IBenchFleet
{
    private readonly LeanAgent[] _agents;
    private readonly LeanAgentSinks _sinks;
    private readonly CancellationTokenSource _stop = new();
    private Task[] _heartbeats = [];

    public LeanFleet(MeshTarget target, int agents, int concurrency, WindowClock window, string idPrefix, string capability)
    {
        _sinks = new LeanAgentSinks(window);
        var client = new AgentChannel.AgentChannelClient(target.AgentsChannel);
        _agents = [.. Enumerable.Range(0, agents).Select(i =>
            new LeanAgent(client, target.EnrollmentToken, $"{idPrefix}-{i:000}", capability, concurrency, AssignmentHandling.Complete, _sinks))];
        Description = $"{agents} lean raw-protocol agents × concurrency {concurrency}, in the bench process, sharing one GrpcChannel (not the producers')";
    }

    public long Completed => _agents.Sum(a => a.Completed);

    public LatencyRecorder Dispatch => _sinks.Dispatch;

    public LatencyRecorder? ReportAck => _sinks.ReportAck;

    public string Description { get; }

    /// <summary>Lean agents do not reconnect: a lost stream shows as ended.</summary>
    public long Reconnections => _agents.Count(a => a.Completion.IsCompleted);

    public async Task StartAsync()
    {
        await Task.WhenAll(_agents.Select(a => a.ConnectAsync(TimeSpan.FromSeconds(60))));
        foreach (var agent in _agents)
        {
            agent.RequestLeases(agent.MaxConcurrency);
        }

        _heartbeats = [.. _agents.Select(a => a.HeartbeatLoopAsync(TimeSpan.FromMilliseconds(Random.Shared.Next(1_000)), _stop.Token))];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_heartbeats);
        await Task.WhenAll(_agents.Select(a => a.DisposeAsync().AsTask()));
        _stop.Dispose();
    }
}
