using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Grpc.V1;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// A lean agent on the raw AgentChannel protocol whose network stalls: it registers, heartbeats every second, takes
/// jobs and says it started them, then <see cref="Stall"/>s: it stops reading and writing while its connection (its
/// own HTTP/2 connection) stays open. Later <see cref="ResumeAsync"/> reports every job it took as succeeded under the
/// epochs it was given, as an agent that finished the work during the stall would, and returns the mesh's answers.
/// Nothing reads the stream in the background: while stalled, whatever the mesh sends waits in the connection.
/// </summary>
public sealed class StallingAgent : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<AgentMessage, MeshMessage> _call;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly List<Assignment> _held = [];
    private CancellationTokenSource? _heartbeats;
    private Task _heartbeatLoop = Task.CompletedTask;
    private Task<bool>? _pendingRead;

    private StallingAgent(GrpcChannel channel, AsyncDuplexStreamingCall<AgentMessage, MeshMessage> call, string agentId)
    {
        _channel = channel;
        _call = call;
        AgentId = agentId;
    }

    public string AgentId { get; }

    /// <summary>The jobs it took (each with the epoch of its lease).</summary>
    public IReadOnlyList<Assignment> Held => _held;

    /// <summary>Connects on a channel of its own, registers with the enrollment token and waits for Registered.</summary>
    public static async Task<StallingAgent> ConnectAsync(Uri grpcUrl, string agentId, string capability, int maxConcurrency)
    {
        var channel = GrpcChannel.ForAddress(grpcUrl);
        var call = new AgentChannel.AgentChannelClient(channel).Connect(new Metadata { { "x-enrollment-token", MeshProcess.EnrollmentToken } });
        var agent = new StallingAgent(channel, call, agentId);
        await agent.WriteAsync(new AgentMessage
        {
            Register = new Register
            {
                AgentId = agentId,
                Pool = "platform",
                Capabilities = { capability },
                MaxConcurrency = maxConcurrency,
                Version = "stalling-1",
                Region = "local",
                CostPerHour = 0.1,
            },
        });
        var registered = await agent.ReadUntilAsync(m => m.BodyCase == MeshMessage.BodyOneofCase.Registered, TimeSpan.FromSeconds(30));
        Assert.NotNull(registered);
        agent.StartHeartbeats();
        return agent;
    }

    /// <summary>Asks for <paramref name="count"/> jobs and takes them as they come (reporting each started); returns them.</summary>
    public async Task<IReadOnlyList<Assignment>> TakeAsync(int count, TimeSpan timeout)
    {
        await WriteAsync(new AgentMessage { LeaseRequest = new LeaseRequest { Slots = count } });
        var deadline = DateTime.UtcNow + timeout;
        while (_held.Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            var message = left > TimeSpan.Zero ? await ReadUntilAsync(m => m.BodyCase == MeshMessage.BodyOneofCase.Assignment, left) : null;
            if (message is null)
            {
                throw new TimeoutException($"{AgentId} got {_held.Count} of {count} jobs within {timeout.TotalSeconds:0} s.");
            }

            lock (_held)
            {
                _held.Add(message.Assignment);
            }

            await WriteAsync(new AgentMessage { Started = new JobStarted { JobId = message.Assignment.JobId, Epoch = message.Assignment.Epoch } });
        }

        return _held;
    }

    /// <summary>The network stalls: no more heartbeats, nothing written, nothing read; the connection stays open.</summary>
    public async Task Stall()
    {
        if (_heartbeats is not null)
        {
            await _heartbeats.CancelAsync();
            await _heartbeatLoop;
        }
    }

    /// <summary>
    /// The network comes back: reports each held job as succeeded under its old epoch and waits for the mesh's answer
    /// to each; then heartbeats once, listing the old leases, and returns that answer too.
    /// </summary>
    public async Task<(IReadOnlyList<ReportAck> Acks, HeartbeatAck Heartbeat)> ResumeAsync(TimeSpan timeout)
    {
        foreach (var job in _held)
        {
            await WriteAsync(new AgentMessage
            {
                Result = new JobResult { JobId = job.JobId, Epoch = job.Epoch, Succeeded = true, ResultJson = $$"""{"late":"{{AgentId}}"}""" },
            });
        }

        var acks = new List<ReportAck>();
        while (acks.Count < _held.Count)
        {
            var message = await ReadUntilAsync(m => m.BodyCase == MeshMessage.BodyOneofCase.ReportAck && !m.ReportAck.ForStart, timeout)
                ?? throw new TimeoutException($"{AgentId} got {acks.Count} of {_held.Count} report acks within {timeout.TotalSeconds:0} s.");
            acks.Add(message.ReportAck);
        }

        await WriteAsync(new AgentMessage { Heartbeat = Beat() });
        var heartbeat = await ReadUntilAsync(m => m.BodyCase == MeshMessage.BodyOneofCase.HeartbeatAck, timeout)
            ?? throw new TimeoutException($"{AgentId} got no heartbeat ack within {timeout.TotalSeconds:0} s.");
        return (acks, heartbeat.HeartbeatAck);
    }

    public async ValueTask DisposeAsync()
    {
        await Stall();
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
        }

        _call.Dispose();
        _channel.Dispose();
        _writeGate.Dispose();
        _heartbeats?.Dispose();
    }

    private void StartHeartbeats()
    {
        _heartbeats = new CancellationTokenSource();
        var token = _heartbeats.Token;
        _heartbeatLoop = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await WriteAsync(new AgentMessage { Heartbeat = Beat() });
                    await Task.Delay(TimeSpan.FromSeconds(1), token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (RpcException)
                {
                    return;
                }
            }
        });
    }

    private Heartbeat Beat()
    {
        var beat = new Heartbeat { Load = 0.5 };
        lock (_held)
        {
            beat.InFlight.AddRange(_held.Select(a => new LeaseRef { JobId = a.JobId, Epoch = a.Epoch }));
        }

        return beat;
    }

    private async Task WriteAsync(AgentMessage message)
    {
        await _writeGate.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(message);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Reads messages until one matches (skipping the others); null when <paramref name="timeout"/> passes first. The
    /// pending read is not cancelled on timeout (that would cancel the whole call); it simply stays pending and its
    /// message is taken by the next read.
    /// </summary>
    private async Task<MeshMessage?> ReadUntilAsync(Func<MeshMessage, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            _pendingRead ??= _call.ResponseStream.MoveNext();
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(_pendingRead, Task.Delay(left)) != _pendingRead)
            {
                return null;
            }

            var more = await _pendingRead;
            _pendingRead = null;
            if (!more)
            {
                throw new InvalidOperationException($"The mesh ended {AgentId}'s stream.");
            }

            if (match(_call.ResponseStream.Current))
            {
                return _call.ResponseStream.Current;
            }
        }
    }
}
