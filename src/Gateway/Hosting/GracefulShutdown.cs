using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Hosting;

/// <summary>How a MeshOs process stops on Ctrl+C or SIGTERM. Section <c>MeshOs:Shutdown</c>.</summary>
public sealed class ShutdownOptions
{
    public const string Section = "MeshOs:Shutdown";

    /// <summary>
    /// The longest a stop may take: open requests end, agent streams and long-polls are closed at once (their agents
    /// reconnect elsewhere), then the silo leaves the cluster and deactivates its grains. Default 3 s (the process then
    /// exits well within 5 s even on a busy machine); must be positive.
    /// A stop that would take longer is cut short (and logged by Orleans as non-graceful).
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// A prompt, graceful stop: without it the server waits for every open request before the silo may stop, and agent
/// streams, event streams and lease long-polls never end by themselves, so a stop took the host's whole 30 s and the
/// silo was then cut off (non-graceful).
/// </summary>
public static class GracefulShutdown
{
    /// <summary>Binds and validates <see cref="ShutdownOptions"/> and makes the host's stop timeout follow it.</summary>
    public static IServiceCollection AddMeshShutdown(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ShutdownOptions>().Bind(configuration.GetSection(ShutdownOptions.Section))
            .Validate(o => o.Timeout > TimeSpan.Zero, $"{ShutdownOptions.Section}:Timeout must be positive.")
            .ValidateOnStart();
        services.AddOptions<HostOptions>().Configure<IOptions<ShutdownOptions>>((host, shutdown) =>
        {
            host.ShutdownTimeout = shutdown.Value.Timeout;

            // The silo starts leaving the cluster (ShuttingDown, told to the others at once) while the server closes
            // its connections, instead of after it: the other silos stop sending it work sooner.
            host.ServicesStopConcurrently = true;
        });
        return services;
    }

    /// <summary>
    /// Cancels every request's <see cref="HttpContext.RequestAborted"/> when the process starts stopping, so streams
    /// (gRPC agent channels, Watch, server-sent events) and long-polls end at once instead of holding the stop.
    /// </summary>
    public static IApplicationBuilder UseMeshShutdown(this IApplicationBuilder app)
    {
        var stopping = app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        return app.Use(async (context, next) =>
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            context.RequestAborted = linked.Token;
            await next(context);
        });
    }
}
