using System.Text.Json;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Tenants;
using MeshOs.AgentSim;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Hosting;
using MeshOs.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace MeshOs.Silo.Demo;

/// <summary>
/// Makes the embedded mode show something at once: a demo tenant (its key printed once), a few simulated agents
/// connected over gRPC like any other, and a steady trickle of jobs submitted as that tenant.
/// </summary>
internal sealed partial class DemoFleetService(
    IGrainFactory grains,
    JobsService jobs,
    IOptions<DemoOptions> options,
    IOptions<GatewaySecurityOptions> security,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggerFactory,
    IServiceProvider services,
    ILogger<DemoFleetService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await WaitForStartAsync(stoppingToken))
        {
            return;
        }

        var demo = options.Value;
        TenantPrincipal tenant;
        try
        {
            tenant = await EnsureTenantAsync(demo.TenantId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDemoFailed(logger, ex.GetBaseException().Message);
            return;
        }

        var (_, grpc) = MeshDefaults.Endpoints(configuration);
        await using var fleet = new SimulatedFleet(new SimulationOptions
        {
            Endpoint = new Uri(Loopback(grpc)),
            Count = Math.Max(demo.Agents, 1),
            IdPrefix = "demo-agent-",
            Capabilities = "echo",
            Concurrency = 2,
            LatencyMs = demo.LatencyMs,
            LatencyJitterMs = demo.LatencyMs / 3,
            EnrollmentToken = security.Value.EnrollmentToken,
        }, loggerFactory);
        if (demo.Agents > 0)
        {
            await fleet.StartAsync();
        }

        LogDemoStarted(logger, demo.Agents, demo.JobsPerSecond, tenant.TenantId);
        if (demo.JobsPerSecond <= 0)
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        var caller = MeshCaller.Internal(tenant, "demo");
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / demo.JobsPerSecond));
        var n = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                n++;
                var payload = JsonSerializer.Serialize(new { prompt = $"demo job {n}", n });
                try
                {
                    var input = new SubmitInput("demo.echo", "echo", "platform", payload, n % 10, null, null, null, null, null, null);
                    if ((await jobs.SubmitAsync(caller, input, stoppingToken)).Refusal is { } refusal)
                    {
                        LogSubmitRefused(logger, refusal.Message);
                    }
                }
                catch (Exception ex) when (ex is MeshException or RateLimitedException)
                {
                    LogSubmitRefused(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> WaitForStartAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        try
        {
            await started.Task.WaitAsync(stoppingToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<TenantPrincipal> EnsureTenantAsync(string tenantId)
    {
        var grain = grains.GetGrain<ITenantGrain>(tenantId);
        var info = await grain.GetAsync() ?? await grain.CreateAsync(new TenantSpec("Demo tenant", TenantKind.Customer, TenantQuotas.Default, ["platform"]));
        var key = await grain.IssueKeyAsync("demo " + DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        LogDemoKey(logger, tenantId, key.Key, StartupBanner.BoundUrls(services).Http);
        return new TenantPrincipal(info.TenantId, info.Kind, info.Quotas, info.Pools, 0);
    }

    /// <summary>Agents in this process connect to the local endpoint even when it listens on every interface.</summary>
    private static string Loopback(string url) =>
        url.Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://localhost", "://127.0.0.1", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = """
        Demo tenant '{TenantId}' API key (shown once; jobs submitted with it appear in the demo):
          {Key}
        Try:  curl -s -H "x-api-key: {Key}" {Http}/v1/jobs?limit=5
        """)]
    private static partial void LogDemoKey(ILogger logger, string tenantId, string key, string http);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo: {Agents} simulated agent(s), {Rate} job(s)/s as tenant '{TenantId}'")]
    private static partial void LogDemoStarted(ILogger logger, int agents, double rate, string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo: could not start: {Reason}")]
    private static partial void LogDemoFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Demo: submit refused: {Reason}")]
    private static partial void LogSubmitRefused(ILogger logger, string reason);
}
