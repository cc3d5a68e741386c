using System.Net;
using MeshOs.Grains.Hosting;
using MeshOs.Grains.Storage;
using MeshOs.Persistence.Hosting;
using MeshOs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>
/// A one-silo host running the MeshOs kernel (agents, jobs, dispatch, events) on PostgreSQL, configured as the MeshOs
/// silo configures it (the stores through <c>AddMeshPostgres</c>, Orleans' ADO.NET providers), on its own free ports.
/// </summary>
internal sealed class KernelSilo : IAsyncDisposable
{
    private readonly IHost _host;

    private KernelSilo(IHost host, TestSilo.ErrorLog errors)
    {
        _host = host;
        Errors = errors;
    }

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    /// <summary>Error and critical log entries written by the silo so far.</summary>
    public TestSilo.ErrorLog Errors { get; }

    /// <param name="settings">Configuration over the defaults (for example <c>MeshOs:Agents:HeartbeatInterval</c>).</param>
    public static async Task<KernelSilo> StartAsync(string connectionString, IReadOnlyDictionary<string, string?> settings)
    {
        var errors = new TestSilo.ErrorLog();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(errors);
        builder.Services.AddMeshPostgres(connectionString, builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = TestSilo.ClusterId;
                options.ServiceId = TestSilo.ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort.Get(), FreePort.Get());
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = TestSilo.Invariant;
                options.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(MeshStorage.GrainStore, options =>
            {
                options.Invariant = TestSilo.Invariant;
                options.ConnectionString = connectionString;
            });
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = TestSilo.Invariant;
                options.ConnectionString = connectionString;
            });
            silo.AddMeshKernel(builder.Configuration);
        });

        var host = builder.Build();
        await host.StartAsync();
        return new KernelSilo(host, errors);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
