using System.Globalization;
using MeshOs.AgentSim;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// The MeshOs processes of one scenario on one PostgreSQL database, with <see cref="ReliabilityProfile.MeshSettings"/>:
/// either one silo co-hosting the gateway, or silos without it behind one standalone gateway. The standalone gateway
/// also listens on two fixed ports (REST and gRPC) besides the free ones <see cref="MeshProcess"/> picks, and
/// <see cref="RestartGatewayAsync"/> starts it again on the same two: tenants and agents keep one address throughout.
/// </summary>
public sealed class ReliabilityMesh : IAsyncDisposable
{
    private readonly string _clusterId;
    private readonly int _frontHttpPort;
    private readonly int _frontGrpcPort;
    private readonly List<MeshApi> _apis = [];

    private ReliabilityMesh(string connectionString, string clusterId, List<MeshProcess> silos, MeshProcess? gateway, int frontHttpPort, int frontGrpcPort)
    {
        ConnectionString = connectionString;
        _clusterId = clusterId;
        Silos = silos;
        Gateway = gateway;
        _frontHttpPort = frontHttpPort;
        _frontGrpcPort = frontGrpcPort;
        Api = NewApi();
    }

    public string ConnectionString { get; }

    /// <summary>The silo processes; <see cref="RestartSiloAsync"/> replaces one in place.</summary>
    public List<MeshProcess> Silos { get; }

    /// <summary>The standalone gateway, if the mesh has one.</summary>
    public MeshProcess? Gateway { get; private set; }

    /// <summary>The REST address tenants and operators use.</summary>
    public Uri HttpUrl => Gateway is null ? Silos[0].HttpUrl : new Uri($"http://127.0.0.1:{_frontHttpPort}");

    /// <summary>The gRPC address tenants and agents use.</summary>
    public Uri GrpcUrl => Gateway is null ? Silos[0].GrpcUrl : new Uri($"http://127.0.0.1:{_frontGrpcPort}");

    /// <summary>Operator and tenant clients of the front door.</summary>
    public MeshApi Api { get; }

    /// <summary>One silo on PostgreSQL, co-hosting the gateway.</summary>
    public static async Task<ReliabilityMesh> StartSiloAsync(string connectionString, string clusterId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var silo = MeshProcess.StartSilo(connectionString, clusterId, ReliabilityProfile.Settings(settings));
        await ReadyOrDisposeAsync(silo);
        return new ReliabilityMesh(connectionString, clusterId, [silo], null, 0, 0);
    }

