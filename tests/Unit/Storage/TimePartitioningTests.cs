using MeshOs.Grains.Audit;
using MeshOs.Grains.Storage;

namespace MeshOs.Tests.Unit.Storage;

public sealed class TimePartitioningTests
{
    private static readonly TimePartitioning Days = new("meshos_events_", PartitionPeriod.Day);
    private static readonly TimePartitioning Months = AuditRetentionPolicy.Months;

    [Fact]
    public void A_day_runs_from_its_utc_midnight_to_the_next_whatever_the_offset_of_the_time()
    {
        var lastMicrosecond = new DateTimeOffset(2030, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990);

        Assert.Equal(new DateOnly(2030, 12, 31), Days.PeriodOf(lastMicrosecond));
        Assert.Equal(new DateOnly(2031, 1, 1), Days.PeriodOf(lastMicrosecond.AddTicks(10)));
        Assert.Equal(new DateOnly(2031, 1, 1), Days.PeriodOf(new DateTimeOffset(2030, 12, 31, 20, 0, 0, TimeSpan.FromHours(-5))));
        Assert.Equal(new DateTimeOffset(2030, 12, 31, 0, 0, 0, TimeSpan.Zero), Days.Start(new DateOnly(2030, 12, 31)));
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), Days.End(new DateOnly(2030, 12, 31)));
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), Months.End(new DateOnly(2030, 12, 1)));
        Assert.Equal(new DateOnly(2030, 12, 1), Months.PeriodOf(lastMicrosecond));
    }

    [Fact]
    public void Names_carry_the_period_and_read_back_and_other_names_do_not_parse()
    {
        Assert.Equal("meshos_events_20300105", Days.Name(new DateOnly(2030, 1, 5)));
        Assert.Equal("meshos_audit_203001", Months.Name(new DateOnly(2030, 1, 1)));
        Assert.Equal(new DateOnly(2030, 1, 5), Days.Parse("meshos_events_20300105"));
        Assert.Equal(new DateOnly(2030, 1, 1), Months.Parse("meshos_audit_203001"));

        Assert.Null(Days.Parse("meshos_events_default"));
        Assert.Null(Days.Parse("meshos_events_20300132"));
        Assert.Null(Days.Parse("meshos_events_203001"));
        Assert.Null(Days.Parse("meshos_audit_20300105"));
        Assert.Null(Months.Parse("meshos_audit_203013"));
        Assert.Null(Months.Parse("meshos_audit_20300105"));
    }

    [Fact]
    public void A_partition_is_droppable_once_its_end_is_at_or_before_the_cutoff()
    {
        var day = new DateOnly(2030, 1, 5);

        Assert.False(Days.IsDroppable(day, Days.End(day).AddTicks(-1)));
        Assert.True(Days.IsDroppable(day, Days.End(day)));
        Assert.False(Months.IsDroppable(new DateOnly(2030, 1, 1), Days.End(new DateOnly(2030, 1, 30))));
        Assert.True(Months.IsDroppable(new DateOnly(2030, 1, 1), Days.End(new DateOnly(2030, 1, 31))));
    }

    [Fact]
    public void Upcoming_is_the_current_period_and_the_next_ones_across_month_and_year_ends()
    {
        var now = new DateTimeOffset(2030, 12, 30, 18, 0, 0, TimeSpan.Zero);

        Assert.Equal([new(2030, 12, 30), new(2030, 12, 31), new(2031, 1, 1)], Days.Upcoming(now, 2));
        Assert.Equal([new(2030, 12, 1), new(2031, 1, 1)], Months.Upcoming(now, 1));
        Assert.Equal([new DateOnly(2030, 12, 30)], Days.Upcoming(now, 0));
    }
}
