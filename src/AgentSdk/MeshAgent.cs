using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Grpc.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MeshOs.AgentSdk;

/// <summary>
/// An agent: holds one <c>AgentChannel.Connect</c> stream to the mesh, registers, asks for work up to
/// <see cref="MeshAgentOptions.MaxConcurrency"/>, runs each assignment through the handler, reports results, heartbeats
/// and reconnects with backoff when the stream is lost. Jobs keep running across reconnections and report on the next
/// stream.
/// </summary>
/// <remarks>
/// Cancelling <see cref="RunAsync"/>'s token stops the agent gracefully: running handlers are cancelled and their jobs
/// released to other agents (a handler that finishes anyway reports its result). <see cref="Drain"/> finishes the
/// jobs in hand first. <see cref="AbortAsync"/> drops everything at once, as a crashed process would.
/// </remarks>
public sealed partial class MeshAgent : IAsyncDisposable
{
    private static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(5);

    private readonly Func<AgentJob, CancellationToken, Task<JobOutcome>> _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly GrpcChannel? _ownedChannel;
    private readonly AgentChannel.AgentChannelClient _client;
    private readonly Metadata _headers;
    private readonly AgentMessage _register;
    private readonly int _maxConcurrency;
    private readonly TimeSpan _registrationTimeout;
    private readonly TimeSpan _shutdownTimeout;
    private readonly ReconnectBackoff _backoff;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, HeldJob> _jobs = [];

    // Cancelled when the agent must not connect again (stopped, drained, aborted).
    private readonly CancellationTokenSource _lifetime = new();

    // Cancelled to reset the current stream at once: on abort, or when a graceful stop overruns its grace.
    private readonly CancellationTokenSource _kill;
    private readonly TaskCompletionSource _runCompleted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AgentSession? _session;
    private long _generation;
    private int _failedAttempts;
    private int _running;
    private int _runStarted;
    private bool _stopping;
    private volatile bool _draining;
    private bool _drainFinished;
    private bool _aborted;
    private bool _disposed;
    private volatile AgentState _state = AgentState.Offline;
    private volatile bool _connected;
    private long _completed;
    private long _failed;
    private long _refused;
    private long _released;
    private long _cancelled;
    private long _registrations;

    /// <param name="handler">Runs one job. Its token is cancelled on timeout, revocation, cancellation or shutdown.
    /// An exception becomes a retryable failure.</param>
    /// <param name="channel">A channel shared by the agents of a process (see <see cref="MeshGrpcChannel.Create"/>);
    /// the agent neither owns nor disposes it. Null: the agent makes its own for <see cref="MeshAgentOptions.Endpoint"/>.</param>
    public MeshAgent(
        MeshAgentOptions options,
        Func<AgentJob, CancellationToken, Task<JobOutcome>> handler,
        ILogger? logger = null,
        TimeProvider? timeProvider = null,
        GrpcChannel? channel = null)
    {
        MeshAgentOptionsValidator.ThrowIfInvalid(options);
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        AgentId = options.AgentId;
        _maxConcurrency = options.MaxConcurrency;
        _registrationTimeout = options.RegistrationTimeout;
        _shutdownTimeout = options.ShutdownTimeout;
        _backoff = new ReconnectBackoff(options.ReconnectMinDelay, options.ReconnectMaxDelay, Random.Shared.NextDouble);
        _kill = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        _headers = string.IsNullOrEmpty(options.ApiKey)
            ? new Metadata { { "x-enrollment-token", options.EnrollmentToken! } }
            : new Metadata { { "x-api-key", options.ApiKey } };

        var register = new Register
        {
            AgentId = options.AgentId,
            Pool = options.Pool,
            MaxConcurrency = options.MaxConcurrency,
            Version = options.Version,
            Region = options.Region,
            CostPerHour = options.CostPerHour,
            RuntimeId = options.RuntimeId ?? string.Empty,
        };
        register.Capabilities.AddRange(options.Capabilities);
        register.Certifications.AddRange(options.Certifications);
        _register = new AgentMessage { Register = register };

        if (channel is null)
        {
            _ownedChannel = MeshGrpcChannel.Create(options.Endpoint);
            channel = _ownedChannel;
        }

        _client = new AgentChannel.AgentChannelClient(channel);
    }

    /// <summary>Raised when the mesh sends a command, before the SDK acts on it.</summary>
    public event EventHandler<MeshCommandEventArgs>? CommandReceived;

    public string AgentId { get; }

    /// <summary>The agent's state as the mesh last reported it; Offline before the first registration and after the run.</summary>
    public AgentState State => _state;

    /// <summary>True while a registered stream is open.</summary>
    public bool Connected => _connected;

    /// <summary>True once the agent stopped taking work to drain (on command or by <see cref="Drain"/>).</summary>
    public bool Draining => _draining;

    /// <summary>Successful results the mesh accepted.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Failed results (handler failures, exceptions, timeouts) the mesh accepted.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Starts, results or releases the mesh refused (a stale epoch); those jobs were dropped.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Assignments handed back to the mesh unrun or unfinished (stopping, draining, over capacity).</summary>
    public long Released => Interlocked.Read(ref _released);

    /// <summary>Jobs whose handlers were cancelled because the mesh revoked their lease or cancelled them.</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Successful registrations: 1 after the first connection, one more per reconnection.</summary>
    public long Registrations => Interlocked.Read(ref _registrations);

