using System.Diagnostics;

namespace MeshOs.Bench.Measurement;

/// <summary>
/// The bench's clock: <see cref="Stopwatch.GetTimestamp"/>, which on Linux reads CLOCK_MONOTONIC. It is the same
/// clock in every process of the machine, so a timestamp taken by a producer and one taken by an agent compare.
/// </summary>
public static class Ticks
{
    public static long Now => Stopwatch.GetTimestamp();

    public static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public static double MsSince(long start) => ToMs(Stopwatch.GetTimestamp() - start);

    public static long FromSeconds(double seconds) => (long)(seconds * Stopwatch.Frequency);
}

/// <summary>A measured window on the bench clock: samples whose start falls inside it are counted.</summary>
public readonly record struct Window(long Start, long End)
{
    public bool Contains(long ticks) => ticks >= Start && ticks < End;

    public double Seconds => Ticks.ToMs(End - Start) / 1000.0;

    /// <summary>A window that is open until <see cref="End"/> is set: nothing is counted before it starts.</summary>
    public static Window Never { get; } = new(long.MaxValue, long.MaxValue);
}

/// <summary>Holds the measured window so that producers and agents can ask whether a sample counts.</summary>
public sealed class WindowClock
{
    private long _start = long.MaxValue;
    private long _end = long.MaxValue;

    public Window Current => new(Volatile.Read(ref _start), Volatile.Read(ref _end));

    public bool Contains(long ticks) => ticks >= Volatile.Read(ref _start) && ticks < Volatile.Read(ref _end);

    public void Open(long start)
    {
        Volatile.Write(ref _end, long.MaxValue);
        Volatile.Write(ref _start, start);
    }

    public void Close(long end) => Volatile.Write(ref _end, end);
}
