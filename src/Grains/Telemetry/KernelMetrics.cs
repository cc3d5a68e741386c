using System.Diagnostics;
using System.Diagnostics.Metrics;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Grains.Telemetry;

/// <summary>The kernel's meter, <c>MeshOs.Kernel</c>: job flow, dispatch, fencing and agent state changes.</summary>
public static class KernelMetrics
{
    public const string MeterName = "MeshOs.Kernel";

    public static readonly ActivitySource Activities = new("MeshOs");

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Bucket bounds for durations in seconds, from half a millisecond to ten minutes.</summary>
    public static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    };

    private static readonly Counter<long> Submitted = Meter.CreateCounter<long>("meshos.jobs.submitted", "{job}", "Jobs durably created.");
    private static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("meshos.jobs.duplicate_submits", "{job}", "Submits answered with an existing job (idempotency key).");
    private static readonly Counter<long> Finished = Meter.CreateCounter<long>("meshos.jobs.finished", "{job}", "Jobs that reached a terminal status.");
    private static readonly Counter<long> Retried = Meter.CreateCounter<long>("meshos.jobs.retried", "{attempt}", "Attempts that ended and sent the job back to Pending.");
    private static readonly Counter<long> Leases = Meter.CreateCounter<long>("meshos.leases.granted", "{lease}", "Leases granted to agents.");
    private static readonly Counter<long> LeasesLost = Meter.CreateCounter<long>("meshos.leases.lost", "{lease}", "Leases that expired or were revoked.");
    private static readonly Counter<long> StaleReports = Meter.CreateCounter<long>("meshos.reports.stale", "{report}", "Agent reports refused for a stale epoch.");
    private static readonly Counter<long> AgentStateChanges = Meter.CreateCounter<long>("meshos.agents.state_changes", "{change}",
        "Agent state changes by the states left and entered (to=Unresponsive: agents declared Unresponsive).");
    private static readonly Histogram<double> QueueWait = Meter.CreateHistogram("meshos.jobs.queue_wait", "s", "From available to leased.", advice: SecondsBuckets);
    private static readonly Histogram<double> RunTime = Meter.CreateHistogram("meshos.jobs.run_time", "s", "From lease to the attempt's end.", advice: SecondsBuckets);

    public static void JobSubmitted() => Submitted.Add(1);

    public static void DuplicateSubmit() => Duplicates.Add(1);

    public static void LeaseGranted(TimeSpan queueWait)
    {
        Leases.Add(1);
        QueueWait.Record(queueWait.TotalSeconds);
    }

    public static void AttemptEnded(JobStatus status, TimeSpan runTime)
    {
        RunTime.Record(runTime.TotalSeconds);
        if (status.IsTerminal())
        {
            Finished.Add(1, new KeyValuePair<string, object?>("status", status.ToString()));
        }
        else
        {
            Retried.Add(1);
        }
    }

    public static void LeaseLost() => LeasesLost.Add(1);

    public static void AgentStateChanged(AgentState from, AgentState to) =>
        AgentStateChanges.Add(1, new KeyValuePair<string, object?>("from", from.ToString()), new KeyValuePair<string, object?>("to", to.ToString()));

    public static void StaleReport() => StaleReports.Add(1);
}