    /// <summary>Jobs the agent holds: handlers running, or results not yet acknowledged.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return CountHeld();
            }
        }
    }

    /// <summary>
    /// Connects and serves until <paramref name="cancellationToken"/> is cancelled (a graceful stop), the agent is
    /// drained or aborted, or the mesh rejects the registration for good (Unauthenticated, InvalidArgument,
    /// AlreadyExists: the <see cref="RpcException"/> is thrown). May be called once.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _runStarted, 1) != 0)
        {
            throw new InvalidOperationException("RunAsync may be called once per agent.");
        }

        try
        {
            using var stopRegistration = cancellationToken.UnsafeRegister(static s => ((MeshAgent)s!).RequestStop(), this);
            while (!_lifetime.IsCancellationRequested)
            {
                var (end, rejection) = await RunSessionAsync().ConfigureAwait(false);
                if (rejection is not null)
                {
                    LogRegistrationRejected(_logger, AgentId, rejection.StatusCode, rejection.Status.Detail);
                    throw rejection;
                }

                if (_lifetime.IsCancellationRequested)
                {
                    break;
                }

                if (end is SessionEnd.Restart or SessionEnd.Offline)
                {
                    // Asked for by the mesh: the gateway is up, so come straight back.
                    continue;
                }

                TimeSpan delay;
                lock (_gate)
                {
                    delay = _backoff.Next();
                }

                LogReconnecting(_logger, AgentId, delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, _time, _lifetime.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            OnRunEnded();
            _runCompleted.TrySetResult();
        }
    }

    /// <summary>
    /// Stops taking work (a <c>LeaseRequest</c> of 0 and any new assignment released), lets the jobs in hand finish
    /// and report, then closes the stream; <see cref="RunAsync"/> then returns. The mesh's DRAIN command does the same.
    /// </summary>
    public void Drain()
    {
        lock (_gate)
        {
            BeginDrain(_session);
        }

        CompleteDrainIfDone();
    }

    /// <summary>
    /// Stops at once as a crashed process would: the stream is reset without releasing anything, handlers are
    /// cancelled and nothing more is reported or heartbeated. The mesh finds out from the stream's reset and the
    /// missing heartbeats. Completes when <see cref="RunAsync"/> has returned.
    /// </summary>
    public async Task AbortAsync()
    {
        List<CancellationTokenSource> cancel = [];
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _aborted = true;
            foreach (var job in _jobs.Values)
            {
                if (job.Running && !job.Dropped)
                {
                    job.StopReason = StopReason.Aborted;
                    job.Dropped = true;
                    cancel.Add(job.Cancellation);
                }
            }

            _jobs.Clear();
            _session?.Silence();
        }

        LogAborted(_logger, AgentId);

        // The stream first: cancelled handlers must find nothing left to write to.
        _kill.Cancel();
        _lifetime.Cancel();
        CancelAll(cancel);
        if (Volatile.Read(ref _runStarted) != 0)
        {
            await _runCompleted.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Stops gracefully if running (as cancelling <see cref="RunAsync"/> does) and waits for the run to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        RequestStop();
        if (Volatile.Read(ref _runStarted) != 0)
        {
            await _runCompleted.Task.ConfigureAwait(false);
        }

        lock (_gate)
        {
            _disposed = true;
        }

        _lifetime.Dispose();
        _kill.Dispose();
        _ownedChannel?.Dispose();
    }

    private void RequestStop()
    {
        List<CancellationTokenSource> cancel = [];
        AgentSession? reset = null;
        lock (_gate)
        {
            if (_stopping || _aborted || _disposed)
            {
                return;
            }

            _stopping = true;
            foreach (var job in _jobs.Values)
            {
                if (job.Running && !job.Dropped)
                {
                    job.StopReason = StopReason.Shutdown;
                    cancel.Add(job.Cancellation);
                }
            }

            if (_session is { } session)
            {
                if (!session.Registered)
                {
                    reset = session;
                }
                else if (_running == 0)
                {
                    session.Close(SessionEnd.Stopped);
                }
            }
        }

        LogStopping(_logger, AgentId);
        CancelAll(cancel);
        _lifetime.Cancel();

        // Handlers that ignore their token must not hold the process: past the grace the stream is reset.
        _kill.CancelAfter(_shutdownTimeout);
        if (reset is not null)
        {
            TryCancel(reset.Call);
        }
    }

    private void OnRunEnded()
    {
        List<CancellationTokenSource> cancel = [];
        lock (_gate)
        {
            _connected = false;
            _state = AgentState.Offline;
            foreach (var job in _jobs.Values)
            {
                if (job.Running && !job.Dropped)
                {
                    // Nothing can be reported any more: whoever runs the job next does so under a new lease.
                    job.StopReason = _aborted ? StopReason.Aborted : StopReason.Shutdown;
                    job.Dropped = true;
                    cancel.Add(job.Cancellation);
                }
            }

            _jobs.Clear();
        }

        CancelAll(cancel);
    }

    private int CountHeld()
    {
        var count = 0;
        foreach (var job in _jobs.Values)
        {
            if (!job.Dropped)
            {
                count++;
            }
        }

        return count;
    }

    private static void CancelAll(List<CancellationTokenSource> sources)
    {
        foreach (var source in sources)
        {
            TryCancel(source);
        }
    }

    private static void TryCancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The handler or the stream ended meanwhile and released it: nothing left to cancel.
        }
    }
}
