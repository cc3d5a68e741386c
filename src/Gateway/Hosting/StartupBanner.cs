namespace MeshOs.Gateway.Hosting;

/// <summary>Prints where a process serves what, once it listens.</summary>
public static partial class StartupBanner
{
    public static WebApplication AnnounceAddresses(this WebApplication app, string role, MeshClusterSettings cluster)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var (http, grpc) = MeshDefaults.Endpoints(app.Configuration);
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MeshOs");
            LogAddresses(logger, role, cluster.StorageMode, Display(http), Display(grpc));
        });
        return app;
    }

    private static string Display(string url) =>
        url.Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .TrimEnd('/');

    [LoggerMessage(Level = LogLevel.Information, Message = """
        MeshOs {Role} is running ({Mode} storage)
          REST API:   {Http}/v1   (API docs: {Http}/docs)
          gRPC:       {Grpc}
          Dashboard:  {Http}/dashboard
          Health:     {Http}/health   Status: {Http}/status   Metrics: {Http}/metrics
        """)]
    private static partial void LogAddresses(ILogger logger, string role, string mode, string http, string grpc);
}
