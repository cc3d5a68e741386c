using System.Globalization;
using Grpc.Net.Client;
using MeshOs.AgentSdk;
using MeshOs.Testing;

namespace MeshOs.Bench.Targets;

/// <summary>
/// The MeshOs under test: real silo processes the bench started (with their private PostgreSQL in the PostgreSQL
/// mode), or an existing deployment reached through its URLs. Holds the one gRPC channel the bench process shares.
/// </summary>
public sealed class MeshTarget : IAsyncDisposable
{
    private readonly List<MeshProcess> _silos;
    private readonly PostgresServer? _ownedPostgres;
    private readonly GatewayLaunch? _gatewayLaunch;
    private readonly IReadOnlyList<Uri> _externalSiloMetrics;
    private MeshProcess? _gateway;

    private MeshTarget(Uri http, Uri grpc, string operatorKey, string enrollmentToken, List<MeshProcess> silos, MeshProcess? gateway,
        PostgresServer? postgres, PostgresServer? ownedPostgres, string? databaseConnectionString, int? externalPid, GatewayLaunch? gatewayLaunch = null,
        IReadOnlyList<Uri>? externalSiloMetrics = null)
    {
        _externalSiloMetrics = externalSiloMetrics ?? [];
        _gateway = gateway;
        _gatewayLaunch = gatewayLaunch;
        HttpUrl = http;
        GrpcUrl = grpc;
        OperatorKey = operatorKey;
        EnrollmentToken = enrollmentToken;
        _silos = silos;
        Postgres = postgres;
        _ownedPostgres = ownedPostgres;
        DatabaseConnectionString = databaseConnectionString;
        ExternalPid = externalPid;
        Channel = MeshGrpcChannel.Create(grpc);
        AgentsChannel = MeshGrpcChannel.Create(grpc);
        Operator = new MeshOperator(http, operatorKey);
    }

    public Uri HttpUrl { get; }

    public Uri GrpcUrl { get; }

    public string OperatorKey { get; }

    public string EnrollmentToken { get; }

    /// <summary>The silo processes the bench started; empty for an external deployment.</summary>
    public IReadOnlyList<MeshProcess> Silos => _silos;

    public PostgresServer? Postgres { get; }

    /// <summary>The MeshOs database, in the PostgreSQL mode.</summary>
    public string? DatabaseConnectionString { get; }

    public int? ExternalPid { get; }

    /// <summary>The standalone gateway the bench started, if any (the clients then talk to it, not to a silo).</summary>
    public MeshProcess? Gateway => _gateway;

    /// <summary>
    /// Where the silos count what they do (/metrics, Prometheus text): each silo the bench started; for an external
    /// deployment the URLs given (--silo-metrics), else its front (which is a silo only when the gateway is co-hosted).
    /// </summary>
    public IReadOnlyList<Uri> SiloMetricsUrls =>
        _silos.Count > 0 ? [.. _silos.Select(s => new Uri(s.HttpUrl, "/metrics"))]
        : _externalSiloMetrics.Count > 0 ? _externalSiloMetrics
        : [new Uri(HttpUrl, "/metrics")];

    /// <summary>The processes whose CPU and memory count as "the server": the silos and a standalone gateway.</summary>
    public IReadOnlyList<int> ServerPids =>
        _silos.Count > 0
            ? [.. _silos.Append(_gateway).OfType<MeshProcess>().Where(s => !s.HasExited).Select(s => s.ProcessId)]
            : ExternalPid is { } pid ? [pid] : [];

    public int? PostmasterPid => PostmasterPidOf(Postgres);

    /// <summary>The producers' (and the watchers') gRPC channel.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>
    /// The bench's agents' own channel (their own HTTP/2 connections): in a deployment agents run elsewhere, and sharing
    /// the producers' connection would have a submit flood delay their assignments and reports in its frames.
    /// </summary>
    public GrpcChannel AgentsChannel { get; }

    public MeshOperator Operator { get; }

    public string ModeName => _silos.Count == 0 ? "external" : DatabaseConnectionString is null ? "embedded" : "postgres";

