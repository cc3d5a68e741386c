using MeshOs.Abstractions;
using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Kpi;

namespace MeshOs.Tests.Unit.Kpi;

/// <summary>The maintenance calendar: the 3rd Sunday, windows across midnight, what may be scheduled, merged exclusions.</summary>
public sealed class MaintenanceCalendarTests
{
    private static readonly MaintenanceCalendar Default = new(new MaintenanceOptions());

    private static DateTimeOffset At(int y, int m, int d, int h = 0, int min = 0) => new(y, m, d, h, min, 0, TimeSpan.Zero);

    private static MaintenanceWindow Window(string id, DateTimeOffset start, DateTimeOffset end, bool cancelled = false) =>
        new(id, MaintenanceKind.Scheduled, start, end, "t", null, "op", start, start, cancelled ? start : null);

    [Theory]
    [InlineData(2026, 11, 15)] // November 2026: the 1st is a Sunday, five Sundays (1, 8, 15, 22, 29)
    [InlineData(2026, 12, 20)] // December 2026: Tuesday the 1st
    [InlineData(2027, 2, 21)] // February 2027: Monday the 1st, 28 days
    [InlineData(2026, 8, 16)] // August 2026: Saturday the 1st, five Sundays (2, 9, 16, 23, 30)
    [InlineData(2027, 5, 16)] // May 2027: Saturday the 1st, five Sundays
    public void The_recurring_window_is_the_third_sunday_from_two_to_six_utc(int year, int month, int day)
    {
        var windows = Default.Recurring(At(year, month, 1), At(year, month, 1).AddMonths(1));

        var w = Assert.Single(windows);
        Assert.Equal(At(year, month, day, 2), w.Start);
        Assert.Equal(At(year, month, day, 6), w.End);
        Assert.Equal($"recurring-{year:0000}-{month:00}", w.Id);
        Assert.Equal(MaintenanceKind.Recurring, w.Kind);
        Assert.Equal(DayOfWeek.Sunday, w.Start.DayOfWeek);
    }

    [Fact]
    public void A_month_with_five_sundays_still_excludes_exactly_four_hours()
    {
        var november = Default.Recurring(At(2026, 11, 1), At(2026, 12, 1));

        Assert.Equal(240, MaintenanceCalendar.ExcludedMinutes(november, At(2026, 11, 1), At(2026, 12, 1)));
    }

    [Fact]
    public void A_recurring_window_across_midnight_runs_into_monday_and_counts_on_both_days()
    {
        var late = new MaintenanceCalendar(new MaintenanceOptions { RecurringStart = TimeSpan.FromHours(22) });

        var w = Assert.Single(late.Recurring(At(2026, 12, 1), At(2027, 1, 1)));

        Assert.Equal(At(2026, 12, 20, 22), w.Start);
        Assert.Equal(At(2026, 12, 21, 2), w.End);
        Assert.Equal(DayOfWeek.Monday, w.End.DayOfWeek);
        Assert.Equal(120, MaintenanceCalendar.ExcludedMinutes([w], At(2026, 12, 20), At(2026, 12, 21)));
        Assert.Equal(120, MaintenanceCalendar.ExcludedMinutes([w], At(2026, 12, 21), At(2026, 12, 22)));
        // A day range starting at Monday still finds Sunday's occurrence.
        Assert.Single(late.Recurring(At(2026, 12, 21), At(2026, 12, 22)));
    }

    [Fact]
    public void A_window_across_a_month_end_is_found_from_the_next_month()
    {
        // 4th Sunday of January 2027 is the 24th; week 4 with a 9-day window crosses into February.
        var options = new MaintenanceOptions { RecurringWeek = 4, RecurringStart = TimeSpan.FromHours(23), RecurringDuration = TimeSpan.FromDays(9) };
        var calendar = new MaintenanceCalendar(options);

        var windows = calendar.Recurring(At(2027, 2, 1), At(2027, 2, 2));

        Assert.Equal("recurring-2027-01", Assert.Single(windows).Id);
        Assert.Equal(1440, MaintenanceCalendar.ExcludedMinutes(windows, At(2027, 2, 1), At(2027, 2, 2)));
    }

    [Fact]
    public void Utc_has_no_daylight_saving_the_windows_around_the_european_and_american_switches_are_four_hours()
    {
        // March 2027: US switch on the 14th (2nd Sunday), the 3rd Sunday is the 21st; Europe on the 28th.
        var march = Assert.Single(Default.Recurring(At(2027, 3, 1), At(2027, 4, 1)));
        var october = Assert.Single(Default.Recurring(At(2026, 10, 1), At(2026, 11, 1)));

        Assert.Equal(At(2027, 3, 21, 2), march.Start);
        Assert.Equal(TimeSpan.FromHours(4), march.Duration);
        Assert.Equal(At(2026, 10, 18, 2), october.Start);
        Assert.Equal(TimeSpan.FromHours(4), october.Duration);
    }

