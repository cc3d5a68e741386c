using System.Collections.Concurrent;
using System.Threading.Channels;
using MeshOs.AgentSdk;

namespace MeshOs.Tests.AgentSdk.Support;

/// <summary>A job handler the test drives: each job waits until the test completes it, and reports its cancellation.</summary>
public sealed class GatedHandler
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<JobOutcome>> _gates = new();
    private readonly Channel<AgentJob> _started = Channel.CreateUnbounded<AgentJob>();
    private readonly Channel<Guid> _cancelled = Channel.CreateUnbounded<Guid>();

    public async Task<JobOutcome> HandleAsync(AgentJob job, CancellationToken cancellationToken)
    {
        var gate = Gate(job.JobId);
        _started.Writer.TryWrite(job);
        try
        {
            return await gate.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _cancelled.Writer.TryWrite(job.JobId);
            throw;
        }
    }

    public void Complete(Guid jobId, JobOutcome outcome) => Gate(jobId).TrySetResult(outcome);

    public void Fail(Guid jobId, Exception exception) => Gate(jobId).TrySetException(exception);

    public async Task<AgentJob> StartedAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        return await _started.Reader.ReadAsync(timeout.Token);
    }

    public async Task<Guid> CancelledAsync()
    {
        using var timeout = new CancellationTokenSource(ScriptedMesh.Patience);
        return await _cancelled.Reader.ReadAsync(timeout.Token);
    }

    private TaskCompletionSource<JobOutcome> Gate(Guid jobId) =>
        _gates.GetOrAdd(jobId, _ => new TaskCompletionSource<JobOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>Waits for a condition that has no signal of its own (counters updated on acknowledgements).</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + ScriptedMesh.Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }

            await Task.Delay(5);
        }
    }
}
