using System.Collections.Immutable;
using MeshOs.Abstractions.Cost;

namespace MeshOs.Grains.Cost;

/// <summary>One attempt's time on an agent, half-open [From, To), charged to the job's tenant and capability.</summary>
[GenerateSerializer, Immutable, Alias("meshos.BusySpan")]
public sealed record BusySpan(Guid JobId, string TenantId, string Capability, DateTimeOffset From, DateTimeOffset To);

/// <summary>One job's amounts in one hour on one agent (rounded per job; see <see cref="CostAllocator.AllocateWithJobs"/>).</summary>
[GenerateSerializer, Immutable, Alias("meshos.JobCostLine")]
public sealed record JobCostLine(Guid JobId, DateTimeOffset Hour, string Tenant, string Pool, string Capability, decimal Allocated, decimal Usage, long AgentMs);

/// <summary>Idle already counted for one agent-hour: what a job that ends late may take back from.</summary>
[GenerateSerializer, Immutable, Alias("meshos.SettledIdle")]
public sealed record SettledIdle(DateTimeOffset Hour, decimal Amount, long Ms);

/// <summary>
/// Allocation of an agent's connected time (pure, OpenCost style): every instant the agent is connected costs its hourly
/// rate in force then; an instant when jobs run is allocated to their tenants, split evenly among the jobs running at
/// once (concurrency above one), and an instant when none runs is idle. Amounts are per UTC hour, rounded to
/// <see cref="CostCurrency.Scale"/> decimals so that, in every agent-hour, allocated + idle equals the hour's agent cost exactly.
/// </summary>
public static class CostAllocator
{
    private const decimal TicksPerHour = TimeSpan.TicksPerHour;
    private const decimal TicksPerMs = TimeSpan.TicksPerMillisecond;

    /// <summary>The UTC hour holding <paramref name="at"/>.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>
    /// The rollups of <paramref name="agent"/>'s connected time in [<paramref name="from"/>, <paramref name="to"/>): a row per
    /// hour, tenant and capability for busy time, and an idle row per hour. Busy spans are clipped to the window (time a job
    /// ran while the agent was not connected, e.g. after it died, costs nothing).
    /// </summary>
    public static ImmutableArray<CostRollup> Allocate(CostedAgent agent, DateTimeOffset from, DateTimeOffset to, IEnumerable<BusySpan> busy, RateBook book) =>
        AllocateWithJobs(agent, from, to, busy, book).Rows;

    /// <summary>
    /// <see cref="Allocate"/>, and each job's own amounts per hour: rounding is done per job (the tenant rows are the sums
    /// of their jobs' rounded amounts), so jobs, tenants and idle all reconcile to the agent-hour exactly.
    /// </summary>
    public static (ImmutableArray<CostRollup> Rows, ImmutableArray<JobCostLine> Jobs) AllocateWithJobs(
        CostedAgent agent, DateTimeOffset from, DateTimeOffset to, IEnumerable<BusySpan> busy, RateBook book)
    {
        if (from >= to)
        {
            return ([], []);
        }

        var spans = busy.Where(b => b.From < to && b.To > from && b.From < b.To).ToList();
        var points = new SortedSet<DateTimeOffset> { from, to };
        for (var hour = HourOf(from).AddHours(1); hour < to; hour = hour.AddHours(1))
        {
            points.Add(hour);
        }

        foreach (var change in book.ChangesBetween(from, to))
        {
            points.Add(change);
        }

        foreach (var span in spans)
        {
            if (span.From > from)
            {
                points.Add(span.From);
            }

            if (span.To < to)
            {
                points.Add(span.To);
            }
        }

        var hours = new SortedDictionary<DateTimeOffset, HourAccount>();
        DateTimeOffset? previous = null;
        foreach (var point in points)
        {
            if (previous is { } a)
            {
                var hour = HourOf(a);
                if (!hours.TryGetValue(hour, out var account))
                {
                    hours[hour] = account = new HourAccount();
                }

                var ticks = (decimal)(point - a).Ticks;
                var cost = book.HourlyRate(agent, a) * ticks / TicksPerHour;
                var running = spans.Where(s => s.From <= a && s.To >= point).ToList();
                if (running.Count == 0)
                {
                    account.Add(IdleKey, cost, ticks);
                }
                else
                {
                    foreach (var job in running)
                    {
                        account.Add((job.TenantId, job.Capability, job.JobId), cost / running.Count, ticks / running.Count);
                    }
                }
            }

            previous = point;
        }

        var rows = ImmutableArray.CreateBuilder<CostRollup>();
        var jobs = ImmutableArray.CreateBuilder<JobCostLine>();
        foreach (var (hour, account) in hours)
        {
            var keys = account.Keys.OrderBy(k => k.Tenant, StringComparer.Ordinal).ThenBy(k => k.Capability, StringComparer.Ordinal).ThenBy(k => k.Job).ToList();
            var amounts = Apportion.Round([.. keys.Select(k => account.Amounts[k])], CostCurrency.Scale);
            var ms = Apportion.Round([.. keys.Select(k => account.Ticks[k] / TicksPerMs)], 0);
            for (var i = 0; i < keys.Count; i++)
            {
                if (keys[i] != IdleKey)
                {
                    jobs.Add(new JobCostLine(keys[i].Job, hour, keys[i].Tenant, agent.Pool, keys[i].Capability, amounts[i], 0m, (long)ms[i]));
                }
            }

            foreach (var group in keys.Select((k, i) => (Key: k, Amount: amounts[i], Ms: (long)ms[i])).GroupBy(k => (k.Key.Tenant, k.Key.Capability)))
            {
                var idle = group.Key == (IdleKey.Tenant, IdleKey.Capability);
                var amount = group.Sum(g => g.Amount);
                rows.Add(new CostRollup(hour, agent.Pool, group.Key.Tenant, agent.AgentId, group.Key.Capability,
                    idle ? 0m : amount, idle ? amount : 0m, 0m, group.Sum(g => g.Ms)));
            }
        }

        return (rows.ToImmutable(), jobs.ToImmutable());
    }

