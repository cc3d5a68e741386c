using System.Globalization;

namespace MeshOs.Grains.Storage;

/// <summary>How long one partition of a time-partitioned log spans (UTC).</summary>
public enum PartitionPeriod
{
    Day,
    Month,
}

/// <summary>
/// A log kept in range partitions by time (UTC), one per day or per month, and dropped whole (pure): which period an
/// instant falls in, where a period starts and ends, the partition's name (<c>prefix</c> + <c>yyyyMMdd</c> or
/// <c>yyyyMM</c>) and back. The audit log (monthly) and the event log (daily) both use it, in PostgreSQL and in memory.
/// A period is identified by its first day.
/// </summary>
public sealed record TimePartitioning(string Prefix, PartitionPeriod Period)
{
    private string Format => Period == PartitionPeriod.Day ? "yyyyMMdd" : "yyyyMM";

    /// <summary>The first day (UTC) of the period holding <paramref name="at"/>.</summary>
    public DateOnly PeriodOf(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return Period == PartitionPeriod.Day ? DateOnly.FromDateTime(utc) : new DateOnly(utc.Year, utc.Month, 1);
    }

    /// <summary>The period after <paramref name="period"/>.</summary>
    public DateOnly Next(DateOnly period) => Period == PartitionPeriod.Day ? period.AddDays(1) : period.AddMonths(1);

    public DateTimeOffset Start(DateOnly period) => new(period.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>The start of the next period: the partition holds times in [<see cref="Start"/>, End).</summary>
    public DateTimeOffset End(DateOnly period) => Start(Next(period));

    /// <summary>A partition is dropped only when all of it is older than the cutoff: it ended at or before it.</summary>
    public bool IsDroppable(DateOnly period, DateTimeOffset cutoff) => End(period) <= cutoff;

    /// <summary>The period holding <paramref name="now"/> and the <paramref name="ahead"/> periods after it.</summary>
    public IReadOnlyList<DateOnly> Upcoming(DateTimeOffset now, int ahead)
    {
        var periods = new List<DateOnly> { PeriodOf(now) };
        for (var i = 0; i < ahead; i++)
        {
            periods.Add(Next(periods[^1]));
        }

        return periods;
    }

    public string Name(DateOnly period) => Prefix + period.ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>The period a partition's name stands for, or null for a name of another shape (e.g. a default partition).</summary>
    public DateOnly? Parse(string name) =>
        name.Length == Prefix.Length + Format.Length && name.StartsWith(Prefix, StringComparison.Ordinal)
        && DateOnly.TryParseExact(name.AsSpan(Prefix.Length), Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var period)
            ? period
            : null;
}

/// <summary>What retention does with one partition of a time-partitioned table.</summary>
public enum PartitionVerdict
{
    /// <summary>Within the retention.</summary>
    Keep,

    /// <summary>Past the retention and nothing needs it any more: dropped whole.</summary>
    Drop,

    /// <summary>Past the retention but still needed (events a consumer has not read, a job not finished): kept.</summary>
    Held,
}

/// <summary>The partitions a retention pass dropped, and those past the retention it kept because they are still needed.</summary>
public sealed record PartitionPruneResult(IReadOnlyList<DateOnly> Dropped, IReadOnlyList<DateOnly> Held)
{
    public static readonly PartitionPruneResult None = new([], []);
}
