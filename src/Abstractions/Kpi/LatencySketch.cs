using System.Collections.Immutable;

namespace MeshOs.Abstractions.Kpi;

/// <summary>
/// A latency histogram sketch (KPIS.md, "Latency"): 82 buckets with log-spaced edges <c>1000 × 2^((k − 40) / 4)</c> ms,
/// about 19% apart and exact at 500 ms (k = 36) and 1000 ms (k = 40). Bucket i holds samples in
/// [edge(i − 1), edge(i)); bucket 0 starts at 0, the last has no upper edge. Sketches add bucket by bucket, so
/// minutes merge into windows, hours and days with no stored samples. A quantile is reported as the upper edge of the
/// bucket holding it: "P95 = 500 ms" means the 95th-percentile sample was under 500 ms.
/// </summary>
public static class LatencySketch
{
    public const int Buckets = 82;

    /// <summary>The upper edge of bucket <paramref name="index"/> in ms (+∞ for the last).</summary>
    public static double UpperEdgeMs(int index) => index >= Buckets - 1 ? double.PositiveInfinity : 1000d * Math.Pow(2, (index - 40) / 4d);

    /// <summary>The bucket of a sample.</summary>
    public static int IndexOf(double ms)
    {
        if (!(ms > 0))
        {
            return 0;
        }

        var index = (int)Math.Floor(4 * Math.Log2(ms / 1000d)) + 41;
        // Guard floating error at an exact edge: the sample belongs to the bucket whose [lower, upper) holds it.
        if (index > 0 && index < Buckets && ms < UpperEdgeMs(index - 1))
        {
            index--;
        }
        else if (index >= 0 && index < Buckets - 1 && ms >= UpperEdgeMs(index))
        {
            index++;
        }

        return Math.Clamp(index, 0, Buckets - 1);
    }

    /// <summary>An empty sketch.</summary>
    public static long[] Empty() => new long[Buckets];

    /// <summary>Adds <paramref name="add"/> into <paramref name="into"/> (a default or empty array adds nothing).</summary>
    public static void AddTo(long[] into, ImmutableArray<long> add)
    {
        if (add.IsDefaultOrEmpty)
        {
            return;
        }

        for (var i = 0; i < Buckets && i < add.Length; i++)
        {
            into[i] += add[i];
        }
    }

    public static long Count(ImmutableArray<long> counts) => counts.IsDefaultOrEmpty ? 0 : counts.Sum();

    /// <summary>
    /// The <paramref name="quantile"/> (0–1) as the upper edge of the bucket holding the sample of rank ⌈q × n⌉; null
    /// when there is no sample, +∞ when it is in the open last bucket.
    /// </summary>
    public static double? Quantile(ImmutableArray<long> counts, double quantile)
    {
        var total = Count(counts);
        if (total == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Round(UpperEdgeMs(i), 3);
            }
        }

        return double.PositiveInfinity;
    }
}
