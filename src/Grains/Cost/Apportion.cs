namespace MeshOs.Grains.Cost;

/// <summary>
/// Rounds parts of an exact total so that the rounded parts add up to the rounded total exactly (largest remainder,
/// pure): each part is cut down to the scale, and the units left over go one each to the parts with the largest cut-off
/// fractions, the earlier part first on a tie. The same inputs in the same order always round the same way.
/// </summary>
public static class Apportion
{
    /// <summary>The rounded parts (in input order); their sum is <c>Math.Round(sum of parts, scale)</c>. Parts must be non-negative.</summary>
    public static decimal[] Round(IReadOnlyList<decimal> parts, int scale)
    {
        var unit = Unit(scale);
        var rounded = new decimal[parts.Count];
        var exactSum = 0m;
        var floorSum = 0m;
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(parts), "Parts to apportion must be non-negative.");
            }

            exactSum += parts[i];
            rounded[i] = Math.Floor(parts[i] / unit) * unit;
            floorSum += rounded[i];
        }

        var leftover = (int)((Math.Round(exactSum, scale, MidpointRounding.ToEven) - floorSum) / unit);
        if (leftover > 0)
        {
            var order = Enumerable.Range(0, parts.Count).OrderByDescending(i => parts[i] - rounded[i]).ThenBy(i => i).ToArray();
            for (var k = 0; k < leftover; k++)
            {
                rounded[order[k % order.Length]] += unit;
            }
        }

        return rounded;
    }

    /// <summary>Splits <paramref name="total"/> (already at the scale) by <paramref name="weights"/>; the parts add up to it exactly.</summary>
    public static decimal[] Split(decimal total, IReadOnlyList<decimal> weights, int scale)
    {
        var sum = weights.Sum();
        if (weights.Count == 0)
        {
            return [];
        }

        var exact = sum == 0 ? weights.Select(_ => total / weights.Count).ToArray() : weights.Select(w => total * w / sum).ToArray();
        var parts = Round(exact, scale);
        // The exact parts add up to the total within decimal precision; the last unit of drift goes to the first part.
        var drift = total - parts.Sum();
        if (drift != 0)
        {
            parts[0] += drift;
        }

        return parts;
    }

    private static decimal Unit(int scale)
    {
        var unit = 1m;
        for (var i = 0; i < scale; i++)
        {
            unit /= 10m;
        }

        return unit;
    }
}
