using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.AgentSdk;
using MeshOs.Grpc.V1;
using Microsoft.Extensions.Logging;

namespace MeshOs.AgentSim;

/// <summary>
/// One simulated agent process. Each start builds a fresh <see cref="MeshAgent"/>, as a new process would; a crash
/// aborts it (stream reset, no reports, no heartbeats). Figures of past instances are kept and summed.
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "The semaphore never allocates a wait handle (AvailableWaitHandle is not used); disposing it could fault a crash or restart still in flight.")]
internal sealed partial class SimulatedAgent
{
    private readonly SimulationOptions _sim;
    private readonly MeshAgentOptions _options;
    private readonly GrpcChannel _channel;
    private readonly ILogger _logger;
    private readonly ILogger _sdkLogger;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly CancellationToken _fleetStopping;

    // Serializes starts, kills and restarts: a crash, an operator's restart and the test driver may race.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly Lock _gate = new();

    private MeshAgent? _agent;
    private Task _run = Task.CompletedTask;
    private CancellationTokenSource? _pendingRestart;
    private SimulatedAgentStatus _status = SimulatedAgentStatus.Idle;
    private long _pastCompleted;
    private long _pastFailed;
    private long _pastRefused;
    private long _pastRegistrations;
    private long _crashes;
    private long _restarts;

    public SimulatedAgent(string agentId, SimulationOptions sim, GrpcChannel channel, ILogger logger, ILogger sdkLogger,
        TimeProvider time, Random random, CancellationToken fleetStopping)
    {
        AgentId = agentId;
        _sim = sim;
        _options = SimulatedFleet.AgentOptions(sim, agentId);
        _channel = channel;
        _logger = logger;
        _sdkLogger = sdkLogger;
        _time = time;
        _random = random;
        _fleetStopping = fleetStopping;
    }

    public string AgentId { get; }

    public SimulatedAgentStats Stats
    {
        get
        {
            lock (_gate)
            {
                var agent = _agent;
                return new SimulatedAgentStats(
                    AgentId,
                    _status,
                    agent?.Connected ?? false,
                    agent?.InFlight ?? 0,
                    _pastCompleted + (agent?.Completed ?? 0),
                    _pastFailed + (agent?.Failed ?? 0),
                    _pastRefused + (agent?.Refused ?? 0),
                    _crashes,
                    _restarts,
                    _pastRegistrations + (agent?.Registrations ?? 0));
            }
        }
    }

