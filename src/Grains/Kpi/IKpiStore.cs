using System.Collections.Immutable;
using MeshOs.Abstractions.Kpi;

namespace MeshOs.Grains.Kpi;

/// <summary>
/// Where SLI rollups live: the in-memory store (embedded mode, tests) or PostgreSQL (<c>meshos_sli</c>, sql/0016_kpi.sql).
/// Adding a row adds its counts and sketches to the row with the same scope, resolution and start (one writer per scope,
/// but adds commute, so a retry or a second writer never loses counts).
/// </summary>
public interface IKpiStore
{
    Task AddAsync(IReadOnlyList<SliRow> rows, CancellationToken cancellationToken = default);

    /// <summary>The rows of a scope at one resolution starting in [from, to), by start.</summary>
    Task<ImmutableArray<SliRow>> ReadAsync(string scope, SliResolution resolution, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>Drops the rows of a resolution starting before <paramref name="before"/>; answers how many.</summary>
    Task<long> PruneAsync(SliResolution resolution, DateTimeOffset before, CancellationToken cancellationToken = default);
}

/// <summary>Adding rows: the one definition of how two rows of the same key combine.</summary>
public static class SliRowMath
{
    public static SliRow Add(SliRow a, SliRow b) => a with
    {
        Requests = a.Requests + b.Requests,
        Errors = a.Errors + b.Errors,
        ObservedMinutes = a.ObservedMinutes + b.ObservedMinutes,
        BadMinutes = a.BadMinutes + b.BadMinutes,
        UnobservedMinutes = a.UnobservedMinutes + b.UnobservedMinutes,
        ExcludedMinutes = a.ExcludedMinutes + b.ExcludedMinutes,
        ProbeFailedMinutes = a.ProbeFailedMinutes + b.ProbeFailedMinutes,
        Windows = a.Windows + b.Windows,
        WindowsMet = a.WindowsMet + b.WindowsMet,
        Submit = Sum(a.Submit, b.Submit),
        EndToEnd = Sum(a.EndToEnd, b.EndToEnd),
    };

    public static ImmutableArray<long> Sum(ImmutableArray<long> a, ImmutableArray<long> b)
    {
        if (b.IsDefaultOrEmpty || b.All(c => c == 0))
        {
            return a.IsDefault ? [] : a;
        }

        if (a.IsDefaultOrEmpty)
        {
            return b;
        }

        var sum = LatencySketch.Empty();
        LatencySketch.AddTo(sum, a);
        LatencySketch.AddTo(sum, b);
        return [.. sum];
    }

    public static SliRow Empty(string scope, SliResolution resolution, DateTimeOffset at) =>
        new(scope, resolution, at, 0, 0, 0, 0, 0, 0, 0, 0, 0, [], []);

    /// <summary>The start of the row of <paramref name="resolution"/> holding <paramref name="at"/>.</summary>
    public static DateTimeOffset Bucket(DateTimeOffset at, SliResolution resolution)
    {
        var ticks = TimeSpan.FromMinutes((int)resolution).Ticks;
        return new DateTimeOffset(at.UtcTicks - (at.UtcTicks % ticks), TimeSpan.Zero);
    }
}

/// <summary>The SLI store in memory: one process's rows, lost at exit (embedded mode).</summary>
public sealed class InMemoryKpiStore : IKpiStore
{
    private readonly Dictionary<(string, SliResolution, DateTimeOffset), SliRow> _rows = [];
    private readonly Lock _lock = new();

    public Task AddAsync(IReadOnlyList<SliRow> rows, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var row in rows)
            {
                var key = (row.Scope, row.Resolution, row.At);
                _rows[key] = _rows.TryGetValue(key, out var known) ? SliRowMath.Add(known, row) : row;
            }
        }

        return Task.CompletedTask;
    }

    public Task<ImmutableArray<SliRow>> ReadAsync(string scope, SliResolution resolution, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<ImmutableArray<SliRow>>([.. _rows.Values
                .Where(r => r.Scope == scope && r.Resolution == resolution && r.At >= from && r.At < to).OrderBy(r => r.At)]);
        }
    }

    public Task<long> PruneAsync(SliResolution resolution, DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var old = _rows.Keys.Where(k => k.Item2 == resolution && k.Item3 < before).ToList();
            foreach (var key in old)
            {
                _rows.Remove(key);
            }

            return Task.FromResult((long)old.Count);
        }
    }
}