    [Fact]
    public void Overlapping_and_touching_windows_are_merged_so_a_minute_counts_once()
    {
        var windows = new[]
        {
            Window("a", At(2026, 12, 1, 10), At(2026, 12, 1, 11)),
            Window("b", At(2026, 12, 1, 10, 30), At(2026, 12, 1, 12)), // overlaps a: 10:00–12:00 is 120
            Window("c", At(2026, 12, 1, 12), At(2026, 12, 1, 12, 15)), // touches b: 135
            Window("d", At(2026, 12, 1, 10, 5), At(2026, 12, 1, 10, 10)), // inside a
            Window("e", At(2026, 12, 1, 14), At(2026, 12, 1, 14, 1)), // apart: +1
            Window("x", At(2026, 12, 1, 16), At(2026, 12, 1, 18), cancelled: true), // cancelled: nothing
        };

        Assert.Equal(136, MaintenanceCalendar.ExcludedMinutes(windows, At(2026, 12, 1), At(2026, 12, 2)));
        Assert.Equal(2, MaintenanceCalendar.Merge(windows, At(2026, 12, 1), At(2026, 12, 2)).Length);
        // Clipped to the range: 10:30–14:00 holds 10:30–12:15 → 105 minutes.
        Assert.Equal(105, MaintenanceCalendar.ExcludedMinutes(windows, At(2026, 12, 1, 10, 30), At(2026, 12, 1, 14)));
        Assert.True(MaintenanceCalendar.Excludes(windows, At(2026, 12, 1, 12, 14)));
        Assert.False(MaintenanceCalendar.Excludes(windows, At(2026, 12, 1, 12, 15)));
        Assert.False(MaintenanceCalendar.Excludes(windows, At(2026, 12, 1, 16, 30)));
    }

    [Fact]
    public void A_scheduled_window_overlapping_the_recurring_one_excludes_the_union()
    {
        var recurring = Default.Recurring(At(2026, 12, 1), At(2027, 1, 1));
        var extra = Window("s", At(2026, 12, 20, 5), At(2026, 12, 20, 8)); // 05:00–08:00 overlaps 02:00–06:00

        var all = Default.Windows([extra], At(2026, 12, 1), At(2027, 1, 1));

        Assert.Equal(["recurring-2026-12", "s"], all.Select(w => w.Id));
        Assert.Equal(360, MaintenanceCalendar.ExcludedMinutes(all, At(2026, 12, 1), At(2027, 1, 1)));
        Assert.Single(recurring);
    }

    [Fact]
    public void A_scheduled_window_needs_seven_days_notice_to_the_minute()
    {
        var now = At(2026, 12, 8, 2, 47).AddSeconds(30);
        var tooSoon = new MaintenanceRequest(MaintenanceKind.Scheduled, At(2026, 12, 15, 2, 47), At(2026, 12, 15, 4), "upgrade", null, "op");
        var justInTime = tooSoon with { Start = At(2026, 12, 15, 2, 48) };

        var ex = Assert.Throws<MeshException>(() => Default.Validate(tooSoon, now));
        Assert.Equal(MeshErrorCode.InvalidArgument, ex.Code);
        Assert.StartsWith("start: a scheduled window is announced to tenants at least 7 days ahead: start at 2026-12-15T02:48Z or later", ex.Message);
        Default.Validate(justInTime, now);
    }

    [Theory]
    [InlineData(120, true)]
    [InlineData(121, false)]
    public void An_emergency_window_lasts_at_most_two_hours(int minutes, bool allowed)
    {
        var now = At(2026, 12, 8, 3);
        var request = new MaintenanceRequest(MaintenanceKind.Emergency, now, now.AddMinutes(minutes), "db failover", "disk", "op");

        if (allowed)
        {
            Default.Validate(request, now);
        }
        else
        {
            Assert.StartsWith("end: an emergency window lasts at most 2 h", Assert.Throws<MeshException>(() => Default.Validate(request, now)).Message);
        }
    }

    [Fact]
    public void An_emergency_window_may_start_in_the_current_minute_but_not_before()
    {
        var now = At(2026, 12, 8, 3, 10).AddSeconds(59);
        Default.Validate(new MaintenanceRequest(MaintenanceKind.Emergency, At(2026, 12, 8, 3, 10), At(2026, 12, 8, 4), "x", null, "op"), now);

        var ex = Assert.Throws<MeshException>(() =>
            Default.Validate(new MaintenanceRequest(MaintenanceKind.Emergency, At(2026, 12, 8, 3, 9), At(2026, 12, 8, 4), "x", null, "op"), now));
        Assert.StartsWith("start: an emergency window starts now (2026-12-08T03:10Z) or later", ex.Message);
    }

    [Theory]
    [InlineData("start")]
    [InlineData("end")]
    public void Windows_are_whole_minutes_and_end_after_start(string field)
    {
        var now = At(2026, 12, 1);
        var start = At(2026, 12, 20);
        var request = field == "start"
            ? new MaintenanceRequest(MaintenanceKind.Scheduled, start.AddSeconds(1), start.AddHours(1), "x", null, "op")
            : new MaintenanceRequest(MaintenanceKind.Scheduled, start, start, "x", null, "op");

        Assert.StartsWith(field + ":", Assert.Throws<MeshException>(() => Default.Validate(request, now)).Message);
    }

    [Fact]
    public void The_recurring_window_can_be_turned_off()
    {
        Assert.Empty(new MaintenanceCalendar(new MaintenanceOptions { Recurring = false }).Recurring(At(2026, 1, 1), At(2027, 1, 1)));
        Assert.Equal(12, Default.Recurring(At(2026, 1, 1), At(2027, 1, 1)).Length);
    }
}
