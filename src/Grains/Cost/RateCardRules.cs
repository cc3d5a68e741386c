using System.Collections.Immutable;
using System.Text.RegularExpressions;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>
/// What a rate card may hold and how the timeline may change (pure). History is not rewritten: a card already in force
/// is neither changed nor removed (Conflict), and a new card takes effect now or later, never in the past; a price
/// change mid-period is a new card effective from that time.
/// </summary>
public static partial class RateCardRules
{
    public const int MaxCards = 500;
    public const int MaxRules = 200;
    public const int MaxPrices = 500;
    public const int MaxNote = 500;

    /// <summary>Largest hourly rate or unit price.</summary>
    public const decimal MaxAmount = 1_000_000m;

    /// <summary>How far in the past an effective time may be and still count as now (clock skew between caller and mesh).</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromMinutes(1);

    /// <summary>The card to store, or Invalid/Conflict; <paramref name="existing"/> are the cards now.</summary>
    public static RateCard Validate(RateCardInput input, ImmutableArray<RateCard> existing, string currency, DateTimeOffset now)
    {
        if (!IsId(input.Id))
        {
            throw MeshException.Invalid("id", "1–64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
        }

        var effective = input.EffectiveFrom ?? now;
        if (effective < now - Skew)
        {
            throw MeshException.Invalid("effectiveFrom", "not in the past: add a card effective now or later (settled costs are not re-priced).");
        }

        var cur = CostCurrency.Require(input.Currency, currency);
        var rules = input.AgentRates.IsDefault ? [] : input.AgentRates;
        var prices = input.UnitPrices.IsDefault ? [] : input.UnitPrices;
        if (rules.Length > MaxRules)
        {
            throw MeshException.Invalid("agentRates", $"at most {MaxRules}.");
        }

        if (prices.Length > MaxPrices)
        {
            throw MeshException.Invalid("unitPrices", $"at most {MaxPrices}.");
        }

        foreach (var rule in rules)
        {
            if (rule is null || (rule.Pool != AgentRate.AnyPool && !IsName(rule.Pool)))
            {
                throw MeshException.Invalid("agentRates.pool", "a pool name (1–64 characters, no control characters) or '*' for any pool.");
            }

            if ((rule.Runtime is not null && !IsName(rule.Runtime)) || (rule.Region is not null && !IsName(rule.Region)))
            {
                throw MeshException.Invalid("agentRates", "runtime and region: absent, or 1–64 characters without control characters.");
            }

            Amount(rule.HourlyRate, "agentRates.hourlyRate");
        }

        foreach (var price in prices)
        {
            if (price is null || !IsUnit(price.Unit))
            {
                throw MeshException.Invalid("unitPrices.unit", "1–64 lowercase letters, digits, '_', '.', ':' or '-' (e.g. tokens_in, gpu_seconds).");
            }

            if (price.Model is not null && !IsModel(price.Model))
            {
                throw MeshException.Invalid("unitPrices.model", "absent, or 1–128 characters without control characters.");
            }

            Amount(price.Price, "unitPrices.price");
        }

        if (prices.GroupBy(p => (p.Unit, p.Model)).Any(g => g.Count() > 1))
        {
            throw MeshException.Invalid("unitPrices", "one price per unit and model.");
        }

        if (input.Note is { Length: > MaxNote })
        {
            throw MeshException.Invalid("note", $"at most {MaxNote} characters.");
        }

        var current = existing.FirstOrDefault(c => c.Id == input.Id);
        if (current is not null && current.EffectiveFrom <= now)
        {
            throw MeshException.Conflict($"Rate card {input.Id} is in force since {current.EffectiveFrom:O}: add a new card instead of changing it.");
        }

        if (existing.Any(c => c.Id != input.Id && c.EffectiveFrom == effective))
        {
            throw MeshException.Conflict($"Another rate card takes effect at {effective:O}.");
        }

        if (current is null && existing.Length >= MaxCards)
        {
            throw MeshException.Exhausted($"At most {MaxCards} rate cards.");
        }

        return new RateCard(input.Id, effective, cur, rules, prices, input.Note, (current?.Version ?? 0) + 1, now);
    }

    /// <summary>NotFound for an unknown card, Conflict for a card in force (or past).</summary>
    public static void CheckDelete(string cardId, ImmutableArray<RateCard> existing, DateTimeOffset now)
    {
        var card = existing.FirstOrDefault(c => c.Id == cardId) ?? throw MeshException.NotFound($"Rate card {cardId}");
        if (card.EffectiveFrom <= now)
        {
            throw MeshException.Conflict($"Rate card {cardId} is in force since {card.EffectiveFrom:O}: it stays, as the costs it priced do.");
        }
    }

    /// <summary>A metered item as an agent reports it (<see cref="MeteredUsage.Validate"/>).</summary>
    public static void ValidateMetered(IReadOnlyList<MeteredUsage> items) => MeteredUsage.Validate(items);

    public static bool IsId(string? id) => id is not null && IdPattern().IsMatch(id);

    public static bool IsUnit(string? unit) => MeteredUsage.IsUnit(unit);

    private static bool IsName(string? value) => value is { Length: >= 1 and <= 64 } && !value.Any(char.IsControl) && value.Trim() == value;

    private static bool IsModel(string value) => value.Length is >= 1 and <= 128 && !value.Any(char.IsControl);

    private static void Amount(decimal value, string field)
    {
        if (value is < 0 or > MaxAmount || Math.Round(value, 9) != value)
        {
            throw MeshException.Invalid(field, $"0 to {MaxAmount}, at most 9 decimals.");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex IdPattern();
}