    /// <summary>
    /// Starts <paramref name="silos"/> silo processes in the given mode, or connects to an external deployment. The
    /// gateway is co-hosted in every silo (clients use the first), or with <paramref name="standaloneGateway"/> runs as
    /// its own process, an Orleans client of the cluster. In the PostgreSQL mode, <paramref name="postgres"/> is used
    /// when given (a fresh database on it), else a private server is started and owned.
    /// </summary>
    public static async Task<MeshTarget> StartAsync(TargetOptions options, PostgresServer? postgres = null, int silos = 1, bool standaloneGateway = false)
    {
        if (options.IsExternal)
        {
            var http = options.Http ?? throw new ArgumentException("--http is required with --grpc.");
            var grpc = options.Grpc ?? throw new ArgumentException("--grpc is required with --http.");
            return new MeshTarget(http, grpc, options.OperatorKey ?? MeshProcess.OperatorKey,
                options.EnrollmentToken ?? MeshProcess.EnrollmentToken, [], null, null, null, null, options.ServerPid, externalSiloMetrics: options.SiloMetrics);
        }

        PostgresServer? owned = null;
        string? database = null;
        string? deployed = null;
        if (options.Mode == StorageMode.Postgres)
        {
            if (postgres is null)
            {
                Console.WriteLine("  starting a private PostgreSQL…");
                postgres = owned = await PostgresServer.CreateAsync();
                if (options.PgStatements)
                {
                    await Measurement.StatementStats.EnableAsync(owned);
                }
            }

            database = await postgres.CreateDatabaseAsync("meshos_" + Guid.NewGuid().ToString("N")[..10]);
            await Reporting.MachineInfo.NotePostgresAsync(database);
            deployed = AsDeployed(database);
        }

        var started = new List<MeshProcess>();
        MeshProcess? gateway = null;
        GatewayLaunch? launch = null;
        try
        {
            var clusterId = "bench-" + Guid.NewGuid().ToString("N")[..8];
            for (var i = 0; i < silos; i++)
            {
                Console.WriteLine($"  starting silo {i + 1}/{silos} ({options.Mode.ToString().ToLowerInvariant()})…");
                var silo = MeshProcess.StartSilo(deployed, clusterId, options.SiloSettings, coHostGateway: !standaloneGateway,
                    environment: options.ProcessEnvironment());
                started.Add(silo);
                await silo.WaitReadyAsync(TimeSpan.FromSeconds(90));
            }

            if (standaloneGateway)
            {
                Console.WriteLine("  starting a standalone gateway…");
                launch = new GatewayLaunch(deployed, clusterId, deployed is null ? started[0].GatewayPort : null, options.SiloSettings,
                    options.ProcessEnvironment(), FreePort.Get(), FreePort.Get());
                gateway = await launch.StartAsync();
            }
        }
        catch
        {
            foreach (var process in started.Append(gateway).OfType<MeshProcess>())
            {
                await process.DisposeAsync();
            }

            if (owned is not null)
            {
                await owned.DisposeAsync();
            }

            throw;
        }

        return launch is not null
            ? new MeshTarget(launch.HttpUrl, launch.GrpcUrl, MeshProcess.OperatorKey, MeshProcess.EnrollmentToken, started, gateway,
                postgres, owned, database, null, launch)
            : new MeshTarget(started[0].HttpUrl, started[0].GrpcUrl, MeshProcess.OperatorKey, MeshProcess.EnrollmentToken, started, null,
                postgres, owned, database, null);
    }

    /// <summary>
    /// The connection string the MeshOs processes get: as a deployment has it. The test servers' strings close idle
    /// pooled connections after 2 s (every test has its own database and pool); MeshOs processes under a bursty load
    /// then opened new server connections all the time, which cost PostgreSQL more CPU than the statements they ran.
    /// </summary>
    private static string AsDeployed(string testConnectionString)
    {
        var defaults = new Npgsql.NpgsqlConnectionStringBuilder();
        return new Npgsql.NpgsqlConnectionStringBuilder(testConnectionString)
        {
            ConnectionIdleLifetime = defaults.ConnectionIdleLifetime,
            ConnectionPruningInterval = defaults.ConnectionPruningInterval,
        }.ConnectionString;
    }

    /// <summary>SIGKILLs the standalone gateway the bench started: every agent stream and client connection on it dies.</summary>
    public void KillGateway() => (_gateway ?? throw new InvalidOperationException("This target has no standalone gateway the bench started.")).Kill();

