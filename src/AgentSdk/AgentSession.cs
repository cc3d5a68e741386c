using System.Threading.Channels;
using MeshOs.Grpc.V1;

namespace MeshOs.AgentSdk;

/// <summary>How a connection ended, which decides whether and when the agent connects again.</summary>
internal enum SessionEnd
{
    /// <summary>The stream failed or the mesh closed it: reconnect after a backoff.</summary>
    Lost,

    /// <summary>The mesh asked for a restart: reconnect at once.</summary>
    Restart,

    /// <summary>The mesh reported the agent Offline: register again at once.</summary>
    Offline,

    /// <summary>The agent is stopping, drained or aborted: do not reconnect.</summary>
    Stopped,
}

/// <summary>
/// One Connect stream: the queue its single writer drains, its credit ledger and its lifetime. Every member except
/// <see cref="Outbound"/>'s reader is used under the owning agent's lock.
/// </summary>
internal sealed class AgentSession : IDisposable
{
    private readonly CancellationTokenRegistration _killRegistration;

    public AgentSession(long generation, TimeProvider time, CancellationToken kill)
    {
        Generation = generation;
        Call = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _killRegistration = kill.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), Call);
    }

    public long Generation { get; }

    /// <summary>Cancelled to reset the stream; ends the writer and heartbeat loops.</summary>
    public CancellationTokenSource Call { get; }

    public Channel<AgentMessage> Outbound { get; } = Channel.CreateUnbounded<AgentMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    public CreditLedger Credits { get; } = new();

    public bool Registered { get; set; }

    /// <summary>The request side is completing: nothing more may be written.</summary>
    public bool Closing { get; private set; }

    public SessionEnd? EndReason { get; set; }

    public TimeSpan HeartbeatInterval { get; set; }

    /// <summary>The agent is being aborted: not a word more, not even a graceful end of stream.</summary>
    public bool Silenced { get; private set; }

    /// <summary>True when the stream is registered and open for writing.</summary>
    public bool CanSend => Registered && !Closing && !Silenced;

    public bool TryWrite(AgentMessage message) => !Closing && !Silenced && Outbound.Writer.TryWrite(message);

    public void Silence() => Silenced = true;

    /// <summary>
    /// Completes the request side so the mesh ends the call after reading what was queued. The writer loop arms the
    /// reset timer once the queue is flushed, so nothing here runs cancellation callbacks under the agent's lock.
    /// </summary>
    public void Close(SessionEnd reason)
    {
        EndReason ??= reason;
        if (Closing)
        {
            return;
        }

        Closing = true;
        Outbound.Writer.TryComplete();
    }

    public void Dispose()
    {
        _killRegistration.Dispose();
        Call.Dispose();
    }
}
