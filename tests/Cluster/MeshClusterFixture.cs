using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Cost;
using MeshOs.Grains.Events;
using MeshOs.Grains.Hosting;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace MeshOs.Tests.Cluster;

/// <summary>
/// A two-silo in-process cluster with the kernel on in-memory stores. The stores are shared by both silos (as one
/// database would be), so a job written through one silo is visible to the other. Mesh time is
/// <see cref="Clock"/>'s: leases expire and events are pumped only as a test moves it.
/// </summary>
public sealed class MeshClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan LeaseSweepInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan PumpInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan RecoveryGrace = TimeSpan.FromSeconds(1);

    /// <summary>Settings every silo of the test cluster gets: short leases and intervals so tests run in seconds.</summary>
    internal static readonly Dictionary<string, string?> Settings = new()
    {
        ["MeshOs:Agents:HeartbeatInterval"] = "00:00:00.500",
        ["MeshOs:Agents:MissedHeartbeats"] = "3",
        ["MeshOs:Jobs:LeaseDuration"] = Format(LeaseDuration),
        ["MeshOs:Jobs:RecoveryGrace"] = Format(RecoveryGrace),
        ["MeshOs:Jobs:LingerAfterFinish"] = "00:00:01",
        ["MeshOs:Dispatch:ShardsPerQueue"] = "2",
        ["MeshOs:Dispatch:ReconcileInterval"] = Format(ReconcileInterval),
        ["MeshOs:Dispatch:ReconcileMinAge"] = "00:00:01",
        ["MeshOs:Dispatch:LeaseSweepInterval"] = Format(LeaseSweepInterval),
        ["MeshOs:Events:PumpInterval"] = Format(PumpInterval),
        ["MeshOs:Compliance:Enabled"] = "false", // no periodic scans: tests scan when they mean to
        ["MeshOs:Kpi:SettleDelay"] = "00:00:01", // SLI tests report minutes in the past and close them at once
    };

    /// <summary>Steps of the shortest interval configured (the pump's).</summary>
    internal static readonly ClusterClock SharedClock = new(PumpInterval);

    internal static readonly InMemoryEventLog EventLog = new(SharedClock.Time);

    internal static readonly InMemoryJobStore JobStore = new(EventLog);

    internal static readonly InMemoryAgentStore AgentStore = new(EventLog);

    internal static readonly InMemoryCostStore CostStore = new();

    internal static readonly MeshOs.Grains.Kpi.InMemoryKpiStore KpiStore = new();

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public ClusterClock Clock => SharedClock;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>Creates a tenant with a fresh id allowed to use <paramref name="pools"/> (default: platform).</summary>
    public async Task<TenantInfo> CreateTenantAsync(TenantQuotas? quotas = null, params string[] pools)
    {
        var id = "t" + Guid.NewGuid().ToString("N")[..10];
        return await Grains.GetGrain<ITenantGrain>(id).CreateAsync(new TenantSpec(id, TenantKind.Customer, quotas ?? TenantQuotas.Default,
            pools.Length == 0 ? ["platform"] : [.. pools]));
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings).Build();
            SharedClock.Drive(siloBuilder);
            siloBuilder.AddMemoryGrainStorage(MeshStorage.GrainStore);
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.Services.AddSingleton<IEventLog>(EventLog);
            siloBuilder.Services.AddSingleton<IJobStore>(JobStore);
            siloBuilder.Services.AddSingleton<IAgentStore>(AgentStore);
            siloBuilder.Services.AddSingleton<IStorageProbe, InMemoryStorageProbe>();
            siloBuilder.Services.AddSingleton<ICostStore>(CostStore);
            siloBuilder.AddMeshKernel(configuration);
            siloBuilder.AddMeshCompliance(configuration);
            siloBuilder.AddMeshCost(configuration);
            siloBuilder.AddMeshRouting(configuration);
            siloBuilder.Services.AddSingleton<MeshOs.Grains.Kpi.IKpiStore>(KpiStore);
            siloBuilder.AddMeshKpi(configuration);
            // Incidents (raised by a fast burn) notify through the notifier; no webhook is configured, so nothing is sent.
            siloBuilder.Services.AddHttpClient(MeshOs.Grains.Incidents.IncidentNotifier.HttpClientName);
            siloBuilder.Services.AddSingleton<MeshOs.Grains.Incidents.IncidentNotifier>();
            siloBuilder.AddMeshEventConsumer<IRecordingConsumerGrain>("test-recorder", "all");
        }
    }

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}

[CollectionDefinition(Name)]
public sealed class MeshClusterCollection : ICollectionFixture<MeshClusterFixture>
{
    public const string Name = "mesh cluster";
}

/// <summary>A consumer that records every event it is given, for tests of event delivery.</summary>
public interface IRecordingConsumerGrain : IMeshEventConsumer
{
    Task<ImmutableArray<MeshEvent>> GetEventsAsync();
}

internal sealed class RecordingConsumerGrain : Grain, IRecordingConsumerGrain
{
    private readonly List<MeshEvent> _events = [];

    public Task OnEventsAsync(ImmutableArray<MeshEvent> events)
    {
        foreach (var e in events)
        {
            if (_events.Count == 0 || e.Position > _events[^1].Position)
            {
                _events.Add(e);
            }
        }

        return Task.CompletedTask;
    }

    public Task<ImmutableArray<MeshEvent>> GetEventsAsync() => Task.FromResult(_events.ToImmutableArray());
}
