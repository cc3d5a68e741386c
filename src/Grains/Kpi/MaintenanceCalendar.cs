using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// The maintenance calendar's rules (KPIS.md, "Maintenance windows"): the recurring monthly occurrences, what an
/// operator may schedule, and which minutes a set of windows excludes (overlaps merged, so a minute counts once).
/// Everything is UTC: there is no daylight-saving time to apply. Pure: no clock, no I/O.
/// </summary>
public sealed class MaintenanceCalendar(MaintenanceOptions options)
{
    public MaintenanceOptions Options => options;

    /// <summary>The <paramref name="week"/>th <paramref name="day"/> of a month (UTC midnight).</summary>
    public static DateTimeOffset NthWeekday(int year, int month, DayOfWeek day, int week)
    {
        var first = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
        var offset = ((int)day - (int)first.DayOfWeek + 7) % 7;
        return first.AddDays(offset + (7 * (week - 1)));
    }

    /// <summary>The recurring occurrences overlapping [from, to), by start (none when the recurring window is off).</summary>
    public ImmutableArray<MaintenanceWindow> Recurring(DateTimeOffset from, DateTimeOffset to)
    {
        if (!options.Recurring || from >= to)
        {
            return [];
        }

        var result = ImmutableArray.CreateBuilder<MaintenanceWindow>();
        // The month before too: its occurrence may run into this one (a late start across midnight at a month's end).
        var month = new DateTime(from.UtcDateTime.Year, from.UtcDateTime.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(-1);
        for (; month < to.UtcDateTime; month = month.AddMonths(1))
        {
            var start = NthWeekday(month.Year, month.Month, options.RecurringDay, options.RecurringWeek) + options.RecurringStart;
            var end = start + options.RecurringDuration;
            if (start < to && end > from)
            {
                result.Add(new MaintenanceWindow("recurring-" + month.ToString("yyyy-MM", CultureInfo.InvariantCulture), MaintenanceKind.Recurring,
                    start, end, "Monthly maintenance", null, null, null, null));
            }
        }

        return result.ToImmutable();
    }

    /// <summary>The active windows overlapping [from, to): recurring occurrences and the given operator windows, by start.</summary>
    public ImmutableArray<MaintenanceWindow> Windows(IEnumerable<MaintenanceWindow> scheduled, DateTimeOffset from, DateTimeOffset to, bool includeCancelled = false) =>
        [.. Recurring(from, to).Concat(scheduled.Where(w => (includeCancelled || w.Active) && w.Start < to && w.End > from))
            .OrderBy(w => w.Start).ThenBy(w => w.Id, StringComparer.Ordinal)];

    /// <summary>
    /// Checks a request at <paramref name="now"/>: whole minutes, start before end, a scheduled window at least the notice
    /// period ahead and at most the scheduled length, an emergency window not in the past (its start may be the current
    /// minute) and at most the emergency length. Throws InvalidArgument naming the field.
    /// </summary>
    public void Validate(MaintenanceRequest request, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(request.Title) || request.Title.Length > 200)
        {
            throw MeshException.Invalid("title", "required: 1–200 characters.");
        }

        if (request.Reason is { Length: > 2000 })
        {
            throw MeshException.Invalid("reason", "at most 2000 characters.");
        }

        CheckMinute(request.Start, "start");
        CheckMinute(request.End, "end");
        if (request.End <= request.Start)
        {
            throw MeshException.Invalid("end", "must be after start.");
        }

        var length = request.End - request.Start;
        switch (request.Kind)
        {
            case MaintenanceKind.Scheduled:
                var earliest = now + options.NoticePeriod;
                if (request.Start < earliest)
                {
                    throw MeshException.Invalid("start",
                        $"a scheduled window is announced to tenants at least {Describe(options.NoticePeriod)} ahead: start at {Format(Ceiling(earliest))} or later, or declare an emergency window (at most {Describe(options.EmergencyMaxDuration)}).");
                }

                if (length > options.ScheduledMaxDuration)
                {
                    throw MeshException.Invalid("end", $"a scheduled window lasts at most {Describe(options.ScheduledMaxDuration)}.");
                }

                break;
            case MaintenanceKind.Emergency:
                if (request.Start < Floor(now))
                {
                    throw MeshException.Invalid("start", $"an emergency window starts now ({Format(Floor(now))}) or later; past minutes cannot be excluded.");
                }

                if (request.Start > now + options.NoticePeriod)
                {
                    throw MeshException.Invalid("start", $"an emergency window starts within {Describe(options.NoticePeriod)}; schedule a later one as Scheduled.");
                }

                if (length > options.EmergencyMaxDuration)
                {
                    throw MeshException.Invalid("end", $"an emergency window lasts at most {Describe(options.EmergencyMaxDuration)}.");
                }

                break;
            default:
                throw MeshException.Invalid("kind", "Scheduled or Emergency (the recurring window is configuration).");
        }
    }

    /// <summary>
    /// The minutes of [from, to) inside any active window, overlaps merged so that a minute counts once. Windows and the
    /// range are whole minutes (a partial minute at the range's edge counts as the part inside, rounded down).
    /// </summary>
    public static long ExcludedMinutes(IEnumerable<MaintenanceWindow> windows, DateTimeOffset from, DateTimeOffset to)
    {
        long minutes = 0;
        foreach (var (start, end) in Merge(windows, from, to))
        {
            minutes += (long)(end - start).TotalMinutes;
        }

        return minutes;
    }

    /// <summary>The active windows clipped to [from, to) and merged where they overlap or touch, by start.</summary>
    public static ImmutableArray<(DateTimeOffset Start, DateTimeOffset End)> Merge(IEnumerable<MaintenanceWindow> windows, DateTimeOffset from, DateTimeOffset to)
    {
        var spans = windows.Where(w => w.Active && w.Start < to && w.End > from)
            .Select(w => (Start: w.Start < from ? from : w.Start, End: w.End > to ? to : w.End))
            .OrderBy(s => s.Start).ToList();
        var merged = ImmutableArray.CreateBuilder<(DateTimeOffset, DateTimeOffset)>();
        foreach (var span in spans)
        {
            if (merged.Count > 0 && span.Start <= merged[^1].Item2)
            {
                if (span.End > merged[^1].Item2)
                {
                    merged[^1] = (merged[^1].Item1, span.End);
                }
            }
            else
            {
                merged.Add(span);
            }
        }

        return merged.ToImmutable();
    }

    /// <summary>Whether the minute starting at <paramref name="minute"/> lies in an active window.</summary>
    public static bool Excludes(IEnumerable<MaintenanceWindow> windows, DateTimeOffset minute) =>
        windows.Any(w => w.Active && w.Start <= minute && minute < w.End);

    public static DateTimeOffset Floor(DateTimeOffset at) => new(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private static DateTimeOffset Ceiling(DateTimeOffset at) => Floor(at) == at ? at : Floor(at).AddMinutes(1);

    private static void CheckMinute(DateTimeOffset at, string field)
    {
        if (at.UtcDateTime.Year is < 2000 or >= 9000)
        {
            throw MeshException.Invalid(field, "a time between the years 2000 and 9000.");
        }

        if (at.UtcTicks % TimeSpan.TicksPerMinute != 0)
        {
            throw MeshException.Invalid(field, "whole minutes (seconds 0).");
        }
    }

    private static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays == Math.Floor(span.TotalDays) ? $"{span.TotalDays:0} days"
        : span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{span.TotalHours:0} h"
        : $"{span.TotalMinutes:0} min";
}
