using MeshOs.Abstractions.Kpi;
using MeshOs.Grains.Kpi;
using MeshOs.Testing;
using MeshOs.Tests.Postgres.JobStore;

namespace MeshOs.Tests.Postgres.Kpi;

/// <summary>
/// The contract of <see cref="IKpiStore"/>, run against the in-memory and the PostgreSQL stores: adds sum counts and
/// sketches by key, reads filter by scope, resolution and range, pruning drops one resolution's old rows.
/// </summary>
public abstract class KpiStoreContract : StoreContract
{
    private static readonly DateTimeOffset Hour = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private IKpiStore Store => Backend.Kpi;

    private static SliRow Row(string scope, SliResolution resolution, DateTimeOffset at, long requests, long errors, long bad = 0, int sample = -1, long windows = 0, long met = 0)
    {
        var sketch = LatencySketch.Empty();
        if (sample >= 0)
        {
            sketch[sample] = 1;
        }

        return SliRowMath.Empty(scope, resolution, at) with
        {
            Requests = requests,
            Errors = errors,
            ObservedMinutes = 1,
            BadMinutes = bad,
            Windows = windows,
            WindowsMet = met,
            Submit = sample >= 0 ? [.. sketch] : [],
        };
    }

    [Fact]
    public async Task Adds_sum_counts_and_sketches_of_the_same_row()
    {
        await Store.AddAsync([Row("mesh", SliResolution.Hour, Hour, 10, 1, bad: 1, sample: 36, windows: 1, met: 0)]);
        await Store.AddAsync([Row("mesh", SliResolution.Hour, Hour, 5, 0, sample: 36, windows: 1, met: 1), Row("mesh", SliResolution.Hour, Hour, 1, 1)]);
        await Store.AddAsync([Row("mesh", SliResolution.Hour, Hour, 0, 0, sample: 40)]);

        var row = Assert.Single(await Store.ReadAsync("mesh", SliResolution.Hour, Hour, Hour.AddHours(1)));

        Assert.Equal((16L, 2L, 4L, 1L, 2L, 1L), (row.Requests, row.Errors, row.ObservedMinutes, row.BadMinutes, row.Windows, row.WindowsMet));
        Assert.Equal(LatencySketch.Buckets, row.Submit.Length);
        Assert.Equal(2, row.Submit[36]);
        Assert.Equal(1, row.Submit[40]);
        Assert.Equal(3, LatencySketch.Count(row.Submit));
        Assert.Equal(0, LatencySketch.Count(row.EndToEnd));
    }

    [Fact]
    public async Task Reads_filter_by_scope_resolution_and_half_open_range_in_time_order()
    {
        await Store.AddAsync(
        [
            Row("tenant/a", SliResolution.Minute, Hour.AddMinutes(2), 2, 0),
            Row("tenant/a", SliResolution.Minute, Hour, 1, 0),
            Row("tenant/a", SliResolution.Minute, Hour.AddMinutes(5), 5, 0),
            Row("tenant/b", SliResolution.Minute, Hour, 7, 0),
            Row("tenant/a", SliResolution.FiveMinutes, Hour, 3, 0),
        ]);

        var rows = await Store.ReadAsync("tenant/a", SliResolution.Minute, Hour, Hour.AddMinutes(5));

        Assert.Equal([1L, 2L], rows.Select(r => r.Requests));
        Assert.Equal([Hour, Hour.AddMinutes(2)], rows.Select(r => r.At));
        Assert.All(rows, r => Assert.Equal("tenant/a", r.Scope));
    }

    [Fact]
    public async Task Pruning_drops_only_the_old_rows_of_one_resolution()
    {
        await Store.AddAsync(
        [
            Row("mesh", SliResolution.Minute, Hour.AddDays(-40), 1, 0),
            Row("mesh", SliResolution.Minute, Hour, 1, 0),
            Row("mesh", SliResolution.Hour, Hour.AddDays(-40), 1, 0),
        ]);

        Assert.Equal(1, await Store.PruneAsync(SliResolution.Minute, Hour.AddDays(-35)));

        Assert.Single(await Store.ReadAsync("mesh", SliResolution.Minute, Hour.AddDays(-400), Hour.AddDays(1)));
        Assert.Single(await Store.ReadAsync("mesh", SliResolution.Hour, Hour.AddDays(-400), Hour.AddDays(1)));
        Assert.Equal(0, await Store.PruneAsync(SliResolution.Minute, Hour.AddDays(-35)));
    }
}

/// <summary>The KPI store contract on the embedded mode's in-memory store.</summary>
public sealed class InMemoryKpiStoreTests : KpiStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync() => Task.FromResult(StoreBackend.InMemory());
}

/// <summary>The KPI store contract on PostgreSQL (a fresh database per test, migrated the way a silo does it).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresKpiStoreTests(PostgresFixture postgres) : KpiStoreContract
{
    protected override async Task<StoreBackend> CreateBackendAsync() => await PostgresBackend.StartAsync(await postgres.CreateDatabaseAsync());
}