    /// <summary>Starts the standalone gateway again, on the same addresses, and waits until it is ready.</summary>
    public async Task RestartGatewayAsync()
    {
        var launch = _gatewayLaunch ?? throw new InvalidOperationException("This target has no standalone gateway the bench started.");
        if (_gateway is { } old)
        {
            await old.DisposeAsync();
        }

        _gateway = null;
        _gateway = await launch.StartAsync();
    }

    /// <summary>
    /// Jobs the deployment holds as Succeeded, as the server counts them: the job table in the PostgreSQL mode, /status
    /// in the embedded mode; null for an external deployment (other jobs than the bench's may be there).
    /// </summary>
    public async Task<long?> SucceededJobsAsync()
    {
        try
        {
            if (DatabaseConnectionString is { } cs)
            {
                await using var connection = new Npgsql.NpgsqlConnection(cs);
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM meshos_jobs WHERE status = 3", connection);
                return (long)(await command.ExecuteScalarAsync())!;
            }

            if (_silos.Count > 0)
            {
                return (await Operator.StatusAsync())?["jobs"]?["Succeeded"]?.GetValue<long>();
            }
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or HttpRequestException)
        {
            // Unknown for now; the caller asks again.
        }

        return null;
    }

    /// <summary>The postmaster's process id, from its data folder; null for an external server.</summary>
    public static int? PostmasterPidOf(PostgresServer? postgres)
    {
        if (postgres?.DataDirectory is not { } data)
        {
            return null;
        }

        try
        {
            var first = File.ReadLines(Path.Combine(data, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Peak resident memory of the server processes (the largest, for several), in MiB.</summary>
    public double PeakRssMiB() =>
        ServerPids.Select(pid => ProcFsMiB(Measurement.ProcFs.PeakRssBytes(pid))).DefaultIfEmpty(double.NaN).Max();

    public double RssMiB() =>
        ServerPids.Select(pid => ProcFsMiB(Measurement.ProcFs.RssBytes(pid))).DefaultIfEmpty(double.NaN).Sum();

    /// <summary>The last lines each silo printed, for a failed run.</summary>
    public string Tails(int lines = 40) =>
        string.Join("\n", _silos.Append(_gateway).OfType<MeshProcess>().Select(s =>
            $"--- {s.Kind} pid {s.ProcessId}{(s.HasExited ? " (exited)" : string.Empty)} ---\n{s.Tail(lines)}"));

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        AgentsChannel.Dispose();
        Operator.Dispose();
        foreach (var process in _silos.Append(_gateway).OfType<MeshProcess>())
        {
            await process.DisposeAsync();
        }

        if (_ownedPostgres is not null)
        {
            await _ownedPostgres.DisposeAsync();
        }
    }

    private static double ProcFsMiB(long? bytes) => bytes is { } b ? b / (1024.0 * 1024) : double.NaN;

    /// <summary>
    /// How the standalone gateway is started, so it can be started again in the same place: besides the ports each
    /// process picks, it listens on two fixed front ports (REST over HTTP/1.1, gRPC over HTTP/2) that the bench's clients
    /// use, so they find a restarted gateway at the same address.
    /// </summary>
    private sealed record GatewayLaunch(string? Database, string ClusterId, int? LocalGatewayPort, IReadOnlyDictionary<string, string> Settings,
        IReadOnlyDictionary<string, string> Environment, int FrontHttpPort, int FrontGrpcPort)
    {
        public Uri HttpUrl => new(HttpAddress);

        public Uri GrpcUrl => new(GrpcAddress);

        private string HttpAddress => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FrontHttpPort}");

        private string GrpcAddress => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FrontGrpcPort}");

        public async Task<MeshProcess> StartAsync()
        {
            var settings = new Dictionary<string, string>(Settings, StringComparer.Ordinal)
            {
                ["Kestrel:Endpoints:FrontHttp:Url"] = HttpAddress,
                ["Kestrel:Endpoints:FrontHttp:Protocols"] = "Http1",
                ["Kestrel:Endpoints:FrontGrpc:Url"] = GrpcAddress,
                ["Kestrel:Endpoints:FrontGrpc:Protocols"] = "Http2",
            };
            var gateway = MeshProcess.StartGateway(Database, ClusterId, LocalGatewayPort, settings, Environment);
            try
            {
                await gateway.WaitReadyAsync(TimeSpan.FromSeconds(90));
                return gateway;
            }
            catch
            {
                await gateway.DisposeAsync();
                throw;
            }
        }
    }
}
