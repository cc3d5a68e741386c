using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// The SLA credit rule (KPIS.md, "SLA credits"): the band of a month's availability and the credit it gives on the
/// month's bill. Pure: no clock, no I/O.
/// </summary>
public static class SlaCredits
{
    /// <summary>The monthly availability the SLA promises, in percent.</summary>
    public const decimal Target = 99.95m;

    /// <summary>The bands, best first: ≥ 99.95 → 0; &lt; 99.95 but ≥ 99.0 → 10%; &lt; 99.0 but ≥ 95.0 → 25%; &lt; 95.0 → 50%.</summary>
    public static readonly ImmutableArray<SlaBand> Bands =
    [
        new(99.95m, null, 0),
        new(99.0m, 99.95m, 10),
        new(95.0m, 99.0m, 25),
        new(null, 95.0m, 50),
    ];

    /// <summary>The band holding <paramref name="availabilityPercent"/> (0–100, exact decimal: 99.95 is in the first band, 99.9499… in the second).</summary>
    public static SlaBand BandOf(decimal availabilityPercent)
    {
        foreach (var band in Bands)
        {
            if (band.AtLeast is not { } low || availabilityPercent >= low)
            {
                return band;
            }
        }

        return Bands[^1];
    }

    /// <summary>The credit on <paramref name="bill"/> for the band, rounded to cents (half away from zero).</summary>
    public static decimal Credit(decimal bill, SlaBand band) =>
        bill <= 0m ? 0m : Math.Round(bill * band.CreditPercent / 100m, 2, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Availability in percent: good ÷ valid minutes × 100, exact (decimal). A month with no valid minute (all of it
    /// maintenance) is 100: nothing that counts was missed.
    /// </summary>
    public static decimal Availability(long goodMinutes, long validMinutes) =>
        validMinutes <= 0 ? 100m : goodMinutes * 100m / validMinutes;
}
