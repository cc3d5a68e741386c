using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Grpc;
using MeshMessage = MeshOs.Grpc.V1.MeshMessage;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// An agent connected over AgentChannel.Connect. Outbound messages go through one channel and one writer loop
/// (gRPC streams are not thread-safe); the session is also the Orleans observer the agent grain pushes commands to.
/// </summary>
internal sealed class StreamAgentSession(AgentRegistration registration, AgentState state, DispatchHub hub)
    : AgentSession(registration, state), IAgentChannelObserver
{
    /// <summary>
    /// Messages a session may have waiting for its stream beyond twice the agent's concurrency (an assignment and the
    /// acknowledgement of its report per slot, plus commands and heartbeat answers). An agent that reads slower than
    /// that is disconnected (it reconnects and re-registers) rather than growing the gateway's memory without end.
    /// </summary>
    public const int OutboundHeadroom = 256;

    private readonly Channel<MeshMessage> _outbound = Channel.CreateBounded<MeshMessage>(
        new BoundedChannelOptions(registration.MaxConcurrency * 2 + OutboundHeadroom) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    // One lock and a small table: an idle agent holds thousands of these, and one stream's reports rarely contend.
    private readonly ConcurrentDictionary<Guid, (long Epoch, long DeliveredAt)> _assigned = new(concurrencyLevel: 1, capacity: 4);

    /// <summary>Jobs assigned through this stream and not yet reported.</summary>
    public override int Outstanding => _assigned.Count;

    public void Send(MeshMessage message)
    {
        if (!_outbound.Writer.TryWrite(message))
        {
            Overflowed();
        }
    }

    /// <summary>Whether the session was closed because its agent did not read what it was sent.</summary>
    public bool SlowConsumer { get; private set; }

    /// <summary>The agent does not keep up with its stream: end the stream (the write loop ends with the channel).</summary>
    private void Overflowed()
    {
        SlowConsumer = true;
        _outbound.Writer.TryComplete();
    }

    public async Task WriteLoopAsync(IServerStreamWriter<MeshMessage> stream, CancellationToken cancellationToken)
    {
        var reader = _outbound.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryRead(out var message))
            {
                await stream.WriteAsync(message, cancellationToken);
            }
        }
    }

    public void Complete() => _outbound.Writer.TryComplete();

    public override bool TryDeliver(LeaseGrant grant)
    {
        _assigned[grant.JobId] = (grant.Epoch, hub.Time.GetTimestamp());
        if (!_outbound.Writer.TryWrite(new MeshMessage { Assignment = grant.ToProto() }))
        {
            _assigned.TryRemove(grant.JobId, out _);
            if (!Closed)
            {
                Overflowed();
            }

            return false;
        }

        return true;
    }

    /// <summary>
    /// An assignment of this stream was reported (result or release): its credit comes back, and a result
    /// (<paramref name="succeeded"/> not null) counts towards the agent's adaptive concurrency.
    /// </summary>
    public void Reported(Guid jobId, long epoch, bool? succeeded = null)
    {
        if (_assigned.TryGetValue(jobId, out var assigned) && assigned.Epoch == epoch && _assigned.TryRemove(jobId, out _))
        {
            hub.ReturnCredit(this, succeeded, hub.Time.GetElapsedTime(assigned.DeliveredAt));
        }
    }

    public Task OnCommandAsync(AgentCommand command)
    {
        Send(new MeshMessage { Command = command.ToProto() });
        return Task.CompletedTask;
    }

    public Task OnStateChangedAsync(AgentState state)
    {
        hub.SetState(this, state);
        return Task.CompletedTask;
    }
}
