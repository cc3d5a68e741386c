using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Http;

namespace MeshOs.Tests.AgentSdk.Support;

/// <summary>How the agent ended its side of a stream.</summary>
public enum ClientEnd
{
    /// <summary>It completed the request stream: a graceful close.</summary>
    Completed,

    /// <summary>The stream was reset or broke: what a crash looks like.</summary>
    Reset,
}

/// <summary>One agent stream as the test sees it: what the agent sent, in order, and a way to answer.</summary>
public sealed class MeshConnection(ServerCallContext context)
{
    private readonly Channel<AgentMessage> _inbound = Channel.CreateUnbounded<AgentMessage>();
    private readonly Channel<MeshMessage> _outbound = Channel.CreateUnbounded<MeshMessage>();
    private readonly TaskCompletionSource<ClientEnd> _clientEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Status> _endRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Metadata Headers => context.RequestHeaders;

    public Task<ClientEnd> ClientEnded => _clientEnded.Task;

    /// <summary>The next message the agent sent, whatever it is.</summary>
    private readonly HashSet<(string JobId, long Epoch)> _startsAwaitingAck = [];

    public async Task<AgentMessage> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        try
        {
            var message = await _inbound.Reader.ReadAsync(timeout.Token);
            if (message.BodyCase == AgentMessage.BodyOneofCase.Started)
            {
                lock (_startsAwaitingAck)
                {
                    _startsAwaitingAck.Add((message.Started.JobId, message.Started.Epoch));
                }
            }

            return message;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("The agent sent nothing more in time.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("The agent ended the stream.");
        }
    }

    /// <summary>The next message that is not a heartbeat.</summary>
    public async Task<AgentMessage> ReceiveSkippingHeartbeatsAsync()
    {
        while (true)
        {
            var message = await ReceiveAsync();
            if (message.BodyCase != AgentMessage.BodyOneofCase.Heartbeat)
            {
                return message;
            }
        }
    }

    /// <summary>
    /// Reads until a heartbeat that satisfies <paramref name="match"/>; returns it and the other messages read on the way.
    /// </summary>
    public async Task<(Heartbeat Heartbeat, List<AgentMessage> Before)> ReceiveHeartbeatAsync(Func<Heartbeat, bool> match)
    {
        var before = new List<AgentMessage>();
        while (true)
        {
            var message = await ReceiveAsync();
            if (message.BodyCase == AgentMessage.BodyOneofCase.Heartbeat && match(message.Heartbeat))
            {
                return (message.Heartbeat, before);
            }

            if (message.BodyCase != AgentMessage.BodyOneofCase.Heartbeat)
            {
                before.Add(message);
            }
        }
    }

    /// <summary>Every message, as it comes, until the agent ends the stream.</summary>
    public IAsyncEnumerable<AgentMessage> ReadAllAsync(CancellationToken cancellationToken) => _inbound.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Everything the agent sent until it ended the stream.</summary>
    public async Task<List<AgentMessage>> ReceiveRestAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        var rest = new List<AgentMessage>();
        await foreach (var message in _inbound.Reader.ReadAllAsync(timeout.Token))
        {
            rest.Add(message);
        }

        return rest;
    }

    /// <summary>Reads the registration and accepts it.</summary>
    public async Task<Register> AcceptRegistrationAsync(TimeSpan heartbeatInterval, AgentState state = AgentState.Healthy)
    {
        var first = await ReceiveAsync();
        Assert.Equal(AgentMessage.BodyOneofCase.Register, first.BodyCase);
        Send(new MeshMessage
        {
            Registered = new Registered
            {
                AgentId = first.Register.AgentId,
                Owner = "platform",
                State = state,
                HeartbeatInterval = Duration.FromTimeSpan(heartbeatInterval),
                LeaseDuration = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
            },
        });
        return first.Register;
    }

    public void Send(MeshMessage message) => _outbound.Writer.TryWrite(message);

    public void Assign(Guid jobId, long epoch, string payload = "{}", TimeSpan? timeout = null) => Send(new MeshMessage
    {
        Assignment = new Assignment
        {
            JobId = jobId.ToString(),
            Epoch = epoch,
            TenantId = "acme",
            Type = "echo",
            Capability = "echo",
            PayloadJson = payload,
            Attempt = 1,
            Timeout = timeout is { } t ? Duration.FromTimeSpan(t) : null,
        },
    });

    /// <summary>
    /// Answers the agent's last report of this job. An answer to a start carries for_start (the mesh answers starts
    /// only to refuse them; the scripted mesh may also accept them, as older meshes did).
    /// </summary>
    public void Ack(Guid jobId, long epoch, bool accepted = true, string error = "")
    {
        bool forStart;
        lock (_startsAwaitingAck)
        {
            forStart = _startsAwaitingAck.Remove((jobId.ToString(), epoch));
        }

        Send(new MeshMessage { ReportAck = new ReportAck { JobId = jobId.ToString(), Epoch = epoch, Accepted = accepted, Error = error, ForStart = forStart } });
    }

    public void Command(CommandKind kind, Guid? jobId = null, string reason = "test", long epoch = 0) =>
        Send(new MeshMessage { Command = new Command { Kind = kind, JobId = jobId?.ToString() ?? string.Empty, Reason = reason, Epoch = epoch } });

    public void AckHeartbeat(AgentState state = AgentState.Healthy, params (Guid JobId, long Epoch)[] revoked)
    {
        var ack = new HeartbeatAck { State = state };
        ack.Revoked.AddRange(revoked.Select(r => new LeaseRef { JobId = r.JobId.ToString(), Epoch = r.Epoch }));
        Send(new MeshMessage { HeartbeatAck = ack });
    }

    /// <summary>Ends the call: with a status other than OK, the agent sees an <see cref="RpcException"/>.</summary>
    public void End(Status status) => _endRequested.TrySetResult(status);

    /// <summary>Drops the stream abruptly, as a crashed gateway or a broken network would.</summary>
    public void Abort()
    {
        try
        {
            context.GetHttpContext().Abort();
        }
        catch (ObjectDisposedException)
        {
            // The call is over already.
        }
    }

    internal async Task ServeAsync(IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<MeshMessage> responses)
    {
        var reading = ReadAsync(requests);
        var writing = WriteAsync(responses);

        // Like the gateway: the call ends when the agent completes its side, or when the script says so.
        await Task.WhenAny(reading, _endRequested.Task);
        _outbound.Writer.TryComplete();
        try
        {
            await writing;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException)
        {
            // The stream is gone.
        }

        if (_endRequested.Task.IsCompleted && _endRequested.Task.Result.StatusCode != StatusCode.OK)
        {
            throw new RpcException(_endRequested.Task.Result);
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<AgentMessage> requests)
    {
        try
        {
            while (await requests.MoveNext(context.CancellationToken))
            {
                _inbound.Writer.TryWrite(requests.Current);
            }

            _clientEnded.TrySetResult(ClientEnd.Completed);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or RpcException or InvalidOperationException)
        {
            _clientEnded.TrySetResult(ClientEnd.Reset);
        }
        finally
        {
            _inbound.Writer.TryComplete();
        }
    }

    private async Task WriteAsync(IServerStreamWriter<MeshMessage> responses)
    {
        await foreach (var message in _outbound.Reader.ReadAllAsync(context.CancellationToken))
        {
            await responses.WriteAsync(message, context.CancellationToken);
        }
    }
}
