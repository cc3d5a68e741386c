using System.Globalization;
using MeshOs.Grpc.V1;

namespace MeshOs.AgentSdk;

public sealed partial class MeshAgent
{
    // The longest delay a CancellationTokenSource timer accepts (about 49 days).
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private void OnAssignment(AgentSession session, Assignment assignment)
    {
        HeldJob? start = null;
        lock (_gate)
        {
            session.Credits.OnAssignment();
            if (!Guid.TryParse(assignment.JobId, out var jobId))
            {
                Release(session, assignment, "invalid job id");
            }
            else if (_stopping || _draining || _aborted)
            {
                Release(session, assignment, _draining ? "agent draining" : "agent shutting down");
            }
            else if (_jobs.TryGetValue(jobId, out var held))
            {
                Reassign(session, held, assignment);
            }
            else if (_running >= _maxConcurrency)
            {
                Release(session, assignment, "agent at capacity");
            }
            else
            {
                start = Hold(session, jobId, assignment);
            }

            RebalanceCredits(session);
        }

        if (start is not null)
        {
            // Off the reading loop: a handler that blocks before its first await must not stall the stream.
            _ = Task.Run(() => RunJobAsync(start));
        }
    }

    /// <summary>Takes an assignment: tells the mesh it started. Under the lock.</summary>
    private HeldJob Hold(AgentSession session, Guid jobId, Assignment assignment)
    {
        var timeout = assignment.Timeout?.ToTimeSpan() is { } t && t > TimeSpan.Zero ? t : (TimeSpan?)null;
        var job = new AgentJob(jobId, assignment.Epoch, assignment.TenantId, assignment.Type, assignment.Capability,
            assignment.PayloadJson, assignment.Attempt, timeout);
        var cancellation = timeout is { } limit
            ? new CancellationTokenSource(limit < MaxTimeout ? limit : MaxTimeout, _time)
            : new CancellationTokenSource();
        var held = new HeldJob(job, assignment.JobId, cancellation, session.Generation);
        _jobs.Add(jobId, held);
        _running++;
        // A start is answered only when refused, so it is not counted among the reports awaiting an ack.
        session.TryWrite(new AgentMessage { Started = new JobStarted { JobId = assignment.JobId, Epoch = assignment.Epoch } });
        return held;
    }

    /// <summary>
    /// The mesh assigned a job the agent already holds: its lease expired and came back here. The work in hand carries
    /// on under the new epoch. Under the lock.
    /// </summary>
    private void Reassign(AgentSession session, HeldJob held, Assignment assignment)
    {
        if (assignment.Epoch <= held.Epoch)
        {
            // A duplicate of the lease in hand; the ledger recovers its credit.
            LogStaleAssignment(_logger, AgentId, held.Job.JobId, assignment.Epoch, held.Epoch);
            return;
        }

        if (held.Dropped)
        {
            // Its handler is being cancelled and cannot take the new lease: hand it back for a fresh run.
            Release(session, assignment, "job being cancelled");
            return;
        }

        LogReassigned(_logger, AgentId, held.Job.JobId, held.Epoch, assignment.Epoch);
        held.Epoch = assignment.Epoch;
        held.Stream = session.Generation;
        held.Sent = 0;
        held.Acked = 0;
        if (held.Running)
        {
            session.TryWrite(new AgentMessage { Started = new JobStarted { JobId = held.WireId, Epoch = held.Epoch } });
        }
        else if (held.Report is { } report)
        {
            if (report.Result is { } result)
            {
                result.Epoch = held.Epoch;
            }
            else if (report.Released is { } released)
            {
                released.Epoch = held.Epoch;
            }

            SendReport(session, held);
        }
    }

    /// <summary>Hands an assignment back unrun; the mesh returns its credit. Under the lock.</summary>
    private void Release(AgentSession session, Assignment assignment, string reason)
    {
        LogReleased(_logger, AgentId, assignment.JobId, assignment.Epoch, reason);
        Interlocked.Increment(ref _released);
        session.TryWrite(new AgentMessage { Released = new JobReleased { JobId = assignment.JobId, Epoch = assignment.Epoch, Reason = reason } });
        session.Credits.OnReturn();
    }

