using System.Collections.Concurrent;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Cost;

/// <summary>The gateway's side of budgets (<c>MeshOs:Cost</c>).</summary>
public sealed class GatewayBudgetOptions
{
    public const string Section = "MeshOs:Cost";

    /// <summary>
    /// How long a gateway keeps a tenant's exceeded hard limits before reading them again: a limit reached applies to
    /// submits through every gateway within this (a change made through this gateway applies here at once). Default 2 s.
    /// </summary>
    public TimeSpan BudgetCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the submit path waits to read a tenant's hard limits. Past it (or when the read fails) the submit goes
    /// ahead on the last known limits, or none: budgets are a cost control and never stop the mesh. Default 1 s.
    /// </summary>
    public TimeSpan BudgetReadTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Refuses a tenant's submit that an exceeded hard-limit budget covers (BudgetExceeded: 402 problem type
/// <c>budget-exceeded</c>, gRPC FAILED_PRECONDITION), from each tenant's limits cached for
/// <see cref="GatewayBudgetOptions.BudgetCacheDuration"/>. Spend reaches budgets from the cost rollups, so a limit binds
/// once the spend that crosses it is reported: jobs accepted before then still run (see COST.md for the bound).
/// </summary>
public sealed partial class BudgetGate(IGrainFactory grains, IOptions<GatewayBudgetOptions> options, TimeProvider time, ILogger<BudgetGate> logger)
{
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Throws BudgetExceeded when an exceeded hard limit of the tenant covers a submit to <paramref name="pool"/> for <paramref name="capability"/>.</summary>
    public async ValueTask CheckSubmitAsync(string tenantId, string pool, string capability)
    {
        var enforcement = await GetAsync(tenantId);
        if (enforcement.Blocking(pool, capability) is { } budget)
        {
            throw MeshException.OverBudget(budget.Spec.Name,
                $"Budget '{budget.Spec.Name}' is exhausted: {Amount(budget.Spent)} of {Amount(budget.Spec.Limit)} {budget.Spec.Currency} spent in the period ending " +
                $"{budget.PeriodEnd.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}; new jobs it covers are refused until then or until an operator raises its limit.");
        }
    }

    /// <summary>An amount as people read it: at least two decimals, at most six (0.30, 2500.00, 0.000125).</summary>
    private static string Amount(decimal amount) => amount.ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Forgets a tenant's limits (after a change through this gateway).</summary>
    public void Invalidate(string tenantId) => _entries.TryRemove(tenantId, out _);

    private async ValueTask<BudgetEnforcement> GetAsync(string tenantId)
    {
        var now = time.GetUtcNow();
        var found = _entries.TryGetValue(tenantId, out var entry);
        if (found && entry!.ExpiresAt > now)
        {
            return entry.Enforcement;
        }

        BudgetEnforcement enforcement;
        try
        {
            enforcement = await grains.GetGrain<ITenantBudgetGrain>(tenantId).GetEnforcementAsync().WaitAsync(options.Value.BudgetReadTimeout, time);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogReadFailed(logger, tenantId, ex.GetBaseException().Message);
            return found ? entry!.Enforcement : BudgetEnforcement.None;
        }

        if (_entries.Count > MaxEntries)
        {
            _entries.Clear();
        }

        _entries[tenantId] = new Entry(enforcement, now + options.Value.BudgetCacheDuration);
        return enforcement;
    }

    private sealed record Entry(BudgetEnforcement Enforcement, DateTimeOffset ExpiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the budgets of tenant {TenantId} ({Reason}); its submits go ahead on the last known limits")]
    private static partial void LogReadFailed(ILogger logger, string tenantId, string reason);
}
