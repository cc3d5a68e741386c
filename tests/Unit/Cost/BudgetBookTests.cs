using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>The budget rules: validation, periods, observed spend, alerts once per period, forecast and what is enforced.</summary>
public sealed class BudgetBookTests
{
    private static readonly DateTimeOffset Mid = new(2026, 12, 11, 0, 0, 0, TimeSpan.Zero); // 10 days into December

    private static BudgetSpec Monthly(decimal limit, bool hard = false, string? pool = null) =>
        BudgetBook.Validate(new BudgetSpec("b", limit, "USD", BudgetPeriod.Monthly, null, null, [], hard, pool), "USD");

    /// <summary>Budget "b" observed at <paramref name="spent"/>.</summary>
    private static (ImmutableDictionary<string, BudgetEntry> Entries, ImmutableArray<BudgetAlert> Alerts) Spent(
        ImmutableDictionary<string, BudgetEntry> book, decimal spent, DateTimeOffset now) =>
        BudgetBook.Observe(book, new Dictionary<string, decimal> { ["b"] = spent }, now);

    private static ImmutableDictionary<string, BudgetEntry> Book(BudgetSpec spec, DateTimeOffset now) =>
        ImmutableDictionary<string, BudgetEntry>.Empty.Add(spec.Name, BudgetBook.Put(null, spec, now));

