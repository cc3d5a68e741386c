using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Events;
using MeshOs.Grains.Incidents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// One tenant's budgets (<see cref="ITenantBudgetGrain"/>): the decisions are <see cref="BudgetBook"/>'s; this grain
/// keeps the entries and the last sequence seen from each spend source, persists every change before answering, and
/// then publishes each crossed threshold as an event and a webhook notification.
/// </summary>
internal sealed class TenantBudgetGrain(
    [PersistentState("budgets", MeshStorage.GrainStore)] IPersistentState<TenantBudgetState> state,
    IOptions<BudgetOptions> options,
    EventPublisher events,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    IncidentNotifier? notifier = null) : Grain, ITenantBudgetGrain
{
    private string TenantId => this.GetPrimaryKeyString();

    public async Task<BudgetStatus> PutAsync(BudgetSpec spec)
    {
        var valid = BudgetBook.Validate(spec, options.Value.Currency);
        var existing = state.State.Budgets.GetValueOrDefault(valid.Name);
        if (existing is null && state.State.Budgets.Count >= BudgetBook.MaxBudgets)
        {
            throw MeshException.Exhausted($"A tenant has at most {BudgetBook.MaxBudgets} budgets.");
        }

        var now = time.GetUtcNow();
        var entry = BudgetBook.Put(existing, valid, now);
        state.State.Budgets = state.State.Budgets.SetItem(valid.Name, entry);

        // A limit lowered below the spend so far, or thresholds added under it, alert now.
        var (entries, alerts, _) = BudgetBook.Apply(state.State.Budgets, [], options.Value.Currency, now);
        state.State.Budgets = entries;
        await state.WriteStateAsync();
        await AlertAsync(alerts, now);
        return BudgetBook.Status(state.State.Budgets[valid.Name], now);
    }

    public async Task DeleteAsync(string name)
    {
        if (!state.State.Budgets.ContainsKey(name))
        {
            throw MeshException.NotFound($"Budget '{name}' of tenant '{TenantId}'");
        }

        state.State.Budgets = state.State.Budgets.Remove(name);
        await state.WriteStateAsync();
    }

    public Task<ImmutableArray<BudgetStatus>> ListAsync()
    {
        var now = time.GetUtcNow();
        return Task.FromResult<ImmutableArray<BudgetStatus>>(
            [.. state.State.Budgets.Values.Select(e => BudgetBook.Status(e, now)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal)]);
    }

    public Task<BudgetEnforcement> GetEnforcementAsync() =>
        Task.FromResult(BudgetBook.Enforcement(state.State.Budgets.Values, time.GetUtcNow()));

    public async Task RecordSpendAsync(ImmutableArray<SpendReport> reports)
    {
        var sources = state.State.Sources.ToBuilder();
        var fresh = new List<SpendReport>();
        foreach (var report in reports.OrderBy(r => r.Sequence))
        {
            if (report.Sequence > sources.GetValueOrDefault(report.Source, long.MinValue))
            {
                sources[report.Source] = report.Sequence;
                fresh.Add(report);
            }
        }

        if (fresh.Count == 0)
        {
            return;
        }

        var now = time.GetUtcNow();
        var (entries, alerts, refused) = BudgetBook.Apply(state.State.Budgets, fresh, options.Value.Currency, now);
        if (refused.Length > 0)
        {
            throw MeshException.Invalid("reports", $"{refused.Length} spend report(s) are not in the mesh's currency ({options.Value.Currency}) or are negative; none was counted.");
        }

        state.State.Budgets = entries;
        state.State.Sources = sources.ToImmutable();
        await state.WriteStateAsync();
        await AlertAsync(alerts, now);
    }

    private async Task AlertAsync(ImmutableArray<BudgetAlert> alerts, DateTimeOffset now)
    {
        foreach (var (status, percent) in alerts)
        {
            var spec = status.Spec;
            await events.PublishAsync(new MeshEvent(0, now,
                new BudgetThresholdCrossed(spec.Name, percent, status.Spent, spec.Limit, spec.Currency, spec.HardLimit, status.PeriodStart, status.PeriodEnd),
                TenantId: TenantId));
            notifier?.NotifyBudget(new BudgetNotification("threshold-crossed", TenantId, spec.Name, percent, status.Spent, spec.Limit, spec.Currency,
                spec.HardLimit, status.State.ToString(), status.Forecast, status.RunsOutAt, status.PeriodStart, status.PeriodEnd, now));
        }
    }
}

[GenerateSerializer, Alias("meshos.TenantBudgetState")]
public sealed class TenantBudgetState
{
    [Id(0)] public ImmutableDictionary<string, BudgetEntry> Budgets { get; set; } = ImmutableDictionary.Create<string, BudgetEntry>(StringComparer.Ordinal);

    /// <summary>The last sequence counted from each spend source.</summary>
    [Id(1)] public ImmutableDictionary<string, long> Sources { get; set; } = ImmutableDictionary.Create<string, long>(StringComparer.Ordinal);
}
