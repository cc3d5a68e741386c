using MeshOs.Testing;
using Npgsql;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// A silo process (gateway co-hosted) for the kernel tests, with the intervals shortened so that lease expiry, agent
/// silence and queue repair happen in seconds, and with direct access to the job table when it runs on PostgreSQL.
/// Tests sharing one share nothing else: each makes its own tenants, capabilities and agent ids.
/// </summary>
public sealed class KernelMesh : IAsyncDisposable
{
    /// <summary>
    /// Shorter than the defaults, so a lost lease or a lost enqueue is repaired within seconds. Every test client calls
    /// from 127.0.0.1, so the per-address limit on failed authentications is raised: tests that present bad keys on
    /// purpose must not get the address turned away for the other tests sharing the process.
    /// </summary>
    public static IReadOnlyDictionary<string, string> FastSettings { get; } = new Dictionary<string, string>
    {
        ["MeshOs:Gateway:AuthFailuresPerMinute"] = "100000",
        ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
        ["MeshOs:Jobs:LeaseDuration"] = "00:00:03",
        ["MeshOs:Jobs:RecoveryGrace"] = "00:00:03",
        ["MeshOs:Dispatch:ReconcileInterval"] = "00:00:02",
        ["MeshOs:Dispatch:ReconcileMinAge"] = "00:00:01",
        ["MeshOs:Dispatch:LeaseSweepInterval"] = "00:00:01",
    };

    private KernelMesh(MeshProcess silo, string? connectionString)
    {
        Silo = silo;
        ConnectionString = connectionString;
        Api = new MeshApi(silo);
    }

    public MeshProcess Silo { get; }

    public MeshApi Api { get; }

    /// <summary>The silo's database; null in the embedded (in-memory) mode.</summary>
    public string? ConnectionString { get; }

    /// <summary>
    /// Starts a silo with <see cref="FastSettings"/> and <paramref name="settings"/> on top; embedded without a
    /// connection string, on PostgreSQL with one.
    /// </summary>
    public static async Task<KernelMesh> StartAsync(string? connectionString = null, IReadOnlyDictionary<string, string>? settings = null,
        string clusterId = "kernel")
    {
        var all = new Dictionary<string, string>(FastSettings);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }

        return new KernelMesh(await StartSiloAsync(connectionString, clusterId, all), connectionString);
    }

    /// <summary>
    /// Starts a silo and waits until it is ready. The free ports it is given may be taken by another process before it
    /// binds them (the machine is shared); then it is started again on other ports.
    /// </summary>
    public static async Task<MeshProcess> StartSiloAsync(string? connectionString, string clusterId, IReadOnlyDictionary<string, string> settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            var silo = MeshProcess.StartSilo(connectionString, clusterId, settings);
            try
            {
                await silo.WaitReadyAsync();
                return silo;
            }
            catch (InvalidOperationException) when (attempt < 3 && silo.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await silo.DisposeAsync();
            }
            catch
            {
                await silo.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>A fresh tenant with one key, and REST and gRPC clients that present it.</summary>
    public async Task<KernelTenant> CreateTenantAsync(object? quotas = null, string[]? pools = null)
    {
        var (tenantId, key) = await Api.CreateTenantAsync(quotas: quotas, pools: pools);
        return new KernelTenant(tenantId, key, Api.Client(key), new MeshOs.Grpc.V1.Jobs.JobsClient(Api.Channel()));
    }

    /// <summary>Rows of the tenant in meshos_jobs, counted by PostgreSQL itself.</summary>
    public async Task<long> CountJobRowsAsync(string tenantId)
    {
        var connectionString = ConnectionString ?? throw new InvalidOperationException("The embedded mode has no job table.");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM meshos_jobs WHERE tenant_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// How many jobs the tenant has: rows in meshos_jobs on PostgreSQL (checked against the API's listing too),
    /// otherwise the API's listing.
    /// </summary>
    public async Task<long> CountJobsAsync(KernelTenant tenant)
    {
        var listed = (await JobCalls.ListAsync(tenant.Http, "limit=500")).Count;
        if (ConnectionString is null)
        {
            return listed;
        }

        var rows = await CountJobRowsAsync(tenant.Id);
        Assert.Equal(rows, listed);
        return rows;
    }

    /// <summary>The Succeeded figure of /status (read from the job store's counters).</summary>
    public async Task<long> SucceededCountAsync()
    {
        var status = await MeshApi.JsonAsync(await Api.Anonymous.GetAsync("/status"));
        Assert.Empty(status["errors"]!.AsArray());
        return status["jobs"]!["Succeeded"]!.GetValue<long>();
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Silo.DisposeAsync();
    }
}

/// <summary>A tenant of a test: its id and key, an HTTP client and a gRPC Jobs client that present the key.</summary>
public sealed record KernelTenant(string Id, string Key, HttpClient Http, MeshOs.Grpc.V1.Jobs.JobsClient Jobs)
{
    /// <summary>gRPC call metadata carrying the key.</summary>
    public global::Grpc.Core.Metadata Headers => MeshApi.Key(Key);
}

/// <summary>One embedded silo (in-memory) shared by the kernel tests of its collection.</summary>
public sealed class EmbeddedKernelFixture : IAsyncLifetime
{
    public KernelMesh Mesh { get; private set; } = null!;

    public async Task InitializeAsync() => Mesh = await KernelMesh.StartAsync();

    public async Task DisposeAsync()
    {
        if (Mesh is not null)
        {
            await Mesh.DisposeAsync();
        }
    }
}

/// <summary>
/// A private PostgreSQL server and one silo on it, shared by the kernel tests of its collection. The silo runs one
/// shard per queue, so that the per-shard share of a tenant's maxQueuedJobs quota is the quota itself.
/// </summary>
public sealed class PostgresKernelFixture : IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public KernelMesh Mesh { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.CreateAsync();
        var database = await Server.CreateDatabaseAsync();
        Mesh = await KernelMesh.StartAsync(database, new Dictionary<string, string>
        {
            ["MeshOs:Dispatch:ShardsPerQueue"] = "1",
            ["MeshOs:Cost:BudgetRefreshInterval"] = "00:00:01", // budgets read spend each second, not each minute
            // SLIs flushed and minutes closed each second, 5 s after they end (KPI tests wait for one minute, not three).
            ["MeshOs:Kpi:FlushInterval"] = "00:00:01",
            ["MeshOs:Kpi:CloseInterval"] = "00:00:01",
            ["MeshOs:Kpi:SettleDelay"] = "00:00:05",
        });
    }

    public async Task DisposeAsync()
    {
        if (Mesh is not null)
        {
            await Mesh.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EmbeddedKernelCollection : ICollectionFixture<EmbeddedKernelFixture>
{
    public const string Name = "kernel embedded";
}

[CollectionDefinition(Name)]
public sealed class PostgresKernelCollection : ICollectionFixture<PostgresKernelFixture>
{
    public const string Name = "kernel postgres";
}