    [Fact]
    public void A_monthly_budget_gets_the_default_thresholds_and_the_calendar_month()
    {
        var spec = Monthly(100m);

        Assert.Equal([80, 100], spec.AlertPercents.AsEnumerable());
        Assert.Equal((new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)), BudgetBook.PeriodAt(spec, Mid));
    }

    [Theory]
    [InlineData("", 10, "USD", "name")]
    [InlineData("a b", 10, "USD", "name")]
    [InlineData("b", 0, "USD", "limit")]
    [InlineData("b", -5, "USD", "limit")]
    [InlineData("b", 10, "EUR", "currency")]
    public void Bad_specs_are_refused_naming_the_field(string name, decimal limit, string currency, string field)
    {
        var error = Assert.Throws<MeshException>(() => BudgetBook.Validate(new BudgetSpec(name, limit, currency, BudgetPeriod.Monthly, null, null, [], false), "USD"));

        Assert.Equal((MeshErrorCode.InvalidArgument, field), (error.Code, error.Field));
    }

    [Theory]
    [InlineData(new[] { 100, 80 })]
    [InlineData(new[] { 80, 80 })]
    [InlineData(new[] { 0 })]
    [InlineData(new[] { 1_001 })]
    public void Thresholds_must_be_ascending_distinct_and_in_range(int[] percents)
    {
        var error = Assert.Throws<MeshException>(() =>
            BudgetBook.Validate(new BudgetSpec("b", 10m, "USD", BudgetPeriod.Monthly, null, null, [.. percents], false), "USD"));

        Assert.Equal("alertPercents", error.Field);
    }

    [Fact]
    public void A_custom_period_needs_from_before_to_and_a_monthly_one_takes_neither()
    {
        Assert.Equal("to", Assert.Throws<MeshException>(() => BudgetBook.Validate(new BudgetSpec("b", 1m, "USD", BudgetPeriod.Custom, Mid, Mid, [], false), "USD")).Field);
        Assert.Equal("from", Assert.Throws<MeshException>(() => BudgetBook.Validate(new BudgetSpec("b", 1m, "USD", BudgetPeriod.Monthly, Mid, null, [], false), "USD")).Field);
    }

    [Fact]
    public void Each_threshold_alerts_once_per_period_lowest_first_as_spend_grows()
    {
        var book = Book(Monthly(100m), Mid);

        var (after79, none) = Spent(book, 79.99m, Mid);
        Assert.Empty(none);
        var (after101, alerts) = Spent(after79, 101m, Mid);
        Assert.Equal([80, 100], alerts.Select(a => a.Percent));
        Assert.Equal((101m, (DateTimeOffset?)Mid), (after101["b"].Spent, after101["b"].RefreshedAt));
        Assert.Empty(Spent(after101, 106m, Mid).Alerts);
    }

    [Fact]
    public void A_budget_the_read_did_not_cover_keeps_its_spend()
    {
        var (spent, _) = Spent(Book(Monthly(100m), Mid), 10m, Mid);

        var (kept, alerts) = BudgetBook.Observe(spent, new Dictionary<string, decimal>(), Mid.AddMinutes(1));

        Assert.Equal((10m, (DateTimeOffset?)Mid), (kept["b"].Spent, kept["b"].RefreshedAt));
        Assert.Empty(alerts);
    }

    [Fact]
    public void Spend_is_read_over_the_current_period()
    {
        var entry = BudgetBook.Put(null, Monthly(100m), Mid);

        Assert.Equal((new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)), BudgetBook.SpendWindow(entry, Mid));
        Assert.Equal((new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero)), BudgetBook.SpendWindow(entry, Mid.AddMonths(1)));
    }

    [Fact]
    public void A_monthly_budget_starts_afresh_each_month_and_may_alert_again()
    {
        var (december, _) = Spent(Book(Monthly(10m), Mid), 10m, Mid);
        var january = Mid.AddMonths(1);

        var status = BudgetBook.Status(december["b"], january);
        Assert.Equal((0m, BudgetState.Ok, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)), (status.Spent, status.State, status.PeriodStart));
        var (_, alerts) = Spent(december, 8m, january);
        Assert.Equal([80], alerts.Select(a => a.Percent));
    }

    [Fact]
    public void The_forecast_extrapolates_the_periods_run_rate_and_says_when_the_limit_is_reached()
    {
        // 10 days in, 100 spent: 10 a day; December has 31 days, so 310 by its end, and a limit of 200 is reached on day 20.
        var (entries, _) = Spent(Book(Monthly(200m), Mid), 100m, Mid);

        var status = BudgetBook.Status(entries["b"], Mid);

        Assert.Equal(310m, status.Forecast);
        Assert.Equal(new DateTimeOffset(2026, 12, 21, 0, 0, 0, TimeSpan.Zero), status.RunsOutAt);
        Assert.Equal((50m, BudgetState.Ok), (status.Percent, status.State));
    }

    [Fact]
    public void A_hard_limit_binds_exactly_at_the_limit_and_only_for_what_it_covers()
    {
        var spec = Monthly(10m, hard: true, pool: "p");
        var (below, _) = Spent(Book(spec, Mid), 9.999999m, Mid);
        Assert.Empty(BudgetBook.Enforcement(below.Values, Mid).Blocked);

        var (at, _) = Spent(below, 10m, Mid);
        var enforcement = BudgetBook.Enforcement(at.Values, Mid);

        Assert.Equal("b", enforcement.Blocking("p", "any")?.Spec.Name);
        Assert.Null(enforcement.Blocking("q", "any"));
        Assert.Empty(BudgetBook.Enforcement(at.Values, Mid.AddMonths(1)).Blocked);
    }

    [Fact]
    public void An_alerts_only_budget_never_binds()
    {
        var (over, _) = Spent(Book(Monthly(10m), Mid), 50m, Mid);

        Assert.Equal(BudgetState.Exceeded, BudgetBook.Status(over["b"], Mid).State);
        Assert.Empty(BudgetBook.Enforcement(over.Values, Mid).Blocked);
    }

    [Fact]
    public void Changing_a_limit_keeps_the_periods_spend_and_lowering_it_under_the_spend_alerts()
    {
        var (spent, _) = Spent(Book(Monthly(100m), Mid), 50m, Mid);

        var lowered = BudgetBook.Put(spent["b"], Monthly(60m), Mid);
        Assert.Equal(50m, lowered.Spent);
        var (_, alerts) = BudgetBook.Observe(spent.SetItem("b", lowered), new Dictionary<string, decimal>(), Mid);
        Assert.Equal([80], alerts.Select(a => a.Percent));
        Assert.Equal(0m, BudgetBook.Put(spent["b"], Monthly(60m, pool: "elsewhere"), Mid).Spent);
    }
}
