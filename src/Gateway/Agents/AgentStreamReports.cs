using MeshOs.Abstractions;
using MeshOs.Gateway.Errors;
using MeshOs.Grpc.V1;
using JobResult = MeshOs.Abstractions.Jobs.JobResult;

namespace MeshOs.Gateway.Agents;

/// <summary>
/// The reports of one agent stream (start, result, release) on their way to the job grains. Reports for one job are
/// sent in order, one after the other; reports for different jobs run concurrently, so one slow grain call does not
/// hold up the stream. Starts are held for <see cref="StartReports.Delay"/>: a result arriving meanwhile carries the
/// start time and the start itself is never sent.
/// </summary>
internal sealed class AgentStreamReports(AgentHandle agent, StreamAgentSession session, AgentProtocolService protocol, StartReports starts)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, Task> _inFlight = [];
    private readonly Dictionary<Guid, (long Epoch, DateTimeOffset At)> _heldStarts = [];

    public void Started(Guid jobId, long epoch)
    {
        if (starts.Delay <= TimeSpan.Zero)
        {
            lock (_gate)
            {
                ChainStart(jobId, epoch);
            }

            return;
        }

        lock (_gate)
        {
            _heldStarts[jobId] = (epoch, starts.Time.GetUtcNow());
        }

        starts.Hold(this, jobId, epoch);
    }

    /// <param name="result">Built on the way (it may refuse the input, which is then the report's answer).</param>
    public void Result(Guid jobId, long epoch, Func<JobResult> result)
    {
        lock (_gate)
        {
            var startedAt = TakeHeldStart(jobId, epoch);
            var outcome = new ReportedOutcome();
            Chain(jobId, epoch, () =>
            {
                var built = result() with { StartedAt = startedAt };
                outcome.Succeeded = built.Succeeded;
                return protocol.CompleteAsync(agent, jobId, epoch, built);
            }, credit: true, outcome: outcome);
        }
    }

    public void Released(Guid jobId, long epoch, string reason)
    {
        lock (_gate)
        {
            TakeHeldStart(jobId, epoch); // the job goes back to the queue: when it started no longer matters
            Chain(jobId, epoch, () => protocol.ReleaseAsync(agent, jobId, epoch, reason), credit: true);
        }
    }

    /// <summary>A held start whose delay passed: the job is still running, so the job hears of it now.</summary>
    public void SendHeldStart(Guid jobId, long epoch)
    {
        lock (_gate)
        {
            if (_heldStarts.TryGetValue(jobId, out var held) && held.Epoch == epoch)
            {
                _heldStarts.Remove(jobId);
                ChainStart(jobId, epoch);
            }
        }
    }

    /// <summary>Waits for every report already on its way (the stream is ending).</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            _heldStarts.Clear();
            return Task.WhenAll(_inFlight.Values);
        }
    }

    private DateTimeOffset? TakeHeldStart(Guid jobId, long epoch)
    {
        if (!_heldStarts.Remove(jobId, out var held))
        {
            return null;
        }

        if (held.Epoch == epoch)
        {
            return held.At;
        }

        ChainStart(jobId, held.Epoch); // a start of another lease: it goes as it came, and the job judges it
        return null;
    }

    private void ChainStart(Guid jobId, long epoch) =>
        Chain(jobId, epoch, () => protocol.StartAsync(agent, jobId, epoch), credit: false, isStart: true);

    /// <summary>Runs <paramref name="report"/> after the job's previous report. Called under the gate.</summary>
    private void Chain(Guid jobId, long epoch, Func<Task> report, bool credit, bool isStart = false, ReportedOutcome? outcome = null)
    {
        var next = _inFlight.TryGetValue(jobId, out var previous) && !previous.IsCompleted
            ? previous.ContinueWith(_ => SendAsync(jobId, epoch, report, credit, isStart, outcome), TaskScheduler.Default).Unwrap()
            : SendAsync(jobId, epoch, report, credit, isStart, outcome);
        if (next.IsCompleted)
        {
            _inFlight.Remove(jobId);
            return;
        }

        _inFlight[jobId] = next;
        next.ContinueWith(
            static (done, state) =>
            {
                var (self, id) = ((AgentStreamReports, Guid))state!;
                lock (self._gate)
                {
                    if (self._inFlight.TryGetValue(id, out var current) && current == done)
                    {
                        self._inFlight.Remove(id);
                    }
                }
            },
            (this, jobId), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendAsync(Guid jobId, long epoch, Func<Task> report, bool credit, bool isStart, ReportedOutcome? outcome)
    {
        var ack = new ReportAck { JobId = jobId.ToString(), Epoch = epoch, Accepted = true, ForStart = isStart };
        try
        {
            await report();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var refusal = ErrorMapping.Map(ex);
            ack.Accepted = false;
            ack.Error = ErrorMapping.GrpcDetail(ex, refusal);
            ack.Code = (int)refusal.GrpcStatus;
            if (ex is MeshException { Code: MeshErrorCode.Finished, State: { } state } && Enum.TryParse<Abstractions.Jobs.JobStatus>(state, out var status))
            {
                ack.JobStatus = (MeshOs.Grpc.V1.JobStatus)(int)status;
            }
        }

        if (credit)
        {
            session.Reported(jobId, epoch, outcome?.Succeeded);
        }

        if (!isStart || !ack.Accepted)
        {
            session.Send(new MeshMessage { ReportAck = ack }); // starts are answered only when refused
        }
    }
}

/// <summary>What the agent said of its attempt, once its result was read (null until then, and for a refused one).</summary>
internal sealed class ReportedOutcome
{
    public bool? Succeeded { get; set; }
}