    /// <summary>
    /// <paramref name="silos"/> silos on PostgreSQL serving no API themselves, and one standalone gateway in front of
    /// them on fixed ports; returns once the gateway is ready and sees every silo active.
    /// </summary>
    public static async Task<ReliabilityMesh> StartClusterAsync(string connectionString, string clusterId, int silos,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var started = Enumerable.Range(0, silos)
            .Select(_ => MeshProcess.StartSilo(connectionString, clusterId, ReliabilityProfile.Settings(settings), coHostGateway: false))
            .ToList();
        try
        {
            await Task.WhenAll(started.Select(s => s.WaitReadyAsync()));
        }
        catch
        {
            foreach (var silo in started)
            {
                await silo.DisposeAsync();
            }

            throw;
        }

        var (http, grpc) = (FreePort.Get(), FreePort.Get());
        var gateway = StartGateway(connectionString, clusterId, http, grpc, settings);
        var mesh = new ReliabilityMesh(connectionString, clusterId, started, gateway, http, grpc);
        try
        {
            await gateway.WaitReadyAsync();
            await mesh.WaitForActiveSilosAsync(silos, TimeSpan.FromSeconds(60));
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts silo <paramref name="index"/> again (after a kill) on its former silo and gateway ports, and waits until it is ready.</summary>
    public async Task RestartSiloAsync(int index, IReadOnlyDictionary<string, string>? settings = null)
    {
        var old = Silos[index];
        await old.DisposeAsync();
        var silo = MeshProcess.StartSilo(ConnectionString, _clusterId, ReliabilityProfile.Settings(settings), coHostGateway: Gateway is null,
            siloPort: old.SiloPort, gatewayPort: old.GatewayPort);
        Silos[index] = silo;
        await silo.WaitReadyAsync();
    }

    /// <summary>SIGKILLs the standalone gateway.</summary>
    public void KillGateway() => (Gateway ?? throw new InvalidOperationException("This mesh has no standalone gateway.")).Kill();

    /// <summary>Starts the standalone gateway again on the same fixed ports and waits until it is ready.</summary>
    public async Task RestartGatewayAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var old = Gateway ?? throw new InvalidOperationException("This mesh has no standalone gateway.");
        await old.DisposeAsync();
        Gateway = StartGateway(ConnectionString, _clusterId, _frontHttpPort, _frontGrpcPort, settings);
        await Gateway.WaitReadyAsync();
    }

    /// <summary>Polls /status of the front door until it reports <paramref name="count"/> active silos.</summary>
    public async Task WaitForActiveSilosAsync(int count, TimeSpan timeout)
    {
        var active = await Eventually.WaitAsync(
            async () => (await MeshApi.JsonAsync(await Api.Anonymous.GetAsync("/status")))["cluster"]!["activeSilos"]!.GetValue<int>(),
            n => n == count, timeout, TimeSpan.FromMilliseconds(250));
        Assert.True(active == count, $"{active} active silo(s), expected {count}");
    }

    /// <summary>A fresh tenant (its own id, so that the audit sees only this scenario's jobs) and its key.</summary>
    public Task<(string TenantId, string Key)> CreateTenantAsync() => Api.CreateTenantAsync();

    /// <summary>A simulated fleet of the profile's size serving <paramref name="capability"/> through the front door.</summary>
    public SimulatedFleet NewFleet(ReliabilityProfile profile, string capability, string idPrefix, Uri? endpoint = null) => new(new SimulationOptions
    {
        Endpoint = endpoint ?? GrpcUrl,
        Count = profile.Agents,
        IdPrefix = idPrefix,
        Capabilities = capability,
        Concurrency = profile.AgentConcurrency,
        LatencyMs = profile.JobLatencyMs,
        LatencyJitterMs = profile.JobLatencyMs / 3,
        EnrollmentToken = MeshProcess.EnrollmentToken,
        RuntimeId = idPrefix + "runtime",
        ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
        ReconnectMaxDelay = TimeSpan.FromSeconds(2),
    });

    /// <summary>The profile's steady load for the tenant, over gRPC through the front door.</summary>
    public SteadyLoad NewLoad(ReliabilityProfile profile, string tenantKey, string capability, string keyPrefix)
    {
        var api = NewApi();
        return new SteadyLoad(new MeshOs.Grpc.V1.Jobs.JobsClient(api.Channel()), MeshApi.Key(tenantKey), capability, keyPrefix,
            profile.SubmitsPerSecond, profile.Submitters);
    }

    /// <summary>What the processes printed last, for a failure message.</summary>
    public string Tails(int lines = 25) => string.Join("\n", Silos.Select((s, i) => $"--- silo {i} ---\n{s.Tail(lines)}")
        .Append(Gateway is null ? string.Empty : $"--- gateway ---\n{Gateway.Tail(lines)}"));

    /// <summary>The lines of every process's output that mention <paramref name="text"/> (a job id, say), for a failure message.</summary>
    public string Grep(string text, int max = 30) => string.Join("\n", Silos.Select((s, i) => (Name: $"silo {i}", Process: s))
        .Concat(Gateway is null ? [] : [("gateway", Gateway)])
        .SelectMany(p => p.Process.Output.Split('\n').Where(l => l.Contains(text, StringComparison.OrdinalIgnoreCase)).Select(l => $"[{p.Name}] {l}"))
        .Take(max));

    /// <summary>
    /// Writes what every process printed to <c>reliability/logs/&lt;cluster id&gt;-&lt;process&gt;.log</c> under the test
    /// assembly's folder (kept for the latest run of each scenario, to read after a failure).
    /// </summary>
    public void SaveLogs()
    {
        try
        {
            var folder = Path.Combine(AppContext.BaseDirectory, "reliability", "logs");
            Directory.CreateDirectory(folder);
            for (var i = 0; i < Silos.Count; i++)
            {
                File.WriteAllText(Path.Combine(folder, $"{_clusterId}-silo{i}.log"), Silos[i].Output);
            }

            if (Gateway is not null)
            {
                File.WriteAllText(Path.Combine(folder, $"{_clusterId}-gateway.log"), Gateway.Output);
            }
        }
        catch (IOException)
        {
            // Diagnostics only.
        }
    }

    public async ValueTask DisposeAsync()
    {
        SaveLogs();
        foreach (var api in _apis)
        {
            api.Dispose();
        }

        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        foreach (var silo in Silos)
        {
            await silo.DisposeAsync();
        }
    }

    private MeshApi NewApi()
    {
        var api = new MeshApi(HttpUrl, GrpcUrl);
        _apis.Add(api);
        return api;
    }

    /// <summary>
    /// A standalone gateway that also listens on <paramref name="httpPort"/> (REST, HTTP/1.1) and
    /// <paramref name="grpcPort"/> (gRPC, HTTP/2): extra Kestrel endpoints beside the ones MeshProcess chooses.
    /// </summary>
    private static MeshProcess StartGateway(string connectionString, string clusterId, int httpPort, int grpcPort, IReadOnlyDictionary<string, string>? settings)
    {
        var all = ReliabilityProfile.Settings(settings);
        all["Kestrel:Endpoints:FrontHttp:Url"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}");
        all["Kestrel:Endpoints:FrontHttp:Protocols"] = "Http1";
        all["Kestrel:Endpoints:FrontGrpc:Url"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{grpcPort}");
        all["Kestrel:Endpoints:FrontGrpc:Protocols"] = "Http2";
        return MeshProcess.StartGateway(connectionString, clusterId, settings: all);
    }

    private static async Task ReadyOrDisposeAsync(MeshProcess process)
    {
        try
        {
            await process.WaitReadyAsync();
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }
}
