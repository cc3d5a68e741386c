using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Cost;
using static MeshOs.Tests.Unit.Cost.CostAllocatorTests;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>Rate cards: which rate prices an agent, which card is in force, what may be set, how usage is priced.</summary>
public sealed class RateCardTests
{
    private static readonly DateTimeOffset Now = At(12);

    [Fact]
    public void The_most_specific_matching_rule_wins_and_the_first_on_a_tie()
    {
        var card = Card("c", Day,
            new AgentRate("*", null, null, 1m),
            new AgentRate("gpu", null, null, 2m),
            new AgentRate("gpu", "sim", null, 3m),
            new AgentRate("gpu", null, "eu-west", 4m),
            new AgentRate("gpu", "k8s", "eu-west", 5m));
        var book = new RateBook([card]);

        Assert.Equal(3m, book.HourlyRate(Agent, At(1))); // (gpu, sim) and (gpu, eu-west) tie at 2 fields: the first
        Assert.Equal(5m, book.HourlyRate(Agent with { Runtime = "k8s" }, At(1)));
        Assert.Equal(2m, book.HourlyRate(Agent with { Runtime = null, Region = "us" }, At(1)));
        Assert.Equal(1m, book.HourlyRate(Agent with { Pool = "cpu" }, At(1)));
    }

    [Fact]
    public void Without_a_card_or_a_matching_rule_the_agent_costs_what_it_registered_with()
    {
        Assert.Equal(9.99m, RateBook.Empty.HourlyRate(Agent, At(1)));
        Assert.Equal(9.99m, new RateBook([Card("c", Day, new AgentRate("cpu", null, null, 1m))]).HourlyRate(Agent, At(1)));
        Assert.Equal(9.99m, new RateBook([Card("c", At(5), new AgentRate("gpu", null, null, 1m))]).HourlyRate(Agent, At(4, 59))); // not yet in force
    }

    [Fact]
    public void Usage_is_priced_per_unit_with_a_models_own_price_first()
    {
        var book = new RateBook([new RateCard("c", Day, "USD", [], [
            new UnitPrice("tokens_in", null, 0.000001m),
            new UnitPrice("tokens_out", null, 0.000002m),
            new UnitPrice("tokens_in", "big-model", 0.00001m),
            new UnitPrice("gpu_seconds", null, 0.0005m),
        ], null, 1, Day)]);

        Assert.Equal(0.000100m + 0.000040m + 0.25m, UsagePricing.Cost(new JobUsage(100, 20, 0.25m), book, At(1)));
        Assert.Equal(0.01m + 0.000040m + 0.05m + 0m, UsagePricing.Cost(new JobUsage(100, 20, 0m,
            [new MeteredUsage("tokens_in", 1000, "big-model"), new MeteredUsage("gpu_seconds", 100), new MeteredUsage("unpriced-thing", 5)]), book, At(1)));
    }

    [Fact]
    public void A_card_is_checked_field_by_field()
    {
        RateCardInput Input(string id = "dec", DateTimeOffset? from = null, string? currency = null, AgentRate[]? rates = null, UnitPrice[]? prices = null) =>
            new(id, from, currency, [.. rates ?? [new AgentRate("gpu", null, null, 3.6m)]], [.. prices ?? []], null);

        var card = RateCardRules.Validate(Input(), [], "USD", Now);
        Assert.Equal((Now, "USD", 1L), (card.EffectiveFrom, card.Currency, card.Version));

        MeshAssert.Invalid("id", () => RateCardRules.Validate(Input(id: "Bad Id"), [], "USD", Now));
        MeshAssert.Invalid("effectiveFrom", () => RateCardRules.Validate(Input(from: Now.AddHours(-1)), [], "USD", Now));
        MeshAssert.Invalid("currency", () => RateCardRules.Validate(Input(currency: "EUR"), [], "USD", Now));
        MeshAssert.Invalid("currency", () => RateCardRules.Validate(Input(currency: "usd"), [], "USD", Now));
        MeshAssert.Invalid("agentRates.hourlyRate", () => RateCardRules.Validate(Input(rates: [new AgentRate("gpu", null, null, -1m)]), [], "USD", Now));
        MeshAssert.Invalid("agentRates.pool", () => RateCardRules.Validate(Input(rates: [new AgentRate("", null, null, 1m)]), [], "USD", Now));
        MeshAssert.Invalid("unitPrices.unit", () => RateCardRules.Validate(Input(prices: [new UnitPrice("Tokens In", null, 1m)]), [], "USD", Now));
        MeshAssert.Invalid("unitPrices", () => RateCardRules.Validate(Input(prices: [new UnitPrice("t", null, 1m), new UnitPrice("t", null, 2m)]), [], "USD", Now));
    }

