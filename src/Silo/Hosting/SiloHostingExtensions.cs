using System.Net;
using System.Net.Sockets;
using MeshOs.Gateway.Hosting;
using MeshOs.Grains.Hosting;
using MeshOs.Grains.Storage;
using MeshOs.Persistence.Hosting;
using MeshOs.Persistence.Orleans;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Serialization;
using Orleans.Storage;

namespace MeshOs.Silo.Hosting;

/// <summary>Builds the silo for one of the storage modes: embedded (in-memory, localhost) or PostgreSQL.</summary>
public static class SiloHostingExtensions
{
    /// <summary>
    /// Adds the Orleans silo with MeshOs' grains. With a connection string: migrations first (a hosted service that
    /// runs before the silo starts), then ADO.NET clustering, grain storage and reminders on PostgreSQL.
    /// </summary>
    public static WebApplicationBuilder AddMeshSilo(this WebApplicationBuilder builder, MeshClusterSettings cluster)
    {
        var siloOptions = builder.Configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        var membership = builder.Configuration.GetSection(MembershipOptions.Section).Get<MembershipOptions>() ?? new MembershipOptions();
        Validate(siloOptions);

        if (cluster.UsesPostgres)
        {
            // Registered before UseOrleans: hosted services start in order, so the schema exists before the silo reads it.
            builder.Services.AddMeshPostgres(cluster.ConnectionString!, builder.Configuration);
        }
        else
        {
            builder.Services.AddMeshInMemoryStores();
        }

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = membership.ProbeTimeout;
                o.NumMissedProbesLimit = membership.NumMissedProbesLimit;
                o.NumVotesForDeathDeclaration = membership.NumVotesForDeathDeclaration;
                o.TableRefreshTimeout = membership.TableRefreshTimeout;
                o.IAmAliveTablePublishTimeout = membership.IAmAliveTablePublishTimeout;
                o.DefunctSiloExpiration = membership.DefunctSiloExpiration;
            });

            if (cluster.UsesPostgres)
            {
                var advertised = ResolveAdvertisedAddress(siloOptions.AdvertisedIP);
                silo.ConfigureEndpoints(advertised, siloOptions.SiloPort, siloOptions.GatewayPort, listenOnAnyHostAddress: true);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = MeshClusterSettings.AdoNetInvariant;
                    o.ConnectionString = cluster.ConnectionString;
                });
                silo.AddAdoNetGrainStorage(MeshStorage.GrainStore, (OptionsBuilder<AdoNetGrainStorageOptions> storage) =>
                    storage.Configure<Serializer>((o, serializer) =>
                    {
                        o.Invariant = MeshClusterSettings.AdoNetInvariant;
                        o.ConnectionString = cluster.ConnectionString;
                        // Orleans' binary format: version-tolerant by [Id], and faithful for every [GenerateSerializer] type.
                        o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
                        // One row per grain identity: the provider's default key lets distinct grains share a row.
                        o.HashPicker = new GrainIdentityHashPicker();
                    }));
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = MeshClusterSettings.AdoNetInvariant;
                    o.ConnectionString = cluster.ConnectionString;
                });
            }
            else
            {
                silo.UseLocalhostClustering(siloOptions.SiloPort, siloOptions.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
                silo.AddMemoryGrainStorage(MeshStorage.GrainStore);
                silo.UseInMemoryReminderService();
            }

            silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = siloOptions.DirectoryCacheSize);
            silo.Configure<SiloOptions>(_ => { });
            silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = siloOptions.Name ?? $"{Environment.MachineName}:{siloOptions.SiloPort}");
            if (Gateway.Operations.TelemetryHostingExtensions.TracingEnabled(builder.Configuration))
            {
                // Trace context across grain calls costs a filter on every call: only when traces are exported.
                silo.AddActivityPropagation();
            }

            silo.AddMeshKernel(builder.Configuration);
            silo.AddMeshHealing(builder.Configuration);
            silo.AddMeshAudit(builder.Configuration);
            silo.AddMeshCompliance(builder.Configuration);
            silo.AddMeshCost(builder.Configuration);
            silo.AddMeshRouting(builder.Configuration);
            silo.AddMeshKpi(builder.Configuration);
            silo.AddDashboard();
            silo.Services.Configure<GrainProfilerOptions>(o =>
                o.DeactivationTime = builder.Configuration.GetValue("MeshOs:Dashboard:ProfilerIdleTimeout", TimeSpan.FromSeconds(10)));
        });

        return builder;
    }

    /// <summary>The silo's own ports, for the check that they are free before it starts.</summary>
    public static IEnumerable<PortGuard.Binding> Bindings(IConfiguration configuration, MeshClusterSettings cluster)
    {
        var options = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        var address = cluster.UsesPostgres ? IPAddress.Any : IPAddress.Loopback;
        return
        [
            new("silo-to-silo", address, options.SiloPort, "--" + MeshEndpoints.SiloPortKey),
            new("Orleans gateway for clients", address, options.GatewayPort, "--" + MeshEndpoints.GatewayPortKey),
        ];
    }

    private static void Validate(SiloOptions options)
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true))
        {
            throw new OptionsValidationException(SiloOptions.Section, typeof(SiloOptions), results.Select(r => $"{SiloOptions.Section}: {r.ErrorMessage}"));
        }
    }

    private static IPAddress ResolveAdvertisedAddress(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return IPAddress.TryParse(configured, out var ip)
                ? ip
                : Dns.GetHostAddresses(configured).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }

        return Dns.GetHostAddresses(Dns.GetHostName())
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? IPAddress.Loopback;
    }
}
