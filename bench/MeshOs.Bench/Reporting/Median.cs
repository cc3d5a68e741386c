namespace MeshOs.Bench.Reporting;

public static class Median
{
    /// <summary>The median of the values that are numbers; NaN when none is.</summary>
    public static double Of(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Per metric name, in the order of first appearance, the median over the runs that report it.</summary>
    public static IReadOnlyList<Metric> Over(IReadOnlyList<RunResult> runs)
    {
        var order = new List<(string Name, string Unit)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var metric in runs.SelectMany(r => r.Metrics))
        {
            if (seen.Add(metric.Name))
            {
                order.Add((metric.Name, metric.Unit));
            }
        }

        return [.. order.Select(m => new Metric(m.Name, m.Unit, Of(runs.Select(r => r.Find(m.Name) ?? double.NaN))))];
    }
}
