using System.Text.Json;
using MeshOs.Abstractions.Cluster;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MeshOs.Gateway.Operations;

/// <summary>/health/live, /health/ready, /health, /status and /metrics.</summary>
public static class OperationsApi
{
    internal const string ReadyTag = "ready";

    /// <summary>Registers the readiness checks behind /health/ready.</summary>
    /// <summary>The names grpc.health.v1 answers for: the server as a whole and every MeshOs gRPC service.</summary>
    public static readonly string[] GrpcHealthServices =
        ["", "meshos.v1.Jobs", "meshos.v1.AgentChannel", "meshos.v1.RuntimeChannel", "meshos.v1.Incidents", "meshos.v1.Fleet"];

    public static IServiceCollection AddMeshHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ClusterConnectedCheck>("cluster", tags: [ReadyTag])
            .AddCheck<StorageReachableCheck>("storage", tags: [ReadyTag]);

        // grpc.health.v1 (Kubernetes gRPC probes, grpcurl): the overall server ("") and each MeshOs service answer
        // SERVING exactly when /health/ready is healthy; each Check runs the checks (no cached answer).
        services.AddGrpcHealthChecks(o =>
        {
            foreach (var service in GrpcHealthServices)
            {
                o.Services.Map(service, r => r.Tags.Contains(ReadyTag));
            }
        });
        services.AddGrpcReflection();
        return services;
    }

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app, string role, string storageMode)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync })
            .WithTags("Operations").WithSummary("Liveness: the process answers.").ExcludeFromDescription();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteHealthAsync })
            .WithTags("Operations").ExcludeFromDescription();
        app.MapGet("/health", GetHealthAsync)
            .WithName("GetHealth").WithTags("Operations").WithSummary("Liveness and readiness with each check's details.");
        app.MapGet("/status", (IGrainFactory grains, CancellationToken ct) => GetStatusAsync(grains, role, storageMode, ct))
            .WithName("GetStatus").WithTags("Operations").WithSummary("Version, uptime, cluster members, agents by state, jobs by status.");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    private static async Task<IResult> GetHealthAsync(HealthCheckService health, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains(ReadyTag), ct);
        var ready = report.Status == HealthStatus.Healthy;
        var body = new
        {
            status = ready ? "Healthy" : "Unhealthy",
            live = new { status = "Healthy" },
            ready = new { status = report.Status.ToString(), durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 2) },
            checks = report.Entries.Select(e => new
            {
                name = e.Key,
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 2),
                data = e.Value.Data,
            }),
        };
        return Results.Json(body, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> GetStatusAsync(IGrainFactory grains, string role, string storageMode, CancellationToken ct)
    {
        var status = grains.GetGrain<IStatusGrain>(0);
        var errors = new List<string>();
        var members = await TryAsync(async () => (await status.GetMembersAsync()).ToList(), errors, ct);
        var counts = await TryAsync(() => status.GetCountsAsync(), errors, ct);
        var now = DateTimeOffset.UtcNow;
        return Results.Json(new
        {
            service = "MeshOs",
            version = MeshVersion.Current,
            role,
            storage = storageMode,
            startedAt = MeshVersion.StartedAt,
            uptimeSeconds = Math.Round((now - MeshVersion.StartedAt).TotalSeconds, 1),
            cluster = new
            {
                activeSilos = members?.Count(m => m.Status == "Active") ?? 0,
                members = members?.Select(m => new { address = m.Address, name = m.Name, status = m.Status }),
            },
            agents = Ordered<Abstractions.Agents.AgentState, int>(counts?.AgentsByState),
            jobs = Ordered<Abstractions.Jobs.JobStatus, long>(counts?.JobsByStatus),
            errors,
        });
    }

    /// <summary>Counts keyed by state name, in the order the states are declared (not hash order).</summary>
    private static Dictionary<string, TValue>? Ordered<TEnum, TValue>(IReadOnlyDictionary<string, TValue>? counts)
        where TEnum : struct, Enum =>
        counts is null ? null : Enum.GetNames<TEnum>().Where(counts.ContainsKey).ToDictionary(name => name, name => counts[name]);

    private static async Task<T?> TryAsync<T>(Func<Task<T>> call, List<string> errors, CancellationToken ct)
        where T : class
    {
        try
        {
            return await call().WaitAsync(TimeSpan.FromSeconds(5), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            errors.Add(ex.GetBaseException().Message);
            return null;
        }
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, cancellationToken: context.RequestAborted);
    }
}
