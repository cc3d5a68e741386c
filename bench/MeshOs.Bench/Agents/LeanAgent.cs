using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Agents;

/// <summary>What a lean agent does with an assignment.</summary>
public enum AssignmentHandling
{
    /// <summary>Reports Started and a successful Result at once (a no-op job).</summary>
    Complete,

    /// <summary>Reports Started and keeps the job, renewing its lease with heartbeats (a job that runs for ever).</summary>
    Hold,
}

/// <summary>Shared sinks of a group of lean agents: what they measure goes here.</summary>
public sealed class LeanAgentSinks(WindowClock window)
{
    public WindowClock Window { get; } = window;

    /// <summary>Submit due time → assignment read from the stream, for jobs due in the window.</summary>
    public LatencyRecorder Dispatch { get; } = new();

    /// <summary>Submit due time → the mesh's accepting ReportAck of the result (the result is durable), for jobs due in the window.</summary>
    public LatencyRecorder ReportAck { get; } = new();

    /// <summary>Heartbeat written → HeartbeatAck read, for heartbeats sent in the window.</summary>
    public LatencyRecorder HeartbeatRoundTrip { get; } = new();

    private long _heartbeatsLost;
    private long _leasesRevoked;

    /// <summary>Heartbeats with no ack before the agent's next heartbeat was due, or before their stream ended.</summary>
    public long HeartbeatsLost => Interlocked.Read(ref _heartbeatsLost);

    /// <summary>Leases the mesh told an agent to drop (heartbeat acks listing them as revoked).</summary>
    public long LeasesRevoked => Interlocked.Read(ref _leasesRevoked);

    internal void HeartbeatLost() => Interlocked.Increment(ref _heartbeatsLost);

    internal void LeaseRevoked() => Interlocked.Increment(ref _leasesRevoked);
}

/// <summary>
/// A minimal agent on the raw gRPC protocol (meshos.v1.AgentChannel/Connect): register, lease request, heartbeats with
/// the leases it holds, Started and Result reports. Unlike the SDK it exposes every protocol event with its time, so the
/// bench can time dispatch, result acknowledgement and heartbeat round trips exactly, and it can die in two ways:
/// <see cref="Kill"/> resets the stream (a crashed process), <see cref="Silence"/> stops talking but keeps it open (a hung one).
/// After its stream ended it can <see cref="ConnectAsync"/> again on a new one (a reconnect), keeping the jobs it holds.
/// </summary>
public sealed class LeanAgent : IAsyncDisposable
{
    private readonly AgentChannel.AgentChannelClient _client;
    private readonly Metadata _headers;
    private readonly LeanAgentSinks _sinks;
    private readonly ConcurrentDictionary<string, HeldLease> _held = new(StringComparer.Ordinal);
    private volatile Connection? _connection;
    private long _heartbeatSentAt;
    private volatile bool _silenced;
    private long _completed;
    private long _refused;

    public LeanAgent(AgentChannel.AgentChannelClient client, string enrollmentToken, string agentId, string capability,
        int maxConcurrency, AssignmentHandling handling, LeanAgentSinks sinks)
    {
        _client = client;
        _headers = new Metadata { { "x-enrollment-token", enrollmentToken } };
        AgentId = agentId;
        Capability = capability;
        MaxConcurrency = maxConcurrency;
        Handling = handling;
        _sinks = sinks;
    }

    public string AgentId { get; }

    public string Capability { get; }

    public int MaxConcurrency { get; }

    public AssignmentHandling Handling { get; }

    /// <summary>The heartbeat interval the mesh asked for at registration.</summary>
    public TimeSpan HeartbeatInterval { get; private set; }

    public long Completed => Interlocked.Read(ref _completed);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Raised on the reading loop for every assignment, with the bench-clock time it was read.</summary>
    public event Action<LeanAgent, Assignment, long>? Assigned;

    /// <summary>Ends when the current stream ends (the mesh closed it, it failed, or it was killed).</summary>
    public Task Completion => _connection?.Reader ?? Task.CompletedTask;

