namespace MeshOs.Bench.Measurement;

/// <summary>Latency samples in milliseconds; every sample is kept, so percentiles are exact.</summary>
public sealed class LatencyRecorder
{
    private readonly Lock _gate = new();
    private List<double> _samples = new(1 << 14);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _samples.Count;
            }
        }
    }

    public void Record(double milliseconds)
    {
        lock (_gate)
        {
            _samples.Add(milliseconds);
        }
    }

    /// <summary>Takes the samples recorded so far and starts empty.</summary>
    public LatencySummary Drain()
    {
        List<double> taken;
        lock (_gate)
        {
            taken = _samples;
            _samples = new List<double>(1 << 14);
        }

        return LatencySummary.Of(taken);
    }

    public LatencySummary Summarize()
    {
        double[] copy;
        lock (_gate)
        {
            copy = [.. _samples];
        }

        return LatencySummary.Of(copy);
    }
}

/// <summary>Percentiles by nearest rank over every sample; NaN when there is none.</summary>
public sealed record LatencySummary(int Count, double P50, double P95, double P99, double Max, double Mean)
{
    public static LatencySummary Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    public static LatencySummary Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return Empty;
        }

        var sorted = samples.ToArray();
        Array.Sort(sorted);
        return new LatencySummary(sorted.Length, Rank(sorted, 0.50), Rank(sorted, 0.95), Rank(sorted, 0.99), sorted[^1], sorted.Average());
    }

    private static double Rank(double[] sorted, double quantile)
    {
        var index = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
