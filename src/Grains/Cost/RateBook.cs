using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The rate cards as a timeline (pure): the card in force at an instant is the one with the latest effective time at or
/// before it; an agent's hourly rate is its most specific matching rule's, else the rate it registered with.
/// </summary>
public sealed class RateBook
{
    private readonly ImmutableArray<RateCard> _cards;

    public RateBook(IEnumerable<RateCard> cards) =>
        _cards = [.. cards.OrderBy(c => c.EffectiveFrom).ThenBy(c => c.Id, StringComparer.Ordinal)];

    public static RateBook Empty { get; } = new([]);

    public ImmutableArray<RateCard> Cards => _cards;

    /// <summary>The card in force at <paramref name="at"/>, or null before the first.</summary>
    public RateCard? CardAt(DateTimeOffset at)
    {
        RateCard? found = null;
        foreach (var card in _cards)
        {
            if (card.EffectiveFrom > at)
            {
                break;
            }

            found = card;
        }

        return found;
    }

    /// <summary>The instants in (from, to) at which another card takes effect: a rate may change there.</summary>
    public IEnumerable<DateTimeOffset> ChangesBetween(DateTimeOffset from, DateTimeOffset to) =>
        _cards.Select(c => c.EffectiveFrom).Where(t => t > from && t < to);

    /// <summary>The agent's hourly rate at <paramref name="at"/>.</summary>
    public decimal HourlyRate(CostedAgent agent, DateTimeOffset at) => Rule(CardAt(at), agent)?.HourlyRate ?? agent.RegisteredHourlyRate;

    /// <summary>The rule of <paramref name="card"/> that prices <paramref name="agent"/>: the most specific match, the first on a tie.</summary>
    public static AgentRate? Rule(RateCard? card, CostedAgent agent)
    {
        if (card is null)
        {
            return null;
        }

        AgentRate? best = null;
        var bestScore = -1;
        foreach (var rule in card.AgentRates)
        {
            var score = rule.Specificity(agent);
            if (score > bestScore)
            {
                best = rule;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>The price of one <paramref name="unit"/> at <paramref name="at"/>: the model's own price, else the unit's any-model price, else zero (unpriced).</summary>
    public decimal UnitPriceOf(string unit, string? model, DateTimeOffset at)
    {
        var card = CardAt(at);
        if (card is null)
        {
            return 0m;
        }

        UnitPrice? any = null;
        foreach (var price in card.UnitPrices)
        {
            if (price.Unit != unit)
            {
                continue;
            }

            if (model is not null && price.Model == model)
            {
                return price.Price;
            }

            if (price.Model is null)
            {
                any ??= price;
            }
        }

        return any?.Price ?? 0m;
    }
}
