using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>One budget as its tenant's grain keeps it: the spec and the current period's spend.</summary>
[GenerateSerializer, Immutable, Alias("meshos.BudgetEntry")]
public sealed record BudgetEntry(
    [property: Id(0)] BudgetSpec Spec,
    [property: Id(1)] DateTimeOffset PeriodStart,
    [property: Id(2)] decimal Spent,
    [property: Id(3)] ImmutableArray<int> AlertsSent,
    [property: Id(4)] DateTimeOffset? RefreshedAt = null);

/// <summary>A threshold a budget's spend crossed: what the tenant is alerted of.</summary>
public sealed record BudgetAlert(BudgetStatus Status, int Percent);

/// <summary>
/// The budget rules, pure: validation, periods, adding spend, which alerts fire, the forecast and what is enforced.
/// The tenant's grain keeps the entries and acts (persists, publishes, notifies); every decision is made here.
/// </summary>
public static class BudgetBook
{
    public const int MaxBudgets = 50;
    public const int MaxAlerts = 10;
    public static readonly ImmutableArray<int> DefaultAlerts = [80, 100];
    public const decimal MaxLimit = 1_000_000_000_000m;

    /// <summary>The spec as stored, or InvalidArgument naming the field.</summary>
    public static BudgetSpec Validate(BudgetSpec spec, string meshCurrency)
    {
        if (string.IsNullOrEmpty(spec.Name) || spec.Name.Length > 64 || spec.Name is "." or ".."
            || !spec.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw MeshException.Invalid("name", "1–64 characters: letters, digits, '-', '_' and '.' (not '.' or '..').");
        }

        if (spec.Limit <= 0 || spec.Limit > MaxLimit || spec.Limit.Scale > 6)
        {
            throw MeshException.Invalid("limit", "greater than 0, at most 10^12, at most 6 decimals.");
        }

        if (!string.Equals(spec.Currency, meshCurrency, StringComparison.Ordinal))
        {
            throw MeshException.Invalid("currency", $"must be the mesh's cost currency, {meshCurrency}.");
        }

        if (spec.Period == BudgetPeriod.Custom)
        {
            if (spec.From is not { } from || spec.To is not { } to || to <= from)
            {
                throw MeshException.Invalid("to", "a custom period needs from and to, with to after from.");
            }

            if (to - from > TimeSpan.FromDays(3_660))
            {
                throw MeshException.Invalid("to", "a custom period lasts at most ten years.");
            }
        }
        else if (spec.Period != BudgetPeriod.Monthly)
        {
            throw MeshException.Invalid("period", "Monthly or Custom.");
        }
        else if (spec.From is not null || spec.To is not null)
        {
            throw MeshException.Invalid("from", "only a custom period has from and to.");
        }

        var alerts = spec.AlertPercents.IsDefaultOrEmpty ? DefaultAlerts : spec.AlertPercents;
        if (alerts.Length > MaxAlerts || alerts.Any(p => p is < 1 or > 1_000) || !alerts.SequenceEqual(alerts.Distinct().Order()))
        {
            throw MeshException.Invalid("alertPercents", $"at most {MaxAlerts} thresholds, each 1–1,000, ascending and distinct.");
        }

        Name(spec.Pool, "pool");
        Name(spec.Capability, "capability");
        return spec with { AlertPercents = alerts };
    }

    private static void Name(string? value, string field)
    {
        if (value is not null && (value.Length is 0 or > 100 || value.Any(char.IsControl)))
        {
            throw MeshException.Invalid(field, "1–100 characters, no control characters (absent: every one).");
        }
    }

