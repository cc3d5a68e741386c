using System.Globalization;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Incidents;
using MeshOs.Grains.Events;
using MeshOs.Grains.Hosting;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using MeshOs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace MeshOs.Tests.Cluster.Healing;

/// <summary>
/// A one-silo in-process cluster with the kernel, the healing supervisor and incident management, every interval
/// shortened so that deaths, restarts, quarantines, escalations and reminders happen within a second or two of mesh
/// time. Mesh time is <see cref="Clock"/>'s: it moves in steps of the supervisor's tick, the test agents heartbeat
/// before each step, and each step ends when the timer ticks it made due have run. Its
/// stores are its own (not <see cref="MeshClusterFixture"/>'s), so the supervisor sees only this cluster's events.
/// Incident notifications go to <see cref="Webhooks"/>, a local HTTP listener.
/// </summary>
public sealed class HealingClusterFixture : IAsyncLifetime
{
    public const string WebhookSecret = "whsec_cluster_test_0123456789";

    /// <summary>Heartbeats every 300 ms; three missed → Unresponsive after 0.9 s of silence.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromMilliseconds(300);

    public static readonly TimeSpan UnresponsiveAfter = HeartbeatInterval * 3;

    public static readonly TimeSpan DeadAfter = TimeSpan.FromMilliseconds(300);

    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan RestartInitialBackoff = TimeSpan.FromMilliseconds(400);

    public static readonly TimeSpan RestartMaxBackoff = TimeSpan.FromSeconds(1);

    public const int QuarantineFailures = 2;

    public static readonly TimeSpan Probation = TimeSpan.FromMilliseconds(1_500);

    public const int QueuePressureThreshold = 3;

    public static readonly TimeSpan QueuePressureDuration = TimeSpan.FromSeconds(1);

    /// <summary>Each of the three tiers has one second to acknowledge.</summary>
    public static readonly TimeSpan TierResponseTime = TimeSpan.FromSeconds(1);

    /// <summary>P1 incidents that are acknowledged (or at the top tier) are notified again every second.</summary>
    public static readonly TimeSpan P1RenotifyInterval = TimeSpan.FromSeconds(1);

    /// <summary>The supervisor's tick and the event pumps' interval: one step of mesh time.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan QueueCheckInterval = TimeSpan.FromMilliseconds(200);

    public static readonly TimeSpan DegradationCheckInterval = TimeSpan.FromSeconds(1);

    internal static readonly ClusterClock SharedClock = new(TickInterval);

    internal static readonly InMemoryEventLog EventLog = new(SharedClock.Time);

    internal static readonly InMemoryJobStore JobStore = new(EventLog);

    internal static readonly InMemoryAgentStore AgentStore = new(EventLog);

    /// <summary>Started before the silo, whose settings name its address.</summary>
    internal static readonly WebhookReceiver Webhooks = WebhookReceiver.Start();

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public ClusterClock Clock => SharedClock;

    public IHealingSupervisorGrain Healing => Grains.GetGrain<IHealingSupervisorGrain>("default");

    public IIncidentDirectoryGrain Incidents => Grains.GetGrain<IIncidentDirectoryGrain>(0);

    internal static Dictionary<string, string?> Settings => new()
    {
        ["MeshOs:Agents:HeartbeatInterval"] = Format(HeartbeatInterval),
        ["MeshOs:Agents:MissedHeartbeats"] = "3",
        ["MeshOs:Jobs:LeaseDuration"] = Format(LeaseDuration),
        ["MeshOs:Jobs:RecoveryGrace"] = "00:00:01",
        ["MeshOs:Jobs:LingerAfterFinish"] = "00:00:01",
        ["MeshOs:Dispatch:ShardsPerQueue"] = "1",
        ["MeshOs:Dispatch:ReconcileInterval"] = "00:00:02",
        ["MeshOs:Dispatch:ReconcileMinAge"] = "00:00:01",
        ["MeshOs:Dispatch:LeaseSweepInterval"] = "00:00:01",
        ["MeshOs:Events:PumpInterval"] = Format(TickInterval),
        ["MeshOs:Healing:TickInterval"] = Format(TickInterval),
        ["MeshOs:Healing:DeadAfter"] = Format(DeadAfter),
        ["MeshOs:Healing:RestartInitialBackoff"] = Format(RestartInitialBackoff),
        ["MeshOs:Healing:RestartMaxBackoff"] = Format(RestartMaxBackoff),
        ["MeshOs:Healing:QuarantineFailures"] = QuarantineFailures.ToString(CultureInfo.InvariantCulture),
        ["MeshOs:Healing:QuarantineWindow"] = "00:05:00",
        ["MeshOs:Healing:Probation"] = Format(Probation),
        ["MeshOs:Healing:QueuePressureThreshold"] = QueuePressureThreshold.ToString(CultureInfo.InvariantCulture),
        ["MeshOs:Healing:QueuePressureDuration"] = Format(QueuePressureDuration),
        ["MeshOs:Healing:QueueCheckInterval"] = Format(QueueCheckInterval),
        ["MeshOs:Healing:DegradationCheckInterval"] = Format(DegradationCheckInterval),
        ["MeshOs:Incidents:Tiers:0:Name"] = "Tier 1 on-call",
        ["MeshOs:Incidents:Tiers:0:ResponseTime"] = Format(TierResponseTime),
        ["MeshOs:Incidents:Tiers:1:Name"] = "Tier 2 engineering lead",
        ["MeshOs:Incidents:Tiers:1:ResponseTime"] = Format(TierResponseTime),
        ["MeshOs:Incidents:Tiers:2:Name"] = "Tier 3 leadership",
        ["MeshOs:Incidents:Tiers:2:ResponseTime"] = Format(TierResponseTime),
        ["MeshOs:Incidents:Policies:P1:RenotifyInterval"] = Format(P1RenotifyInterval),
        ["MeshOs:Incidents:Webhooks:0:Name"] = "test-receiver",
        ["MeshOs:Incidents:Webhooks:0:Url"] = Webhooks.Url.ToString(),
        ["MeshOs:Incidents:Webhooks:0:Secret"] = WebhookSecret,
        ["MeshOs:Incidents:WebhookAttempts"] = "3",
        ["MeshOs:Incidents:WebhookRetryDelay"] = "00:00:00.100",
    };

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();

        // The supervisor activates with its pump; make sure both run before the first test.
        await Grains.GetGrain<IEventPumpGrain>("healing").StartAsync();
        await Healing.GetReportAsync(0);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await Webhooks.DisposeAsync();
    }

    /// <summary>
    /// A pool (and capability) name no other test uses, one of the platform's own: the test agents are platform agents,
    /// and another owner's pool would need that owner's grant.
    /// </summary>
    public static string NewPool(string prefix) => $"platform/{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    private static string Format(TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);

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
            siloBuilder.AddMeshKernel(configuration);
            siloBuilder.AddMeshHealing(configuration);
            siloBuilder.AddMeshAudit(configuration);
            siloBuilder.AddMeshEventConsumer<IRecordingConsumerGrain>("healing-recorder", "healing");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class HealingClusterCollection : ICollectionFixture<HealingClusterFixture>
{
    public const string Name = "healing cluster";
}