    public async Task StartAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_agent is null && !_fleetStopping.IsCancellationRequested)
            {
                StartInstance();
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Crashes the agent: the stream is reset without a word, heartbeats stop. With <paramref name="restartAfter"/>
    /// it comes back after that delay; without, only on <see cref="RestartAsync"/>. <paramref name="only"/> limits the
    /// crash to one instance, so that two jobs of the same process crashing together make one crash.
    /// </summary>
    public async Task KillAsync(TimeSpan? restartAfter, MeshAgent? only = null)
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_agent is null || (only is not null && !ReferenceEquals(_agent, only)))
            {
                return;
            }

            await StopInstanceAsync(SimulatedAgentStatus.Crashed).ConfigureAwait(false);
            lock (_gate)
            {
                _crashes++;
            }

            LogCrashed(_logger, AgentId, restartAfter?.TotalMilliseconds ?? -1);
            if (restartAfter is { } delay && !_fleetStopping.IsCancellationRequested)
            {
                ScheduleRestart(delay);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Restarts the agent as a fresh process: whatever runs is torn down without reporting, then a new instance connects.</summary>
    public async Task RestartAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_fleetStopping.IsCancellationRequested)
            {
                return;
            }

            await StopInstanceAsync(SimulatedAgentStatus.Crashed).ConfigureAwait(false);
            StartInstance();
            lock (_gate)
            {
                _restarts++;
            }

            LogRestarted(_logger, AgentId);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops gracefully with the fleet: running jobs are released to other agents.</summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            CancelPendingRestart();
            MeshAgent? agent;
            lock (_gate)
            {
                agent = _agent;
            }

            if (agent is not null)
            {
                await agent.DisposeAsync().ConfigureAwait(false);
                await _run.ConfigureAwait(false);
                Retire(agent, SimulatedAgentStatus.Stopped);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Under the lifecycle semaphore.</summary>
    private void StartInstance()
    {
        CancelPendingRestart();
        MeshAgent? self = null;
        var agent = new MeshAgent(_options, (job, ct) => HandleAsync(self!, job, ct), _sdkLogger, _time, _channel);
        self = agent;
        agent.CommandReceived += OnCommand;
        lock (_gate)
        {
            _agent = agent;
            _status = SimulatedAgentStatus.Running;
        }

        _run = RunInstanceAsync(agent);
    }

    private async Task RunInstanceAsync(MeshAgent agent)
    {
        try
        {
            await agent.RunAsync(_fleetStopping).ConfigureAwait(false);
            if (agent.Draining)
            {
                // Drained on the mesh's command: a drained process exits and stays down.
                lock (_gate)
                {
                    if (ReferenceEquals(_agent, agent))
                    {
                        _status = SimulatedAgentStatus.Drained;
                    }
                }
            }
        }
        catch (RpcException ex)
        {
            LogRejected(_logger, AgentId, ex.StatusCode, ex.Status.Detail);
            MarkRejected(agent);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not expected; one broken agent must not take the fleet's bookkeeping down with it.
            LogFailed(_logger, AgentId, ex);
            MarkRejected(agent);
        }
    }

    private void MarkRejected(MeshAgent agent)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_agent, agent))
            {
                _status = SimulatedAgentStatus.Rejected;
            }
        }
    }

    /// <summary>Aborts the running instance, if any, and keeps its figures. Under the lifecycle semaphore.</summary>
    private async Task StopInstanceAsync(SimulatedAgentStatus status)
    {
        CancelPendingRestart();
        MeshAgent? agent;
        lock (_gate)
        {
            agent = _agent;
        }

        if (agent is null)
        {
            return;
        }

        await agent.AbortAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        Retire(agent, status);
        await agent.DisposeAsync().ConfigureAwait(false);
    }

    private void Retire(MeshAgent agent, SimulatedAgentStatus status)
    {
        agent.CommandReceived -= OnCommand;
        lock (_gate)
        {
            _pastCompleted += agent.Completed;
            _pastFailed += agent.Failed;
            _pastRefused += agent.Refused;
            _pastRegistrations += agent.Registrations;
            _agent = null;
            _status = _status is SimulatedAgentStatus.Drained or SimulatedAgentStatus.Rejected && status == SimulatedAgentStatus.Stopped
                ? _status
                : status;
        }
    }

    private void ScheduleRestart(TimeSpan delay)
    {
        var pending = CancellationTokenSource.CreateLinkedTokenSource(_fleetStopping);
        _pendingRestart = pending;
        _ = RestartLaterAsync(delay, pending);
    }

    private async Task RestartLaterAsync(TimeSpan delay, CancellationTokenSource pending)
    {
        try
        {
            await Task.Delay(delay, _time, pending.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            // Still the restart in force (not replaced by an explicit kill or restart meanwhile)?
            if (!ReferenceEquals(_pendingRestart, pending) || _fleetStopping.IsCancellationRequested)
            {
                return;
            }

            StartInstance();
            lock (_gate)
            {
                _restarts++;
            }

            LogRestarted(_logger, AgentId);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private void CancelPendingRestart()
    {
        if (_pendingRestart is { } pending)
        {
            _pendingRestart = null;
            pending.Cancel();
            pending.Dispose();
        }
    }

    private void OnCommand(object? sender, MeshCommandEventArgs e)
    {
        if (e.Kind == CommandKind.Restart)
        {
            // An operator's restart must restart the process, not just its connection: in-flight work is lost.
            e.Handled = true;
            _ = RestartAsync();
        }
    }

    private async Task<JobOutcome> HandleAsync(MeshAgent instance, AgentJob job, CancellationToken cancellationToken)
    {
        double latencyMs;
        bool fail;
        bool crash;
        double crashAtMs;
        lock (_random)
        {
            latencyMs = Math.Max(0, _sim.LatencyMs + ((2 * _random.NextDouble()) - 1) * _sim.LatencyJitterMs);
            fail = _random.NextDouble() < _sim.FailureRate;
            crash = _random.NextDouble() < _sim.CrashRate;
            crashAtMs = _random.NextDouble() * latencyMs;
        }

        if (crash)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(crashAtMs), _time, cancellationToken).ConfigureAwait(false);
            _ = KillAsync(_sim.RestartDelay, instance);

            // The abort cancels this token; a crashed process reports nothing.
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, cancellationToken).ConfigureAwait(false);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(latencyMs), _time, cancellationToken).ConfigureAwait(false);

        // Rough token figures from the payload's size, as a language model's usage would scale.
        var tokensIn = Math.Max(1, job.PayloadJson.Length / 4);
        var tokensOut = tokensIn / 2 + 16;
        var cost = (tokensIn + tokensOut) * _sim.CostPerMillionTokens / 1_000_000;
        return fail
            ? JobOutcome.Failure("simulated failure", retryable: true, tokensIn, tokensOut, cost)
            : JobOutcome.Success(ResultJson(job.PayloadJson), tokensIn, tokensOut, cost);
    }

    /// <summary><c>{"echo": payload, "agent": id}</c>; a payload that is not JSON is echoed as a string.</summary>
    private string ResultJson(string payload)
    {
        var buffer = new ArrayBufferWriter<byte>(payload.Length + AgentId.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("echo");
            if (string.IsNullOrWhiteSpace(payload))
            {
                writer.WriteNullValue();
            }
            else if (IsJson(payload))
            {
                writer.WriteRawValue(payload, skipInputValidation: true);
            }
            else
            {
                writer.WriteStringValue(payload);
            }

            writer.WriteString("agent", AgentId);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool IsJson(string text)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            reader.Read();
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated agent {AgentId} crashed (restart in {RestartMs} ms; -1: on request)")]
    private static partial void LogCrashed(ILogger logger, string agentId, double restartMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated agent {AgentId} restarted")]
    private static partial void LogRestarted(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Simulated agent {AgentId} failed")]
    private static partial void LogFailed(ILogger logger, string agentId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Simulated agent {AgentId}: registration rejected ({Status}: {Detail})")]
    private static partial void LogRejected(ILogger logger, string agentId, StatusCode status, string detail);
}