    private async Task RunJobAsync(HeldJob held)
    {
        JobOutcome? outcome = null;
        Exception? error = null;
        try
        {
            outcome = await _handler(held.Job, held.Cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (held.Cancellation.IsCancellationRequested)
        {
            // Timeout, revocation, cancellation or shutdown: OnJobFinished tells which.
        }
        catch (Exception ex)
        {
            error = ex;
        }

        OnJobFinished(held, outcome, error);
        held.Cancellation.Dispose();
    }

    private void OnJobFinished(HeldJob held, JobOutcome? outcome, Exception? error)
    {
        var drained = false;
        lock (_gate)
        {
            _running--;
            var session = _session;
            if (_jobs.TryGetValue(held.Job.JobId, out var current) && ReferenceEquals(current, held))
            {
                held.Running = false;
                if (held.Dropped)
                {
                    _jobs.Remove(held.Job.JobId);
                }
                else
                {
                    held.Report = ReportOf(held, outcome, error);
                    if (session is not null)
                    {
                        SendReport(session, held);
                    }
                    else
                    {
                        held.ReportPending = true;
                    }
                }
            }

            if (session is not null)
            {
                RebalanceCredits(session);
                if (_stopping && _running == 0 && session.Registered)
                {
                    session.Close(SessionEnd.Stopped);
                }
            }

            drained = TryFinishDrain(session);
        }

        if (drained)
        {
            OnDrained();
        }
    }

    /// <summary>What to tell the mesh about a finished handler. Under the lock.</summary>
    private AgentMessage ReportOf(HeldJob held, JobOutcome? outcome, Exception? error)
    {
        if (error is not null)
        {
            LogHandlerFailed(_logger, AgentId, held.Job.JobId, error);
            return ResultOf(held, JobOutcome.Failure(error.Message, retryable: true));
        }

        if (outcome is not null)
        {
            // Even past its timeout or a stop request, a handler that returned did the work: report it.
            return ResultOf(held, outcome);
        }

        if (held.StopReason == StopReason.Shutdown)
        {
            Interlocked.Increment(ref _released);
            return new AgentMessage { Released = new JobReleased { JobId = held.WireId, Epoch = held.Epoch, Reason = "agent shutting down" } };
        }

        // Cancelled with no reason of the SDK's own: the job's timeout fired.
        var limit = held.Job.Timeout ?? TimeSpan.Zero;
        LogTimedOut(_logger, AgentId, held.Job.JobId, limit.TotalMilliseconds);
        return ResultOf(held, JobOutcome.Failure(
            string.Create(CultureInfo.InvariantCulture, $"job timed out after {limit.TotalSeconds:0.###} s"), retryable: true));
    }

    private static AgentMessage ResultOf(HeldJob held, JobOutcome outcome)
    {
        var result = new JobResult
        {
            JobId = held.WireId,
            Epoch = held.Epoch,
            Succeeded = outcome.Succeeded,
            ResultJson = outcome.ResultJson ?? string.Empty,
            Error = outcome.Error ?? string.Empty,
            Retryable = outcome.Retryable,
            TokensIn = outcome.TokensIn,
            TokensOut = outcome.TokensOut,
            Cost = outcome.Cost,
        };
        foreach (var item in outcome.Metered ?? [])
        {
            result.Metered.Add(new MeteredUsage
            {
                Unit = item.Unit, Quantity = item.Quantity.ToString(CultureInfo.InvariantCulture), Model = item.Model ?? string.Empty,
            });
        }

        return new AgentMessage { Result = result };
    }

    /// <summary>Sends a finished job's report, or keeps it for the next stream. Under the lock.</summary>
    private static void SendReport(AgentSession session, HeldJob held)
    {
        if (!session.CanSend || !session.TryWrite(held.Report!))
        {
            held.ReportPending = true;
            return;
        }

        held.ReportPending = false;
        held.Sent++;
        if (held.Stream == session.Generation)
        {
            session.Credits.OnReturn();
        }
    }

    private void OnReportAck(AgentSession session, ReportAck ack)
    {
        if (!Guid.TryParse(ack.JobId, out var jobId))
        {
            return;
        }

        CancellationTokenSource? cancel = null;
        var drained = false;
        lock (_gate)
        {
            if (!_jobs.TryGetValue(jobId, out var held) || held.Epoch != ack.Epoch || held.Dropped)
            {
                return;
            }

            if (ack.ForStart && ack.Accepted)
            {
                return; // older meshes acknowledge starts too; only a refusal matters
            }

            if (!ack.Accepted)
            {
                // The lease moved on (stale epoch): whatever this run produces would be refused too. Never retried.
                LogReportRefused(_logger, AgentId, jobId, ack.Epoch, ack.Error);
                Interlocked.Increment(ref _refused);
                if (held.Running)
                {
                    held.StopReason = StopReason.Refused;
                    held.Dropped = true;
                    cancel = held.Cancellation;
                }
                else
                {
                    _jobs.Remove(jobId);
                }
            }
            else if (++held.Acked >= held.Sent && !held.Running && !held.ReportPending)
            {
                _jobs.Remove(jobId);
                if (held.Report?.Result is { } result)
                {
                    Interlocked.Increment(ref result.Succeeded ? ref _completed : ref _failed);
                }
            }

            drained = TryFinishDrain(session);
        }

        if (cancel is not null)
        {
            TryCancel(cancel);
        }

        if (drained)
        {
            OnDrained();
        }
    }

    private void OnHeartbeatAck(AgentSession session, HeartbeatAck ack)
    {
        List<CancellationTokenSource> cancel = [];
        var drained = false;
        lock (_gate)
        {
            _state = ack.State;
            foreach (var lease in ack.Revoked)
            {
                if (!Guid.TryParse(lease.JobId, out var jobId) || !_jobs.TryGetValue(jobId, out var held)
                    || held.Epoch != lease.Epoch || held.Dropped)
                {
                    continue;
                }

                LogRevoked(_logger, AgentId, jobId, lease.Epoch);
                Interlocked.Increment(ref _cancelled);
                if (held.Running)
                {
                    held.StopReason = StopReason.Revoked;
                    held.Dropped = true;
                    cancel.Add(held.Cancellation);
                }
                else
                {
                    _jobs.Remove(jobId);
                }
            }

            if (ack.State == AgentState.Offline && !_draining && !_stopping)
            {
                // The mesh forgot the agent (declared it dead, or an operator deregistered it): register again.
                LogReregistering(_logger, AgentId);
                session.Close(SessionEnd.Offline);
            }

            drained = TryFinishDrain(session);
        }

        CancelAll(cancel);
        if (drained)
        {
            OnDrained();
        }
    }

    private void OnCommand(AgentSession session, Command command)
    {
        Guid? jobId = Guid.TryParse(command.JobId, out var id) ? id : null;
        LogCommand(_logger, AgentId, command.Kind, command.JobId, command.Epoch, command.Reason);
        var args = new MeshCommandEventArgs(command.Kind, jobId, command.Reason, command.Epoch);
        try
        {
            CommandReceived?.Invoke(this, args);
        }
        catch (Exception ex)
        {
            LogCommandHookFailed(_logger, AgentId, command.Kind, ex);
        }

        if (args.Handled)
        {
            return;
        }

        CancellationTokenSource? cancel = null;
        var drained = false;
        lock (_gate)
        {
            switch (command.Kind)
            {
                case CommandKind.Restart:
                    // Handlers keep running and report on the new stream.
                    session.Close(SessionEnd.Restart);
                    break;
                case CommandKind.Drain:
                    BeginDrain(session);
                    drained = TryFinishDrain(session);
                    break;
                case CommandKind.CancelJob:
                    // A job already reported waits for its acknowledgement: the mesh decides which came first. A cancel
                    // about another lease of the job (an earlier run's) leaves the run in hand alone; 0: any lease.
                    if (jobId is { } cancelled && _jobs.TryGetValue(cancelled, out var held) && held.Running && !held.Dropped
                        && (command.Epoch == 0 || command.Epoch == held.Epoch))
                    {
                        Interlocked.Increment(ref _cancelled);
                        held.StopReason = StopReason.Cancelled;
                        held.Dropped = true;
                        cancel = held.Cancellation;
                    }

                    break;
                default:
                    LogUnknownCommand(_logger, AgentId, command.Kind);
                    break;
            }
        }

        if (cancel is not null)
        {
            TryCancel(cancel);
        }

        if (drained)
        {
            OnDrained();
        }
    }

    /// <summary>Stops taking work. Under the lock.</summary>
    private void BeginDrain(AgentSession? session)
    {
        if (_draining || _stopping || _aborted)
        {
            return;
        }

        _draining = true;
        LogDraining(_logger, AgentId, CountHeld());
        if (session is not null)
        {
            RebalanceCredits(session, force: true);
        }
    }

    /// <summary>True once, when a drain has nothing left in hand; closes the stream. Under the lock.</summary>
    private bool TryFinishDrain(AgentSession? session)
    {
        if (!_draining || _drainFinished || CountHeld() > 0)
        {
            return false;
        }

        _drainFinished = true;
        session?.Close(SessionEnd.Stopped);
        return true;
    }

    /// <summary>Outside the lock: cancelling the lifetime may run the run loop's continuation inline.</summary>
    private void OnDrained()
    {
        LogDrained(_logger, AgentId);
        TryCancel(_lifetime);
    }

    private void CompleteDrainIfDone()
    {
        bool drained;
        lock (_gate)
        {
            drained = TryFinishDrain(_session);
        }

        if (drained)
        {
            OnDrained();
        }
    }

    /// <summary>Tells the mesh how many more assignments are welcome, when the ledger says it may. Under the lock.</summary>
    private void RebalanceCredits(AgentSession session, bool force = false)
    {
        if (!session.CanSend)
        {
            return;
        }

        var desired = _stopping || _draining || _aborted ? 0 : _maxConcurrency - _running;
        if (session.Credits.Decide(desired, force) is { } slots)
        {
            session.TryWrite(new AgentMessage { LeaseRequest = new LeaseRequest { Slots = slots } });
        }
    }
}
