using System.Threading.Channels;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.AgentSdk.Support;

/// <summary>
/// Plays a well-behaved mesh on one connection: accepts the registration, acknowledges heartbeats and reports,
/// and records what it saw. Assignments are still the test's to send.
/// </summary>
public sealed class AutoPilot
{
    private readonly MeshConnection _connection;
    private readonly TimeSpan _heartbeatInterval;
    private readonly TaskCompletionSource<Register> _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<JobResult> _results = Channel.CreateUnbounded<JobResult>();
    private readonly Channel<JobStarted> _starts = Channel.CreateUnbounded<JobStarted>();
    private int _heartbeats;

    private AutoPilot(MeshConnection connection, TimeSpan heartbeatInterval)
    {
        _connection = connection;
        _heartbeatInterval = heartbeatInterval;
        Finished = FlyAsync();
    }

    public MeshConnection Connection => _connection;

    public Task<Register> Registered => _registered.Task;

    public int Heartbeats => Volatile.Read(ref _heartbeats);

    /// <summary>Completes when the agent has ended the stream.</summary>
    public Task Finished { get; }

    /// <summary>Results in arrival order; failures included.</summary>
    public ChannelReader<JobResult> Results => _results.Reader;

    public ChannelReader<JobStarted> Starts => _starts.Reader;

    public static AutoPilot Fly(MeshConnection connection, TimeSpan heartbeatInterval) => new(connection, heartbeatInterval);

    public async Task<JobResult> NextResultAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        return await _results.Reader.ReadAsync(timeout.Token);
    }

    public async Task<JobStarted> NextStartAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        return await _starts.Reader.ReadAsync(timeout.Token);
    }

    public Task WaitForHeartbeatsAsync(int count) => Eventually.TrueAsync(() => Heartbeats >= count, $"{count} heartbeats");

    private async Task FlyAsync()
    {
        await Task.Yield();
        await foreach (var message in _connection.ReadAllAsync(CancellationToken.None))
        {
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.Register:
                    _connection.Send(new MeshMessage
                    {
                        Registered = new Registered
                        {
                            AgentId = message.Register.AgentId,
                            Owner = "platform",
                            State = AgentState.Healthy,
                            HeartbeatInterval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(_heartbeatInterval),
                        },
                    });
                    _registered.TrySetResult(message.Register);
                    break;
                case AgentMessage.BodyOneofCase.Heartbeat:
                    Interlocked.Increment(ref _heartbeats);
                    _connection.AckHeartbeat();
                    break;
                case AgentMessage.BodyOneofCase.Started:
                    _starts.Writer.TryWrite(message.Started);
                    _connection.Ack(Guid.Parse(message.Started.JobId), message.Started.Epoch);
                    break;
                case AgentMessage.BodyOneofCase.Result:
                    _results.Writer.TryWrite(message.Result);
                    _connection.Ack(Guid.Parse(message.Result.JobId), message.Result.Epoch);
                    break;
                case AgentMessage.BodyOneofCase.Released:
                    _connection.Ack(Guid.Parse(message.Released.JobId), message.Released.Epoch);
                    break;
            }
        }

        _results.Writer.TryComplete();
        _starts.Writer.TryComplete();
    }
}
