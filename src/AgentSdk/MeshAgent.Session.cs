using System.Net.Http;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.AgentSdk;

public sealed partial class MeshAgent
{
    /// <summary>
    /// One connection: open the stream, register, then read until the stream ends. Returns how it ended, or the
    /// rejection that makes reconnecting pointless.
    /// </summary>
    private async Task<(SessionEnd End, RpcException? Rejection)> RunSessionAsync()
    {
        AgentSession session;
        lock (_gate)
        {
            if (_lifetime.IsCancellationRequested)
            {
                return (SessionEnd.Stopped, null);
            }

            session = new AgentSession(++_generation, _time, _kill.Token);
            _session = session;
        }

        var registered = false;
        var writer = Task.CompletedTask;
        var heartbeats = Task.CompletedTask;
        AsyncDuplexStreamingCall<AgentMessage, MeshMessage>? call = null;
        try
        {
            session.Call.CancelAfter(_registrationTimeout);
            call = _client.Connect(_headers, cancellationToken: session.Call.Token);
            session.TryWrite(_register);
            writer = WriteLoopAsync(session, call.RequestStream);

            var responses = call.ResponseStream;
            if (!await responses.MoveNext(session.Call.Token).ConfigureAwait(false))
            {
                LogClosedBeforeRegistered(_logger, AgentId);
                return (SessionEnd.Lost, null);
            }

            if (responses.Current.BodyCase != MeshMessage.BodyOneofCase.Registered)
            {
                LogNotRegistered(_logger, AgentId, responses.Current.BodyCase);
                return (SessionEnd.Lost, null);
            }

            session.Call.CancelAfter(Timeout.InfiniteTimeSpan);
            OnRegistered(session, responses.Current.Registered);
            registered = true;
            heartbeats = HeartbeatLoopAsync(session);

            while (await responses.MoveNext(session.Call.Token).ConfigureAwait(false))
            {
                Dispatch(session, responses.Current);
            }

            var end = EndReasonOf(session);
            if (end == SessionEnd.Lost)
            {
                LogConnectionLost(_logger, AgentId, "the mesh ended the stream");
            }

            return (end, null);
        }
        catch (RpcException ex) when (!registered && IsRejection(ex.StatusCode) && !session.Call.IsCancellationRequested)
        {
            return (SessionEnd.Stopped, ex);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException or IOException or HttpRequestException or InvalidOperationException)
        {
            var end = EndReasonOf(session);
            if (end == SessionEnd.Lost && !_lifetime.IsCancellationRequested)
            {
                var reason = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                if (registered)
                {
                    LogConnectionLost(_logger, AgentId, reason);
                }
                else if (_failedAttempts++ == 0)
                {
                    LogCannotConnect(_logger, AgentId, reason);
                }
                else
                {
                    // A mesh that stays down would otherwise fill the log with one line per agent per attempt.
                    LogStillCannotConnect(_logger, AgentId, _failedAttempts, reason);
                }
            }

            return (end, null);
        }
        finally
        {
            lock (_gate)
            {
                if (ReferenceEquals(_session, session))
                {
                    _session = null;
                }

                session.Registered = false;
                _connected = false;
            }

            TryCancel(session.Call);
            await writer.ConfigureAwait(false);
            await heartbeats.ConfigureAwait(false);
            call?.Dispose();
            session.Dispose();
        }
    }

    /// <summary>Rejections that another attempt would meet again: the agent's credentials or declaration are wrong.</summary>
    private static bool IsRejection(StatusCode status) =>
        status is StatusCode.Unauthenticated or StatusCode.InvalidArgument or StatusCode.AlreadyExists;

    private SessionEnd EndReasonOf(AgentSession session)
    {
        lock (_gate)
        {
            return session.EndReason ?? SessionEnd.Lost;
        }
    }