    [Fact]
    public void History_is_not_rewritten_a_card_in_force_stays()
    {
        var inForce = RateCardRules.Validate(new RateCardInput("base", Now, null, [], [], null), [], "USD", Now);
        var future = RateCardRules.Validate(new RateCardInput("next", Now.AddDays(1), null, [], [], null), [inForce], "USD", Now);
        ImmutableArray<RateCard> cards = [inForce, future];

        MeshAssert.Throws(MeshErrorCode.Conflict, () => RateCardRules.Validate(new RateCardInput("base", Now.AddDays(2), null, [], [], null), cards, "USD", Now.AddMinutes(1)));
        MeshAssert.Throws(MeshErrorCode.Conflict, () => RateCardRules.Validate(new RateCardInput("other", Now.AddDays(1), null, [], [], null), cards, "USD", Now));
        MeshAssert.Throws(MeshErrorCode.Conflict, () => RateCardRules.CheckDelete("base", cards, Now.AddMinutes(1)));
        MeshAssert.Throws(MeshErrorCode.NotFound, () => RateCardRules.CheckDelete("nope", cards, Now));
        RateCardRules.CheckDelete("next", cards, Now);
        Assert.Equal(2, RateCardRules.Validate(new RateCardInput("next", Now.AddDays(3), null, [], [], null), cards, "USD", Now).Version);
    }

    [Fact]
    public void An_agents_report_carries_its_metered_usage_checked_at_the_gateway_and_in_the_job()
    {
        var result = MeshOs.Gateway.Agents.AgentInputs.Result(true, "{}", null, false, 10, 0, 0, [new MeteredUsage("gpu_seconds", 12.5m)]);
        Assert.Equal(new MeteredUsage("gpu_seconds", 12.5m), Assert.Single(result.Usage.MeteredItems()));
        Assert.Empty(MeshOs.Gateway.Agents.AgentInputs.Result(true, "{}", null, false, 10, 0, 0).Usage.MeteredItems());

        MeshAssert.Invalid("metered.unit", () => MeshOs.Gateway.Agents.AgentInputs.Result(true, "{}", null, false, 0, 0, 0, [new MeteredUsage("GPU seconds", 1)]));
        MeshAssert.Invalid("usage.metered.quantity", () => MeshOs.Grains.Kernel.Jobs.JobResultPolicy.Validate(
            new JobResult(true, "{}", null, false, new JobUsage(0, 0, 0m, [new MeteredUsage("gpu_seconds", -1)])), 1024));
    }

    [Fact]
    public void Metered_usage_is_bounded_non_negative_and_named()
    {
        RateCardRules.ValidateMetered([new MeteredUsage("tokens_in", 10, "gpt"), new MeteredUsage("my.unit:x-1", 0)]);
        MeshAssert.Invalid("usage.metered.quantity", () => RateCardRules.ValidateMetered([new MeteredUsage("gpu_seconds", -1)]));
        MeshAssert.Invalid("usage.metered.unit", () => RateCardRules.ValidateMetered([new MeteredUsage("", 1)]));
        MeshAssert.Invalid("usage.metered.model", () => RateCardRules.ValidateMetered([new MeteredUsage("t", 1, new string('m', 129))]));
        MeshAssert.Invalid("usage.metered", () => RateCardRules.ValidateMetered([.. Enumerable.Range(0, 33).Select(_ => new MeteredUsage("t", 1))]));
    }
}
