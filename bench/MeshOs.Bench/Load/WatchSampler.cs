using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Load;

/// <summary>
/// End-to-end latency as a tenant sees it: for a sample of acknowledged jobs, a gRPC Watch stream from the
/// acknowledgement until the job is reported Succeeded (result readable); latency = that moment − submit due time.
/// </summary>
public sealed class WatchSampler(GrpcChannel channel, IReadOnlyList<BenchTenant> tenants, int maxConcurrent = 2_000) : IDisposable
{
    private readonly Jobs.JobsClient _client = new(channel);
    private readonly Metadata[] _headers = [.. tenants.Select(t => new Metadata { { "x-api-key", t.ApiKey } })];
    private readonly SemaphoreSlim _slots = new(maxConcurrent, maxConcurrent);
    private readonly List<Task> _watches = [];
    private readonly Lock _gate = new();
    private long _failed;
    private long _skipped;

    public LatencyRecorder EndToEnd { get; } = new();

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Samples not watched because <c>maxConcurrent</c> watches were open.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    public void Watch(Guid jobId, int tenant, long dueTicks)
    {
        if (!_slots.Wait(0))
        {
            Interlocked.Increment(ref _skipped);
            return;
        }

        var task = WatchAsync(jobId, tenant, dueTicks);
        lock (_gate)
        {
            _watches.Add(task);
        }
    }

    /// <summary>Waits for the open watches, up to <paramref name="timeout"/>.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] open;
        lock (_gate)
        {
            open = [.. _watches];
            _watches.Clear();
        }

        await Task.WhenAll(open).WaitAsync(timeout).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose() => _slots.Dispose();

    private async Task WatchAsync(Guid jobId, int tenant, long dueTicks)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            using var call = _client.Watch(new WatchJobRequest { JobId = jobId.ToString() }, _headers[tenant], cancellationToken: timeout.Token);
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                var status = call.ResponseStream.Current.Status;
                if (status == JobStatus.Succeeded)
                {
                    EndToEnd.Record(Ticks.MsSince(dueTicks));
                    return;
                }

                if (status is JobStatus.Failed or JobStatus.Cancelled or JobStatus.TimedOut or JobStatus.DeadLettered)
                {
                    Interlocked.Increment(ref _failed);
                    return;
                }
            }

            Interlocked.Increment(ref _failed);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            _slots.Release();
        }
    }
}
