using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// A tenant submitting jobs at a steady rate over gRPC, as a careful client does: every job has its own idempotency
/// key, and a submit that fails (any error, a deadline included) is tried again with the same key until it is
/// acknowledged, so retries never make a second job. Every try is recorded, and exactly which jobs were
/// acknowledged (the mesh answered with the job) is what the audit later checks.
/// </summary>
public sealed class SteadyLoad : IAsyncDisposable
{
    /// <summary>Longest wait for one submit's answer; a hung call counts as a failed try.</summary>
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly Jobs.JobsClient _client;
    private readonly Metadata _headers;
    private readonly string _capability;
    private readonly string _keyPrefix;
    private readonly double _perSecond;
    private readonly int _submitters;
    private readonly ConcurrentDictionary<int, Guid> _acknowledged = new();
    private readonly ConcurrentQueue<SubmitTry> _tries = new();
    private readonly CancellationTokenSource _stopIssuing = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly Stopwatch _clock = new();
    private Task _loops = Task.CompletedTask;
    private int _next;
    private int _issued;

    public SteadyLoad(Jobs.JobsClient client, Metadata headers, string capability, string keyPrefix, double perSecond, int submitters)
    {
        _client = client;
        _headers = headers;
        _capability = capability;
        _keyPrefix = keyPrefix;
        _perSecond = perSecond;
        _submitters = submitters;
    }

    /// <summary>Acknowledged jobs: the index of the submit and the job id the mesh answered with.</summary>
    public IReadOnlyDictionary<int, Guid> Acknowledged => _acknowledged;

    /// <summary>Every try, acknowledged or failed, in the order they ended.</summary>
    public IReadOnlyCollection<SubmitTry> Tries => _tries;

    /// <summary>Jobs whose submit was started (tried at least once).</summary>
    public int Issued => Volatile.Read(ref _issued);

    /// <summary>Starts the submitting loops.</summary>
    public void Start()
    {
        _clock.Start();
        _loops = Task.WhenAll(Enumerable.Range(0, _submitters).Select(_ => Task.Run(SubmitLoopAsync)));
    }

    /// <summary>
    /// Stops issuing new jobs and lets the submits in hand be retried until acknowledged, for up to
    /// <paramref name="patience"/>; what is still not acknowledged then is abandoned (and stays unacknowledged).
    /// </summary>
    public async Task StopAsync(TimeSpan patience)
    {
        await _stopIssuing.CancelAsync();
        _abandon.CancelAfter(patience);
        await _loops;
    }

    /// <summary>Waits until at least <paramref name="count"/> jobs were acknowledged; false when it does not happen in time.</summary>
    public async Task<bool> WaitForAcknowledgedAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_acknowledged.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>The first try that started at or after <paramref name="since"/> and was acknowledged (null: none yet).</summary>
    public SubmitTry? FirstAcknowledgedSince(DateTimeOffset since) =>
        _tries.Where(t => t.Acknowledged && t.StartedAt >= since).MinBy(t => t.EndedAt);

    /// <summary>Failed tries that started in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public List<SubmitTry> FailuresBetween(DateTimeOffset from, DateTimeOffset to) =>
        [.. _tries.Where(t => !t.Acknowledged && t.StartedAt >= from && t.StartedAt < to)];

    private async Task SubmitLoopAsync()
    {
        while (!_stopIssuing.IsCancellationRequested)
        {
            var index = Interlocked.Increment(ref _next) - 1;
            var due = TimeSpan.FromSeconds(index / _perSecond) - _clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(due, _stopIssuing.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            Interlocked.Increment(ref _issued);
            await SubmitUntilAcknowledgedAsync(index);
        }
    }

    private async Task SubmitUntilAcknowledgedAsync(int index)
    {
        var request = new SubmitJobRequest
        {
            Type = "reliability",
            Capability = _capability,
            PayloadJson = $$"""{"n":{{index}}}""",
            Priority = 5,
            Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),

            // Faults may cost a job several attempts (a lost lease each time): plenty, with short backoffs.
            Retry = new RetryPolicy
            {
                MaxAttempts = 20,
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)),
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
                Multiplier = 2,
            },
            IdempotencyKey = $"{_keyPrefix}-{index}",
        };
        while (!_abandon.IsCancellationRequested)
        {
            var startedAt = DateTimeOffset.UtcNow;
            var watch = Stopwatch.StartNew();
            try
            {
                var response = await _client.SubmitAsync(request, _headers, DateTime.UtcNow + CallDeadline, _abandon.Token);
                var jobId = Guid.Parse(response.Job.JobId);
                _tries.Enqueue(new SubmitTry(index, startedAt, watch.Elapsed, null, null, jobId, response.Created));
                _acknowledged[index] = jobId;
                return;
            }
            catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !_abandon.IsCancellationRequested)
            {
                _tries.Enqueue(new SubmitTry(index, startedAt, watch.Elapsed, ex.StatusCode, ex.Status.Detail, null, false));
            }
            catch (RpcException)
            {
                return; // abandoned at stop
            }

            try
            {
                await Task.Delay(RetryDelay, _abandon.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopIssuing.CancelAsync();
        await _abandon.CancelAsync();
        await _loops;
        _stopIssuing.Dispose();
        _abandon.Dispose();
    }
}

/// <summary>One submit try of <see cref="SteadyLoad"/>.</summary>
/// <param name="Failure">The gRPC status of a failed try; null when acknowledged.</param>
/// <param name="Created">False when an earlier try with the same key had already created the job.</param>
public sealed record SubmitTry(int Index, DateTimeOffset StartedAt, TimeSpan Latency, StatusCode? Failure, string? Detail, Guid? JobId, bool Created)
{
    public bool Acknowledged => Failure is null;

    public DateTimeOffset EndedAt => StartedAt + Latency;
}
