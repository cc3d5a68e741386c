using System.Collections.Concurrent;

namespace MeshOs.Bench.Load;

/// <summary>A job the mesh acknowledged: only these count as submitted, and every one must end Succeeded.</summary>
public readonly record struct AckedJob(Guid JobId, int Tenant, long DueTicks, bool InWindow);

/// <summary>
/// Every acknowledged job of a run, and the submits that failed, by code. A submit refused for load or rate (429 /
/// RESOURCE_EXHAUSTED) is counted as refused: the mesh said no and wrote nothing, so it is neither lost nor an error of
/// the mesh, and only acknowledged jobs are verified.
/// </summary>
public sealed class JobLedger
{
    private readonly ConcurrentQueue<AckedJob> _acked = new();
    private readonly ConcurrentDictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _ackedCount;
    private long _ackedInWindow;
    private long _errorsInWindow;
    private long _refusedInWindow;

    public long Acked => Interlocked.Read(ref _ackedCount);

    public long AckedInWindow => Interlocked.Read(ref _ackedInWindow);

    /// <summary>Failed submits in the window, refusals excluded.</summary>
    public long ErrorsInWindow => Interlocked.Read(ref _errorsInWindow);

    /// <summary>Submits refused (429 / RESOURCE_EXHAUSTED) in the window.</summary>
    public long RefusedInWindow => Interlocked.Read(ref _refusedInWindow);

    /// <summary>Whether a failure code is a refusal: the mesh turned the submit away and wrote nothing.</summary>
    public static bool IsRefusal(string code) => code is "ResourceExhausted" or "HTTP 429";

    public long Errors => _errors.Values.Sum();

    public IReadOnlyDictionary<string, long> ErrorsByCode => new Dictionary<string, long>(_errors, StringComparer.Ordinal);

    public IEnumerable<AckedJob> Jobs => _acked;

    public void Acknowledged(AckedJob job)
    {
        _acked.Enqueue(job);
        Interlocked.Increment(ref _ackedCount);
        if (job.InWindow)
        {
            Interlocked.Increment(ref _ackedInWindow);
        }
    }

    public void Failed(string code, bool inWindow)
    {
        _errors.AddOrUpdate(code, 1, (_, n) => n + 1);
        if (inWindow)
        {
            Interlocked.Increment(ref IsRefusal(code) ? ref _refusedInWindow : ref _errorsInWindow);
        }
    }

    /// <summary>Starts counting the window afresh (for the next step of a stepped scenario); acknowledged jobs are kept.</summary>
    public void ResetWindowCounts()
    {
        Interlocked.Exchange(ref _ackedInWindow, 0);
        Interlocked.Exchange(ref _errorsInWindow, 0);
        Interlocked.Exchange(ref _refusedInWindow, 0);
    }
}
