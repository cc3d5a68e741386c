using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace MeshOs.Gateway.Hosting;

/// <summary>Prints where a process serves what, once it listens: the addresses the server actually bound.</summary>
public static partial class StartupBanner
{
    public static WebApplication AnnounceAddresses(this WebApplication app, string role, MeshClusterSettings cluster)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var (http, grpc) = BoundUrls(app.Services);
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MeshOs");
            LogAddresses(logger, role, cluster.StorageMode, http, grpc);
        });
        app.AnnounceStop(role);
        return app;
    }

    /// <summary>
    /// Logs the stop as it ends: graceful when everything stopped within <see cref="ShutdownOptions.Timeout"/>,
    /// otherwise cut short. The line operators (and the stop tests) look for.
    /// </summary>
    private static void AnnounceStop(this WebApplication app, string role)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MeshOs");
        var time = app.Services.GetRequiredService<TimeProvider>();
        var limit = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ShutdownOptions>>().Value.Timeout;
        long started = 0;
        app.Lifetime.ApplicationStopping.Register(() => started = time.GetTimestamp());
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            var took = time.GetElapsedTime(started);
            if (took < limit)
            {
                LogStoppedGracefully(logger, role, took.TotalSeconds);
            }
            else
            {
                LogStopCutShort(logger, role, limit.TotalSeconds);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "MeshOs {Role} stopped gracefully in {Seconds:0.00} s")]
    private static partial void LogStoppedGracefully(ILogger logger, string role, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MeshOs {Role} stop was cut short at its {Seconds:0.#} s limit (MeshOs:Shutdown:Timeout)")]
    private static partial void LogStopCutShort(ILogger logger, string role, double seconds);

    /// <summary>
    /// The REST and gRPC URLs as bound (from the server's addresses feature, so a port 0 shows the port it got), in a
    /// form a client on this machine can use (a wildcard host shown as localhost). Before the server listens: as
    /// configured.
    /// </summary>
    public static (string Http, string Grpc) BoundUrls(IServiceProvider services)
    {
        var (http, grpc) = MeshDefaults.Endpoints(services.GetRequiredService<IConfiguration>());
        var bound = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        return (Display(Pick(bound, http, grpc)), Display(Pick(bound, grpc, http)));
    }

    /// <summary>The bound address of the endpoint configured as <paramref name="configured"/>.</summary>
    private static string Pick(ICollection<string> bound, string configured, string other)
    {
        var port = MeshEndpoints.PortOf(configured);
        var otherPort = MeshEndpoints.PortOf(other);
        var match = port != 0
            ? bound.FirstOrDefault(a => MeshEndpoints.PortOf(a) == port)
            : bound.FirstOrDefault(a => MeshEndpoints.PortOf(a) != otherPort); // port 0: the one that is not the other's
        return match ?? configured;
    }

    private static string Display(string url) =>
        url.Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .TrimEnd('/');

    [LoggerMessage(Level = LogLevel.Information, Message = """
        MeshOs {Role} is running ({Mode} storage)
          REST API:   {Http}/v1   (API docs: {Http}/docs)
          gRPC:       {Grpc}
          Console:    {Http}/console   (log in with the operator key or a tenant key)
          Dashboard:  {Http}/dashboard
          Health:     {Http}/health   Status: {Http}/status   Metrics: {Http}/metrics
        """)]
    private static partial void LogAddresses(ILogger logger, string role, string mode, string http, string grpc);
}
