namespace MeshOs.Gateway.Jobs;

/// <summary>
/// The share of submits to one queue (pool and capability) that this gateway refuses, steered by how long the jobs its
/// dispatcher takes from that queue had waited there: a proportional-integral controller in the manner of PIE
/// (RFC 8033). Every <see cref="UpdateInterval"/> the median wait of the jobs taken since the last update moves the
/// refusal probability up while it is above the target and as it grows, down while it is below the target and as it
/// falls. So past saturation the submits let in settle at what the agents get through, the backlog at about the
/// target's worth of jobs, and each refusal costs the cluster nothing (no grain call). No takes at all in an interval
/// (no backlog, or no agents here) lets the probability fade. Pure and thread-safe: fed a clock and draws.
/// </summary>
public sealed class QueueDelayController(TimeSpan target)
{
    /// <summary>How often the probability is updated.</summary>
    public static readonly TimeSpan UpdateInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The most submits ever refused by this rule: some always get through, so the wait stays measured.</summary>
    public const double MaxProbability = 0.95;

    /// <summary>Probability per update and per second of wait above the target.</summary>
    private const double Alpha = 0.5;

    /// <summary>Probability per update and per second the wait grew since the last update.</summary>
    private const double Beta = 2.0;

    /// <summary>How much the probability keeps per update without takes.</summary>
    private const double Fade = 0.8;

    /// <summary>The most waits kept between updates (a sample is enough for the median).</summary>
    private const int MaxSamples = 2_048;

    private readonly Lock _lock = new();
    private readonly List<double> _waits = [];
    private readonly double _target = target.TotalSeconds;
    private DateTimeOffset _updatedAt = DateTimeOffset.MinValue;
    private double _probability;
    private double _lastWait;

    /// <summary>The share of submits refused now.</summary>
    public double Probability
    {
        get
        {
            lock (_lock)
            {
                return _probability;
            }
        }
    }

    /// <summary>Records the jobs a dispatcher took at <paramref name="now"/>, by since when each had waited.</summary>
    public void Observe(DateTimeOffset now, IEnumerable<DateTimeOffset> waitingSince)
    {
        lock (_lock)
        {
            Update(now);
            foreach (var at in waitingSince)
            {
                if (_waits.Count < MaxSamples)
                {
                    _waits.Add(Math.Max(0, (now - at).TotalSeconds));
                }
            }
        }
    }

    /// <summary>Whether a submit arriving at <paramref name="now"/> is refused, given a uniform draw in [0, 1).</summary>
    public bool ShouldRefuse(DateTimeOffset now, double draw)
    {
        lock (_lock)
        {
            Update(now);
            return draw < _probability;
        }
    }

    private void Update(DateTimeOffset now)
    {
        if (_updatedAt == DateTimeOffset.MinValue)
        {
            _updatedAt = now;
            return;
        }

        var steps = (now - _updatedAt).Ticks / UpdateInterval.Ticks;
        if (steps <= 0)
        {
            return;
        }

        // The waits seen belong to the first interval that ended; any later one passed without a take.
        Step(_waits.Count > 0 ? Median(_waits) : null);
        for (var i = 1; i < Math.Min(steps, 50); i++)
        {
            Step(null);
        }

        _waits.Clear();
        _updatedAt += TimeSpan.FromTicks(UpdateInterval.Ticks * steps);
    }

    private void Step(double? wait)
    {
        if (wait is not { } d)
        {
            _probability *= Fade;
            if (_probability < 0.001)
            {
                _probability = 0;
            }

            return;
        }

        // Gentler while little is refused, as PIE scales its gains down at low probabilities.
        var gain = _probability < 0.1 ? 0.5 : 1.0;
        _probability = Math.Clamp(_probability + gain * ((Alpha * (d - _target)) + (Beta * (d - _lastWait))), 0, MaxProbability);
        _lastWait = d;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