    private void OnRegistered(AgentSession session, Registered registered)
    {
        var interval = registered.HeartbeatInterval?.ToTimeSpan() is { } given && given > TimeSpan.Zero ? given : DefaultHeartbeatInterval;
        var drained = false;
        lock (_gate)
        {
            session.Registered = true;
            session.HeartbeatInterval = interval;
            _state = registered.State;
            _connected = true;
            _failedAttempts = 0;
            Interlocked.Increment(ref _registrations);
            _backoff.Reset();

            // Every stream starts with no credits: say how many assignments are welcome, even none.
            RebalanceCredits(session, force: true);

            // Jobs of earlier streams: handlers still running keep going; finished ones report here.
            foreach (var job in _jobs.Values)
            {
                if (job.Dropped)
                {
                    continue;
                }

                job.Sent = 0;
                job.Acked = 0;
                if (!job.Running && job.Report is not null)
                {
                    SendReport(session, job);
                }
            }

            // Their leases ran on the old stream's heartbeats: renew them now rather than one interval later.
            if (CountHeld() > 0)
            {
                WriteHeartbeat(session);
            }

            drained = TryFinishDrain(session);
            if (_stopping && _running == 0)
            {
                session.Close(SessionEnd.Stopped);
            }
        }

        LogRegistered(_logger, AgentId, session.Generation, registered.State, interval.TotalMilliseconds);
        if (drained)
        {
            OnDrained();
        }
    }

    private void Dispatch(AgentSession session, MeshMessage message)
    {
        switch (message.BodyCase)
        {
            case MeshMessage.BodyOneofCase.Assignment:
                OnAssignment(session, message.Assignment);
                break;
            case MeshMessage.BodyOneofCase.HeartbeatAck:
                OnHeartbeatAck(session, message.HeartbeatAck);
                break;
            case MeshMessage.BodyOneofCase.ReportAck:
                OnReportAck(session, message.ReportAck);
                break;
            case MeshMessage.BodyOneofCase.Command:
                OnCommand(session, message.Command);
                break;
            case MeshMessage.BodyOneofCase.Registered:
                // A repeated registration ack changes nothing but the state the mesh sees.
                _state = message.Registered.State;
                break;
            default:
                LogUnexpectedMessage(_logger, AgentId, message.BodyCase);
                break;
        }
    }

    /// <summary>The only writer of the request stream: gRPC allows one write at a time.</summary>
    private async Task WriteLoopAsync(AgentSession session, IClientStreamWriter<AgentMessage> stream)
    {
        var reader = session.Outbound.Reader;
        var token = session.Call.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    await stream.WriteAsync(message, token).ConfigureAwait(false);
                }
            }

            // The agent closed the session: the mesh ends the call once it has read everything; past the grace, reset.
            await stream.CompleteAsync().ConfigureAwait(false);
            session.Call.CancelAfter(_shutdownTimeout);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // A failed write means the stream is gone; make sure the reading side stops too.
            TryCancel(session.Call);
        }
    }

    private async Task HeartbeatLoopAsync(AgentSession session)
    {
        try
        {
            using var timer = new PeriodicTimer(session.HeartbeatInterval, _time);
            while (await timer.WaitForNextTickAsync(session.Call.Token).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    WriteHeartbeat(session);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
    }

    /// <summary>Queues a heartbeat listing the leases the agent holds. Under the lock.</summary>
    private void WriteHeartbeat(AgentSession session)
    {
        if (!session.CanSend)
        {
            return;
        }

        var heartbeat = new Heartbeat();
        foreach (var job in _jobs.Values)
        {
            if (!job.Dropped)
            {
                heartbeat.InFlight.Add(new LeaseRef { JobId = job.WireId, Epoch = job.Epoch });
            }
        }

        heartbeat.Load = Math.Min(1.0, (double)heartbeat.InFlight.Count / _maxConcurrency);
        heartbeat.Metrics["running"] = _running;
        heartbeat.Metrics["completed"] = Interlocked.Read(ref _completed);
        heartbeat.Metrics["failed"] = Interlocked.Read(ref _failed);
        session.TryWrite(new AgentMessage { Heartbeat = heartbeat });
    }
}
