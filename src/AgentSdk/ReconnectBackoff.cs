namespace MeshOs.AgentSdk;

/// <summary>
/// Delays between reconnection attempts: the n-th is drawn uniformly from [d/2, d] where d = min·2ⁿ capped at max.
/// The jitter spreads a fleet that lost the same gateway, so it does not come back in one burst.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan min, TimeSpan max, Func<double> random)
{
    private int _attempt;

    public TimeSpan Next()
    {
        var nominal = min.Ticks * Math.Pow(2, _attempt);
        var capped = Math.Min(nominal, max.Ticks);
        if (nominal < max.Ticks)
        {
            _attempt++;
        }

        return TimeSpan.FromTicks((long)(capped / 2 + capped / 2 * random()));
    }

    /// <summary>Starts over from the minimum delay, after a connection that registered.</summary>
    public void Reset() => _attempt = 0;
}
