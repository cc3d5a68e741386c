using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost of what an agent reported using (pure): each metered quantity × its unit price in force when the attempt
/// ended, the token counts of the result (units <c>tokens_in</c>/<c>tokens_out</c>, any model) unless the metered list
/// reports that unit itself, plus the cost the agent priced itself (already in the mesh's currency).
/// </summary>
public static class UsagePricing
{
    public const string TokensIn = "tokens_in";
    public const string TokensOut = "tokens_out";
    public const string GpuSeconds = "gpu_seconds";

    public static decimal Cost(JobUsage usage, RateBook book, DateTimeOffset at)
    {
        var metered = usage.MeteredItems();
        var cost = usage.Cost;
        if (usage.TokensIn > 0 && !metered.Any(m => m.Unit == TokensIn))
        {
            cost += usage.TokensIn * book.UnitPriceOf(TokensIn, null, at);
        }

        if (usage.TokensOut > 0 && !metered.Any(m => m.Unit == TokensOut))
        {
            cost += usage.TokensOut * book.UnitPriceOf(TokensOut, null, at);
        }

        foreach (var item in metered)
        {
            cost += item.Quantity * book.UnitPriceOf(item.Unit, item.Model, at);
        }

        return Math.Round(cost, CostCurrency.Scale, MidpointRounding.ToEven);
    }
}
