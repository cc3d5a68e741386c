using MeshOs.Abstractions.Events;
using MeshOs.Grains.Cluster;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.LoadShedding;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Kernel.Dispatch;
using MeshOs.Grains.Kernel.Jobs;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MeshOs.Grains.Hosting;

/// <summary>Adds the mesh kernel (tenants, agents, jobs, dispatch, events) to a silo.</summary>
public static class KernelHostingExtensions
{
    public static ISiloBuilder AddMeshKernel(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<AgentOptions>().Bind(configuration.GetSection(AgentOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<JobOptions>().Bind(configuration.GetSection(JobOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DispatchOptions>().Bind(configuration.GetSection(DispatchOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AdmissionOptions>().Bind(configuration.GetSection(AdmissionOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<EventOptions>().Bind(configuration.GetSection(EventOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<MeshCountsReader>();
        services.AddSingleton<EventPublisher>();
        services.AddSingleton<QueueReferences>();
        services.AddHostedService(sp => sp.GetRequiredService<EventPublisher>());
        services.AddSingleton<JobRetention>();
        services.AddSingleton<EventRetention>();
        services.AddHostedService<EventMaintenanceService>();
        return silo;
    }

    /// <summary>Registers a supervisor that consumes the event log: a pump named <paramref name="name"/> delivers to grain <typeparamref name="TConsumer"/>/<paramref name="key"/>.</summary>
    public static ISiloBuilder AddMeshEventConsumer<TConsumer>(this ISiloBuilder silo, string name, string key = "default", int? batchSize = null, TimeSpan? interval = null)
        where TConsumer : IMeshEventConsumer
    {
        silo.Services.Configure<EventOptions>(o => o.Consumers.Add(new EventConsumerRegistration(name, typeof(TConsumer), key, batchSize, interval)));
        return silo;
    }

    /// <summary>The embedded mode's stores: jobs, agents, events and the storage probe in process memory.</summary>
    public static IServiceCollection AddMeshInMemoryStores(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<IEventLog, InMemoryEventLog>();
        services.AddSingleton<IJobStore, InMemoryJobStore>();
        services.AddSingleton<IAgentStore, InMemoryAgentStore>();
        services.AddSingleton<IStorageProbe, InMemoryStorageProbe>();
        services.AddSingleton<Cost.ICostStore, Cost.InMemoryCostStore>();
        services.AddSingleton<Kpi.IKpiStore, Kpi.InMemoryKpiStore>();
        return services;
    }
}
