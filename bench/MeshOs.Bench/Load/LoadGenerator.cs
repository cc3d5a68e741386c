using MeshOs.Bench.Measurement;

namespace MeshOs.Bench.Load;

/// <summary>
/// P producers submitting no-op jobs. Closed loop (<see cref="Rate"/> null, "max"): each producer submits, waits for
/// the acknowledgement, submits again. Open loop (a rate): each producer issues its share of the rate on a fixed
/// schedule whether or not earlier submits were answered, and latency runs from the scheduled time, so a slow
/// server cannot hide its queueing by slowing the producers down (no coordinated omission).
/// </summary>
public sealed class LoadGenerator(IJobSubmitter submitter, WindowClock window, JobLedger ledger, WatchSampler? watcher)
{
    private long _inFlight;
    private long _capped;
    private long _sampleCounter;

    /// <summary>Number of concurrent producers.</summary>
    public int Producers { get; init; } = 16;

    /// <summary>Number of tenants; producer p submits for tenant p mod T.</summary>
    public int Tenants { get; init; } = 1;

    /// <summary>Jobs per second over all producers; null: as fast as the acknowledgements allow.</summary>
    public double? Rate { get; set; }

    /// <summary>Closed loop only: jobs per submit call (1: Submit; more: SubmitBatch).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Watch one in this many acknowledged jobs of the window (0: none).</summary>
    public int WatchEvery { get; init; } = 50;

    /// <summary>Open loop only: submits not yet answered above this are skipped and counted (the client's own limit).</summary>
    public int MaxInFlight { get; init; } = 50_000;

    /// <summary>Acknowledgement latency of submits due in the window.</summary>
    public LatencyRecorder SubmitLatency { get; } = new();

    /// <summary>Open-loop submits skipped because <see cref="MaxInFlight"/> were unanswered.</summary>
    public long Capped => Interlocked.Read(ref _capped);

    /// <summary>Runs until <paramref name="stop"/> is cancelled, then waits for the submits still unanswered.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(() => Rate is { } rate ? OpenLoopAsync(p, rate, stop) : ClosedLoopAsync(p, stop)));
        await Task.WhenAll(producers);
        while (Interlocked.Read(ref _inFlight) > 0)
        {
            await Task.Delay(10);
        }
    }

    private async Task ClosedLoopAsync(int producer, CancellationToken stop)
    {
        var tenant = producer % Tenants;
        while (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref _inFlight);
            if (BatchSize > 1)
            {
                await SubmitBatchAsync(tenant, Ticks.Now);
            }
            else
            {
                await SubmitOneAsync(tenant, Ticks.Now);
            }
        }
    }

    private async Task SubmitBatchAsync(int tenant, long due)
    {
        var inWindow = window.Contains(due);
        try
        {
            var payloads = Enumerable.Range(0, BatchSize).Select(_ => BenchJobs.Payload(due)).ToList();
            var results = await submitter.SubmitBatchAsync(tenant, payloads, CancellationToken.None);
            var latency = Ticks.MsSince(due);
            foreach (var (jobId, error) in results)
            {
                if (jobId is not { } id)
                {
                    ledger.Failed(error ?? "unknown", inWindow);
                    continue;
                }

                ledger.Acknowledged(new AckedJob(id, tenant, due, inWindow));
                if (inWindow)
                {
                    SubmitLatency.Record(latency);
                    if (watcher is not null && WatchEvery > 0 && Interlocked.Increment(ref _sampleCounter) % WatchEvery == 0)
                    {
                        watcher.Watch(id, tenant, due);
                    }
                }
            }
        }
        catch (SubmitFailedException ex)
        {
            for (var i = 0; i < BatchSize; i++)
            {
                ledger.Failed(ex.Code, inWindow);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task OpenLoopAsync(int producer, double rate, CancellationToken stop)
    {
        var tenant = producer % Tenants;
        var interval = Ticks.FromSeconds(Producers / rate);

        // Producers are spread evenly over one interval so that together they submit at a steady rate.
        var due = Ticks.Now + interval * producer / Producers;
        while (!stop.IsCancellationRequested)
        {
            var wait = Ticks.ToMs(due - Ticks.Now);
            if (wait >= 1)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            // Every submit that is due goes out now, late ones included: the schedule never slips.
            var now = Ticks.Now;
            while (due <= now && !stop.IsCancellationRequested)
            {
                if (Interlocked.Read(ref _inFlight) >= MaxInFlight)
                {
                    Interlocked.Increment(ref _capped);
                }
                else
                {
                    Interlocked.Increment(ref _inFlight);
                    _ = SubmitOneAsync(tenant, due);
                }

                due += interval;
            }
        }
    }

    private async Task SubmitOneAsync(int tenant, long due)
    {
        var inWindow = window.Contains(due);
        try
        {
            var jobId = await submitter.SubmitAsync(tenant, BenchJobs.Payload(due), CancellationToken.None);
            var latency = Ticks.MsSince(due);
            ledger.Acknowledged(new AckedJob(jobId, tenant, due, inWindow));
            if (inWindow)
            {
                SubmitLatency.Record(latency);
                if (watcher is not null && WatchEvery > 0 && Interlocked.Increment(ref _sampleCounter) % WatchEvery == 0)
                {
                    watcher.Watch(jobId, tenant, due);
                }
            }
        }
        catch (SubmitFailedException ex)
        {
            ledger.Failed(ex.Code, inWindow);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ledger.Failed(ex.GetType().Name, inWindow);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