    /// <summary>
    /// Opens a stream and registers; returns once the mesh answered Registered. Called again after the stream ended, it
    /// reconnects: a heartbeat still unanswered on the old stream counts as lost, and an agent holding jobs heartbeats at
    /// once (its leases were not renewed while it was away).
    /// </summary>
    public async Task ConnectAsync(TimeSpan timeout)
    {
        if (_connection is { } previous)
        {
            await previous.DisposeAsync();
        }

        if (Interlocked.Exchange(ref _heartbeatSentAt, 0) != 0)
        {
            _sinks.HeartbeatLost();
        }

        var connection = _connection = new Connection(token => _client.Connect(_headers, cancellationToken: token));
        connection.Start(this);
        connection.Outbound.Writer.TryWrite(new AgentMessage
        {
            Register = new Register { AgentId = AgentId, Pool = "platform", Capabilities = { Capability }, MaxConcurrency = MaxConcurrency, Version = "bench" },
        });
        var registered = await connection.Registered.Task.WaitAsync(timeout);
        HeartbeatInterval = registered.HeartbeatInterval?.ToTimeSpan() ?? TimeSpan.FromSeconds(5);
        connection.IsRegistered = true;
        if (!_held.IsEmpty)
        {
            Heartbeat(); // as the SDK does: leases held across a reconnect are renewed at once, not an interval later
        }
    }

    /// <summary>Offers <paramref name="slots"/> credits: the mesh sends up to that many assignments (it gives a credit back per result).</summary>
    public void RequestLeases(int slots) => Send(new AgentMessage { LeaseRequest = new LeaseRequest { Slots = slots } });

    /// <summary>Sends a heartbeat listing the held leases; its round trip is timed when it is sent in the window.</summary>
    public void Heartbeat()
    {
        if (_silenced || _connection is not { IsRegistered: true, Reader.IsCompleted: false })
        {
            return; // no stream to say it on: a real agent is reconnecting meanwhile
        }

        var heartbeat = new Heartbeat { Load = (double)_held.Count / MaxConcurrency };
        foreach (var (jobId, lease) in _held)
        {
            heartbeat.InFlight.Add(new LeaseRef { JobId = jobId, Epoch = lease.Epoch });
        }

        var now = Ticks.Now;
        if (Interlocked.Exchange(ref _heartbeatSentAt, now) != 0)
        {
            _sinks.HeartbeatLost();
        }

        Send(new AgentMessage { Heartbeat = heartbeat });
    }

    /// <summary>Heartbeats every <see cref="HeartbeatInterval"/> after a first delay of <paramref name="phase"/>, until cancelled.</summary>
    public async Task HeartbeatLoopAsync(TimeSpan phase, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(phase, cancellationToken);
            using var timer = new PeriodicTimer(HeartbeatInterval);
            do
            {
                Heartbeat();
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reports a held job as succeeded.</summary>
    public void Complete(string jobId)
    {
        if (_held.TryGetValue(jobId, out var lease))
        {
            lease.ResultSent = true;
            Send(new AgentMessage { Result = new JobResult { JobId = jobId, Epoch = lease.Epoch, Succeeded = true } });
        }
    }

    /// <summary>Dies as a crashed process does: the stream is reset, nothing more is said.</summary>
    public void Kill()
    {
        _silenced = true;
        _connection?.Call.Cancel();
    }

    /// <summary>Hangs: no more heartbeats or reports, but the stream stays open.</summary>
    public void Silence() => _silenced = true;

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.DisposeAsync();
        }
    }

    private void Send(AgentMessage message)
    {
        if (!_silenced || message.BodyCase == AgentMessage.BodyOneofCase.Register)
        {
            _connection?.Outbound.Writer.TryWrite(message);
        }
    }

    private async Task ReadLoopAsync(Connection connection)
    {
        var stream = connection.Stream.ResponseStream;
        try
        {
            while (await stream.MoveNext(connection.Call.Token))
            {
                var now = Ticks.Now;
                var message = stream.Current;
                switch (message.BodyCase)
                {
                    case MeshMessage.BodyOneofCase.Registered:
                        connection.Registered.TrySetResult(message.Registered);
                        break;
                    case MeshMessage.BodyOneofCase.Assignment:
                        OnAssignment(message.Assignment, now);
                        break;
                    case MeshMessage.BodyOneofCase.ReportAck:
                        OnReportAck(message.ReportAck, now);
                        break;
                    case MeshMessage.BodyOneofCase.HeartbeatAck:
                        OnHeartbeatAck(message.HeartbeatAck, now);
                        break;
                }
            }

            connection.Registered.TrySetException(new InvalidOperationException($"{AgentId}: the mesh ended the stream before Registered."));
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or HttpRequestException)
        {
            connection.Registered.TrySetException(new InvalidOperationException($"{AgentId}: the stream failed before Registered: {ex.Message}", ex));
        }
    }

