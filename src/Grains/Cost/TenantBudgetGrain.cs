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
/// keeps the entries, reads each budget's spend from the cost rollups every <see cref="CostOptions.BudgetRefreshInterval"/>
/// (a reminder keeps a tenant with budgets active), persists every change before answering, and then publishes each
/// crossed threshold as an event and a webhook notification.
/// </summary>
internal sealed class TenantBudgetGrain(
    [PersistentState("budgets", MeshStorage.GrainStore)] IPersistentState<TenantBudgetState> state,
    IOptions<CostOptions> options,
    EventPublisher events,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    IncidentNotifier? notifier = null) : Grain, ITenantBudgetGrain, IRemindable
{
    private const string KeepAlive = "budgets";

    private string TenantId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var every = options.Value.BudgetRefreshInterval;
        this.RegisterGrainTimer(static (self, _) => self.RefreshQuietlyAsync(), this,
            new GrainTimerCreationOptions(every, every) { Interleave = false, KeepAlive = false });
        return Task.CompletedTask;
    }

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
        await this.RegisterOrUpdateReminder(KeepAlive, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

        // A new budget (or a new period or scope) reads its spend at once; a limit lowered under it alerts now.
        await ObserveAsync(await SpentAsync([entry], now), now, mustWrite: true);
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
        if (state.State.Budgets.IsEmpty && await this.GetReminder(KeepAlive) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task<ImmutableArray<BudgetStatus>> ListAsync() => Task.FromResult(Statuses(time.GetUtcNow()));

    public Task<BudgetEnforcement> GetEnforcementAsync() =>
        Task.FromResult(BudgetBook.Enforcement(state.State.Budgets.Values, time.GetUtcNow()));

    public async Task<ImmutableArray<BudgetStatus>> RefreshAsync()
    {
        var now = time.GetUtcNow();
        await ObserveAsync(await SpentAsync(state.State.Budgets.Values, now), now, mustWrite: false);
        return Statuses(now);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask; // it only keeps the grain (and its timer) alive

    private ImmutableArray<BudgetStatus> Statuses(DateTimeOffset now) =>
        [.. state.State.Budgets.Values.Select(e => BudgetBook.Status(e, now)).OrderBy(s => s.Spec.Name, StringComparer.Ordinal)];

    private async Task RefreshQuietlyAsync()
    {
        if (!state.State.Budgets.IsEmpty)
        {
            // A failed read (the database away) is tried again at the next tick; the last spend stands meanwhile.
            await RefreshAsync();
        }
    }

    /// <summary>Each budget's spend in its current period, from the rollups (one indexed sum per budget).</summary>
    private async Task<Dictionary<string, decimal>> SpentAsync(IEnumerable<BudgetEntry> entries, DateTimeOffset now)
    {
        var report = GrainFactory.GetGrain<ICostReportGrain>(0);
        var spent = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var (from, to) = BudgetBook.SpendWindow(entry, now);
            spent[entry.Spec.Name] = await report.GetTenantSpendAsync(TenantId, from, to, entry.Spec.Pool, entry.Spec.Capability);
        }

        return spent;
    }

    /// <summary>
    /// Takes the spend read, persists (unless only the read's time changed: a refresh that finds the same spend every
    /// minute writes nothing) and then alerts.
    /// </summary>
    private async Task ObserveAsync(IReadOnlyDictionary<string, decimal> spent, DateTimeOffset now, bool mustWrite)
    {
        var before = state.State.Budgets;
        var (entries, alerts) = BudgetBook.Observe(before, spent, now);
        state.State.Budgets = entries;
        if (mustWrite || !alerts.IsEmpty || entries.Any(e => !before.TryGetValue(e.Key, out var old) || old with { RefreshedAt = null } != e.Value with { RefreshedAt = null }))
        {
            await state.WriteStateAsync();
        }

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
}
