using MeshOs.Persistence.Orleans;
using System.Collections.Concurrent;
using System.Net;
using MeshOs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace MeshOs.Tests.Postgres.Silo;

/// <summary>
/// A one-silo Orleans host on PostgreSQL through the three ADO.NET providers (clustering, grain storage,
/// reminders), as the MeshOs silo will configure them, on its own free ports.
/// </summary>
internal sealed class TestSilo : IAsyncDisposable
{
    public const string Invariant = "Npgsql";
    public const string ClusterId = "meshos-test";
    public const string ServiceId = "meshos";

    /// <summary>Grain storage with the provider's default hashes.</summary>
    public const string StorageName = "store";

    /// <summary>Grain storage whose hashes include the full grain id (<see cref="GrainIdentityHashPicker"/>).</summary>
    public const string IdentityStorageName = "store-by-identity";

    /// <summary>Grain storage that deletes the row on clear (DeleteStorageKey).</summary>
    public const string DeletingStorageName = "store-deleting";

    private readonly IHost _host;
    private bool _stopped;

    private TestSilo(IHost host, ErrorLog errors)
    {
        _host = host;
        Errors = errors;
    }

    public IServiceProvider Services => _host.Services;

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>Error and critical log entries written by the silo so far.</summary>
    public ErrorLog Errors { get; }

    public static async Task<TestSilo> StartAsync(string connectionString)
    {
        var errors = new ErrorLog();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(errors);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = ClusterId;
                options.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort.Get(), FreePort.Get());
            silo.UseAdoNetClustering(options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(StorageName, options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
            });
            silo.AddAdoNetGrainStorage(IdentityStorageName, options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
                options.HashPicker = new GrainIdentityHashPicker();
            });
            silo.AddAdoNetGrainStorage(DeletingStorageName, options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
                options.DeleteStateOnClear = true;
            });
            silo.UseAdoNetReminderService(options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
            });
        });

        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host, errors);
    }

    /// <summary>Starts an Orleans client that finds the silo through the gateway query of the clustering table.</summary>
    public static async Task<IHost> StartClientAsync(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = ClusterId;
                options.ServiceId = ServiceId;
            });
            client.UseAdoNetClustering(options =>
            {
                options.Invariant = Invariant;
                options.ConnectionString = connectionString;
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Stops the silo gracefully: it marks itself dead in the membership table.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _host.Dispose();
    }

    /// <summary>Collects what the silo logs at Error and above, so tests can assert the providers stayed quiet.</summary>
    internal sealed class ErrorLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _entries = new();

        public IReadOnlyCollection<string> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    entries.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