    /// <summary>The period of <paramref name="spec"/> that holds <paramref name="at"/> (a custom budget has one).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) PeriodAt(BudgetSpec spec, DateTimeOffset at)
    {
        if (spec.Period == BudgetPeriod.Custom)
        {
            return (spec.From!.Value, spec.To!.Value);
        }

        var utc = at.ToUniversalTime();
        var start = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddMonths(1));
    }

    /// <summary>A new budget's entry, or a changed one's: spend kept when the period is the same, else from zero.</summary>
    public static BudgetEntry Put(BudgetEntry? existing, BudgetSpec spec, DateTimeOffset now)
    {
        var (start, _) = PeriodAt(spec, now);
        if (existing is not null && existing.PeriodStart == start && existing.Spec.Period == spec.Period
            && existing.Spec.Pool == spec.Pool && existing.Spec.Capability == spec.Capability)
        {
            // A changed limit or set of thresholds: alerts already sent for thresholds still crossed stay sent.
            var percent = Percent(existing.Spent, spec.Limit);
            return existing with { Spec = spec, AlertsSent = [.. existing.AlertsSent.Where(p => spec.AlertPercents.Contains(p) && percent >= p)] };
        }

        return new BudgetEntry(spec, start, 0m, []);
    }

    /// <summary>The entry in the period holding <paramref name="now"/>: a monthly budget starts afresh each month.</summary>
    public static BudgetEntry Roll(BudgetEntry entry, DateTimeOffset now)
    {
        var (start, _) = PeriodAt(entry.Spec, now);
        return entry.Spec.Period == BudgetPeriod.Monthly && start > entry.PeriodStart ? new BudgetEntry(entry.Spec, start, 0m, []) : entry;
    }

    /// <summary>
    /// Takes each budget's spend in its current period as the rollups hold it (<paramref name="spent"/>, by name; a budget
    /// missing there keeps its spend) and says which thresholds that crossed: each once per period, lowest first.
    /// </summary>
    public static (ImmutableDictionary<string, BudgetEntry> Entries, ImmutableArray<BudgetAlert> Alerts) Observe(
        ImmutableDictionary<string, BudgetEntry> entries, IReadOnlyDictionary<string, decimal> spent, DateTimeOffset now)
    {
        var next = entries.ToBuilder();
        var alerts = ImmutableArray.CreateBuilder<BudgetAlert>();
        foreach (var (name, current) in entries)
        {
            var entry = Roll(current, now);
            if (spent.TryGetValue(name, out var amount))
            {
                entry = entry with { Spent = amount, RefreshedAt = now };
            }

            var percent = Percent(entry.Spent, entry.Spec.Limit);
            var crossed = entry.Spec.AlertPercents.Where(p => percent >= p && !entry.AlertsSent.Contains(p)).ToArray();
            if (crossed.Length > 0)
            {
                entry = entry with { AlertsSent = [.. entry.AlertsSent.Concat(crossed).Order()] };
                var status = Status(entry, now);
                alerts.AddRange(crossed.Select(p => new BudgetAlert(status, p)));
            }

            next[name] = entry;
        }

        return (next.ToImmutable(), alerts.ToImmutable());
    }

    /// <summary>The span whose spend counts against the budget now: its current period.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) SpendWindow(BudgetEntry entry, DateTimeOffset now) => PeriodAt(entry.Spec, Roll(entry, now).PeriodStart);

    /// <summary>Spent ÷ limit × 100, rounded down to two decimals.</summary>
    public static decimal Percent(decimal spent, decimal limit) => Math.Floor(spent / limit * 10_000m) / 100m;

    /// <summary>
    /// Where the budget stands at <paramref name="now"/>: spend, state, and a forecast at the run rate of the period so
    /// far (spend ÷ time elapsed, the elapsed time counted as at least an hour so a period's first minutes do not
    /// extrapolate wildly).
    /// </summary>
    public static BudgetStatus Status(BudgetEntry entry, DateTimeOffset now)
    {
        entry = Roll(entry, now);
        var (start, end) = PeriodAt(entry.Spec, entry.PeriodStart);
        var limit = entry.Spec.Limit;
        var percent = Percent(entry.Spent, limit);
        var state = entry.Spent >= limit ? BudgetState.Exceeded
            : entry.Spec.AlertPercents.Any(p => percent >= p) ? BudgetState.Warning
            : BudgetState.Ok;
        var clock = now < start ? start : now > end ? end : now;
        var elapsedHours = Math.Max(1m, (decimal)(clock - start).TotalHours);
        var perHour = entry.Spent / elapsedHours;
        var remainingHours = (decimal)(end - clock).TotalHours;
        var forecast = Math.Round(entry.Spent + perHour * remainingHours, 6);
        DateTimeOffset? runsOut = null;
        if (entry.Spent < limit && perHour > 0)
        {
            var hours = (limit - entry.Spent) / perHour;
            if (hours < remainingHours)
            {
                runsOut = clock + TimeSpan.FromSeconds((double)Math.Round(hours * 3_600m)); // to the second
            }
        }

        return new BudgetStatus(entry.Spec, start, end, entry.Spent, percent, state, forecast, runsOut, entry.AlertsSent, entry.RefreshedAt);
    }

    /// <summary>The exceeded hard limits at <paramref name="now"/> (a custom budget binds only within its span).</summary>
    public static BudgetEnforcement Enforcement(IEnumerable<BudgetEntry> entries, DateTimeOffset now) =>
        new([.. entries.Select(e => Status(e, now))
            .Where(s => s.Spec.HardLimit && s.State == BudgetState.Exceeded && now >= s.PeriodStart && now < s.PeriodEnd)
            .OrderBy(s => s.Spec.Name, StringComparer.Ordinal)]);
}