    private void OnHeartbeatAck(HeartbeatAck ack, long now)
    {
        var sent = Interlocked.Exchange(ref _heartbeatSentAt, 0);
        if (sent != 0 && _sinks.Window.Contains(sent))
        {
            _sinks.HeartbeatRoundTrip.Record(Ticks.ToMs(now - sent));
        }

        foreach (var revoked in ack.Revoked)
        {
            if (_held.TryGetValue(revoked.JobId, out var lease) && lease.Epoch == revoked.Epoch && _held.TryRemove(revoked.JobId, out _))
            {
                _sinks.LeaseRevoked();
            }
        }
    }

    private void OnAssignment(Assignment assignment, long now)
    {
        var due = BenchJobs.DueTicksOf(assignment.PayloadJson);
        if (due is { } d && _sinks.Window.Contains(d))
        {
            _sinks.Dispatch.Record(Ticks.ToMs(now - d));
        }

        _held[assignment.JobId] = new HeldLease(assignment.Epoch, due);
        Send(new AgentMessage { Started = new JobStarted { JobId = assignment.JobId, Epoch = assignment.Epoch } });
        Assigned?.Invoke(this, assignment, now);
        if (Handling == AssignmentHandling.Complete)
        {
            Complete(assignment.JobId);
        }
    }

    private void OnReportAck(ReportAck ack, long now)
    {
        if (!_held.TryGetValue(ack.JobId, out var lease) || lease.Epoch != ack.Epoch)
        {
            return;
        }

        if (!ack.Accepted)
        {
            Interlocked.Increment(ref _refused);
            _held.TryRemove(ack.JobId, out _);
            return;
        }

        // Starts are answered only when refused: an accepted answer is the result's.
        if (ack.ForStart)
        {
            return;
        }

        lease.Acks++;
        if (lease.ResultSent)
        {
            _held.TryRemove(ack.JobId, out _);
            Interlocked.Increment(ref _completed);
            if (lease.DueTicks is { } due && _sinks.Window.Contains(due))
            {
                _sinks.ReportAck.Record(Ticks.ToMs(now - due));
            }
        }
    }

    /// <summary>One stream: its call, the outbound queue its one writer loop drains, and its read loop.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        public Connection(Func<CancellationToken, AsyncDuplexStreamingCall<AgentMessage, MeshMessage>> open) => Stream = open(Call.Token);

        public AsyncDuplexStreamingCall<AgentMessage, MeshMessage> Stream { get; }

        /// <summary>Cancelling it resets the stream (<see cref="Kill"/>).</summary>
        public CancellationTokenSource Call { get; } = new();

        public Channel<AgentMessage> Outbound { get; } = System.Threading.Channels.Channel.CreateUnbounded<AgentMessage>(new UnboundedChannelOptions { SingleReader = true });

        public TaskCompletionSource<Registered> Registered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool IsRegistered;

        public Task Reader { get; private set; } = Task.CompletedTask;

        private Task Writer { get; set; } = Task.CompletedTask;

        public void Start(LeanAgent agent)
        {
            Writer = WriteLoopAsync();
            Reader = agent.ReadLoopAsync(this);
        }

        public async ValueTask DisposeAsync()
        {
            Outbound.Writer.TryComplete();
            await Writer.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default); // ended, failed or stuck: the call is cancelled next

            await Call.CancelAsync();
            await Reader.ContinueWith(_ => { }, TaskScheduler.Default);
            Stream.Dispose();
            Call.Dispose();
        }

        private async Task WriteLoopAsync()
        {
            try
            {
                await foreach (var message in Outbound.Reader.ReadAllAsync(Call.Token))
                {
                    await Stream.RequestStream.WriteAsync(message, Call.Token);
                }

                await Stream.RequestStream.CompleteAsync();
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException or InvalidOperationException or IOException or HttpRequestException)
            {
                // The stream is gone (reset, or its server died): the read loop ends too.
            }
        }
    }

    private sealed class HeldLease(long epoch, long? dueTicks)
    {
        public long Epoch { get; } = epoch;

        public long? DueTicks { get; } = dueTicks;

        public bool ResultSent { get; set; }

        public int Acks { get; set; }
    }
}
