using MeshOs.Abstractions.Dispatch;

namespace MeshOs.Grains.Kernel.LoadShedding;

/// <summary>
/// Decides whether a queue shard takes new submits, from the queueing delay its dispatchers actually see (the sojourn
/// time of the jobs they take), in the manner of CoDel: a standing queue, one whose <em>shortest</em> delay over a whole
/// interval stays above the target, means arrivals outrun dispatch, and every further job would wait longer and cost
/// the store writes that completions need. Bursts (a short queue that drains within the interval) are admitted. A
/// shard nobody takes from is never judged overloaded by this (nothing measures its delay; its tenants' queued-job
/// quotas bound it): after <see cref="IdleIntervalsToReset"/> intervals without a take it admits again. Pure: fed the
/// delays and a clock by its queue grain. A job a dispatcher handed back (its lease could not be written: a store
/// outage, a dispatcher gone) is not measured when it is taken again: its wait since it was first queued says nothing
/// about arrivals outrunning dispatch, and counting it had a PostgreSQL outage refuse submits as "at capacity".
/// </summary>
public sealed class AdmissionControl(AdmissionOptions options)
{
    /// <summary>Intervals without a single take after which an overloaded shard admits again (its dispatchers are gone).</summary>
    public const int IdleIntervalsToReset = 4;

    private DateTimeOffset _intervalStart = DateTimeOffset.MinValue;
    private long _idleIntervals;
    private TimeSpan _minDelay = TimeSpan.MaxValue;
    private int _taken;

    /// <summary>Whether the shard refuses new submits now.</summary>
    public bool Overloaded { get; private set; }

    /// <summary>
    /// Records jobs taken by a dispatcher at <paramref name="now"/>: each measured by its wait since it was queued,
    /// unless it was handed back (<see cref="TakenJob.HandedBack"/>, which the shard's index marks).
    /// </summary>
    public void OnTaken(DateTimeOffset now, IEnumerable<TakenJob> jobs) =>
        OnTaken(now, jobs.Where(j => !j.HandedBack).Select(j => now - j.EnqueuedAt).ToList());

    /// <summary>Records jobs taken by a dispatcher at <paramref name="now"/>, each with how long it waited.</summary>
    public void OnTaken(DateTimeOffset now, IEnumerable<TimeSpan> delays)
    {
        Roll(now, readyBacklog: 1);
        foreach (var delay in delays)
        {
            _taken++;
            if (delay < _minDelay)
            {
                _minDelay = delay;
            }
        }
    }

    /// <summary>
    /// Whether a submit arriving at <paramref name="now"/> is refused, given the jobs ready and waiting now.
    /// </summary>
    public bool ShouldRefuse(DateTimeOffset now, int readyBacklog)
    {
        if (!options.Enabled || !options.ShedByQueueWait)
        {
            return false;
        }

        Roll(now, readyBacklog);
        return Overloaded && readyBacklog > 0;
    }

    /// <summary>Closes every interval that ended by <paramref name="now"/>, deciding the state from each.</summary>
    private void Roll(DateTimeOffset now, int readyBacklog)
    {
        if (_intervalStart == DateTimeOffset.MinValue)
        {
            _intervalStart = now;
            return;
        }

        if (now - _intervalStart < options.Interval)
        {
            return;
        }

        var elapsed = (now - _intervalStart).Ticks / options.Interval.Ticks;
        if (_taken > 0)
        {
            Overloaded = _minDelay > options.ShardQueueDelay;
            _idleIntervals = 0;
        }
        else
        {
            // An interval without takes but with jobs waiting keeps the state it had (the dispatchers may be the ones
            // falling behind, and nothing says the queue drained), but not for long: nobody may be taking at all.
            _idleIntervals += elapsed;
            if (readyBacklog == 0 || _idleIntervals >= IdleIntervalsToReset)
            {
                Overloaded = false;
            }
        }

        _intervalStart += TimeSpan.FromTicks(options.Interval.Ticks * elapsed);
        _minDelay = TimeSpan.MaxValue;
        _taken = 0;
    }
}