    /// <summary>
    /// A job's time that ended after its agent's time was settled as idle: the part of [<paramref name="from"/>,
    /// <paramref name="to"/>) in each hour moves from the agent's idle to the job's tenant, at most the idle still
    /// recorded for that hour (so idle never goes negative and the agent-hour still reconciles exactly). Returns the
    /// correcting rows (a plus for the tenant, the same minus on idle) and the idle left per hour.
    /// </summary>
    public static (ImmutableArray<CostRollup> Rows, ImmutableArray<SettledIdle> IdleLeft) Reclaim(
        CostedAgent agent, BusySpan span, DateTimeOffset from, DateTimeOffset to, ImmutableArray<SettledIdle> settled, RateBook book)
    {
        if (from >= to || settled.IsDefaultOrEmpty)
        {
            return ([], settled.IsDefault ? [] : settled);
        }

        var busyOnly = Allocate(agent, from, to, [span with { From = from, To = to }], book); // one job: its rows are its own
        var rows = ImmutableArray.CreateBuilder<CostRollup>();
        var left = settled.ToBuilder();
        foreach (var row in busyOnly.Where(r => r.Tenant != CostRollup.IdleTenant))
        {
            var index = IndexOfHour(left, row.Hour);
            if (index < 0)
            {
                continue;
            }

            var idle = left[index];
            var amount = Math.Min(row.Allocated, idle.Amount);
            var ms = Math.Min(row.AgentMs, idle.Ms);
            if (amount == 0 && ms == 0)
            {
                continue;
            }

            rows.Add(row with { Allocated = amount, AgentMs = ms });
            rows.Add(new CostRollup(row.Hour, agent.Pool, CostRollup.IdleTenant, agent.AgentId, CostRollup.IdleTenant, 0m, -amount, 0m, -ms));
            left[index] = idle with { Amount = idle.Amount - amount, Ms = idle.Ms - ms };
        }

        return (rows.ToImmutable(), left.ToImmutable());
    }

    private static int IndexOfHour(ImmutableArray<SettledIdle>.Builder settled, DateTimeOffset hour)
    {
        for (var i = 0; i < settled.Count; i++)
        {
            if (settled[i].Hour == hour)
            {
                return i;
            }
        }

        return -1;
    }

    private static readonly (string Tenant, string Capability, Guid Job) IdleKey = (CostRollup.IdleTenant, CostRollup.IdleTenant, Guid.Empty);

    private sealed class HourAccount
    {
        public List<(string Tenant, string Capability, Guid Job)> Keys { get; } = [];
        public Dictionary<(string, string, Guid), decimal> Amounts { get; } = [];
        public Dictionary<(string, string, Guid), decimal> Ticks { get; } = [];

        public void Add((string, string, Guid) key, decimal amount, decimal ticks)
        {
            if (!Amounts.ContainsKey(key))
            {
                Keys.Add(key);
                Amounts[key] = 0m;
                Ticks[key] = 0m;
            }

            Amounts[key] += amount;
            Ticks[key] += ticks;
        }
    }
}
