using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>The rate cards (<see cref="IRateCardGrain"/>): a small timeline in grain storage, checked by <see cref="RateCardRules"/>.</summary>
internal sealed class RateCardGrain(
    [PersistentState("cost-rate-cards", MeshStorage.GrainStore)] IPersistentState<RateCardState> state,
    IOptions<CostOptions> options,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IRateCardGrain
{
    private RateCardSet? _set;

    public Task<RateCardSet> GetCardsAsync() => Task.FromResult(_set ??= new RateCardSet(options.Value.Currency, state.State.Version,
        [.. state.State.Cards.Values.OrderBy(c => c.EffectiveFrom).ThenBy(c => c.Id, StringComparer.Ordinal)]));

    public async Task<RateCard> PutCardAsync(RateCardInput card)
    {
        var existing = (await GetCardsAsync()).Cards;
        var stored = RateCardRules.Validate(card, existing, options.Value.Currency, time.GetUtcNow());
        state.State.Cards[stored.Id] = stored;
        await SaveAsync();
        return stored;
    }

    public async Task DeleteCardAsync(string cardId)
    {
        RateCardRules.CheckDelete(cardId, (await GetCardsAsync()).Cards, time.GetUtcNow());
        state.State.Cards.Remove(cardId);
        await SaveAsync();
    }

    private async Task SaveAsync()
    {
        state.State.Version++;
        _set = null;
        await state.WriteStateAsync();
    }
}

[GenerateSerializer, Alias("meshos.RateCardState")]
public sealed class RateCardState
{
    [Id(0)] public Dictionary<string, RateCard> Cards { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long Version { get; set; }
}
