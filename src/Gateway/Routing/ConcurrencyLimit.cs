namespace MeshOs.Gateway.Routing;

/// <summary>
/// An agent's adaptive concurrency limit, by AIMD (additive increase, multiplicative decrease), between
/// <see cref="ConcurrencySettings.Min"/> and the concurrency the agent advertised: every success within the latency
/// target adds 1 / limit (one slot per limit's worth of good results), every failure or result slower than the target
/// multiplies the limit by <see cref="ConcurrencySettings.DecreaseFactor"/>. An agent failing a fifth of its jobs settles
/// near 4 slots; one failing 1 in 100 near 20. Not thread-safe: the dispatcher's lock guards it.
/// </summary>
public sealed class ConcurrencyLimit(int advertised, ConcurrencySettings settings)
{
    private double _value = Math.Max(1, advertised);

    /// <summary>The concurrency the agent advertised (the ceiling).</summary>
    public int Advertised { get; } = Math.Max(1, advertised);

    /// <summary>Slots the agent may fill now.</summary>
    public int Current => settings.Enabled ? Math.Clamp((int)Math.Floor(_value), Math.Min(settings.Min, Advertised), Advertised) : Advertised;

    /// <summary>Whether the limit is below what the agent advertised.</summary>
    public bool Reduced => Current < Advertised;

    /// <summary>Counts one reported result: <paramref name="succeeded"/> and how long it took from delivery to report.</summary>
    public void Observe(bool succeeded, TimeSpan latency)
    {
        if (!settings.Enabled)
        {
            return;
        }

        var slow = settings.LatencyTarget is { } target && latency > target;
        _value = succeeded && !slow
            ? Math.Min(Advertised, _value + 1.0 / Math.Max(1.0, _value))
            : Math.Max(Math.Min(settings.Min, Advertised), _value * settings.DecreaseFactor);
    }
}

/// <param name="Enabled">Off: every agent gets the concurrency it advertised.</param>
/// <param name="Min">The lowest limit (at least one slot: an agent always gets work to recover with).</param>
/// <param name="DecreaseFactor">What a failure or a slow result multiplies the limit by (0–1).</param>
/// <param name="LatencyTarget">A result slower than this counts as overload; null: only failures decrease.</param>
public readonly record struct ConcurrencySettings(bool Enabled, int Min, double DecreaseFactor, TimeSpan? LatencyTarget)
{
    public static ConcurrencySettings Fixed { get; } = new(false, 1, 1, null);
}
