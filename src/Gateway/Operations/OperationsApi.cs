using System.Text.Json;
using MeshOs.Abstractions.Cluster;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MeshOs.Gateway.Operations;

/// <summary>/health/live, /health/ready, /health, /status and /metrics.</summary>
public static class OperationsApi
{
    internal const string ReadyTag = "ready";

    /// <summary>The names grpc.health.v1 answers for: the server as a whole and every MeshOs gRPC service.</summary>
    public static readonly string[] GrpcHealthServices =
        ["", "meshos.v1.Jobs", "meshos.v1.AgentChannel", "meshos.v1.RuntimeChannel", "meshos.v1.Incidents", "meshos.v1.Fleet", "meshos.v1.OperatorKeys", "meshos.v1.Audit"];

    /// <summary>Registers the readiness checks behind /health/ready and grpc.health.v1, and gRPC server reflection.</summary>
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
        var time = app.ServiceProvider.GetRequiredService<TimeProvider>();
        var startedAt = time.GetUtcNow();
        app.MapGet("/status", (IGrainFactory grains, CancellationToken ct) => GetStatusAsync(grains, role, storageMode, time, startedAt, ct))
            .WithName("GetStatus").WithTags("Operations")
            .WithSummary("Version, uptime, cluster members, agents (total and by state), jobs (total and by status).");
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

    private static async Task<Ok<StatusReport>> GetStatusAsync(IGrainFactory grains, string role, string storageMode, TimeProvider time,
        DateTimeOffset startedAt, CancellationToken ct)
    {
        var status = grains.GetGrain<IStatusGrain>(0);
        var errors = new List<string>();
        var members = await TryAsync(async () => (await status.GetMembersAsync()).ToList(), errors, ct);
        var counts = await TryAsync(() => status.GetCountsAsync(), errors, ct);
        return TypedResults.Ok(new StatusReport(
            "MeshOs",
            MeshVersion.Current,
            role,
            storageMode,
            startedAt,
            Math.Round((time.GetUtcNow() - startedAt).TotalSeconds, 1),
            new ClusterStatus(members?.Count(m => m.Status == "Active") ?? 0, members?.Select(m => new MemberStatus(m.Address, m.Name, m.Status)).ToList()),
            WithTotal<Abstractions.Agents.AgentState>(counts?.AgentsByState.ToDictionary(c => c.Key, c => (long)c.Value)),
            WithTotal<Abstractions.Jobs.JobStatus>(counts?.JobsByStatus),
            errors));
    }

    /// <summary>
    /// <c>total</c> first, then the counts keyed by state name in the order the states are declared (not hash order):
    /// what the runbook reads (<c>jq '.agents.total'</c>) and what dashboards break down.
    /// </summary>
    private static Dictionary<string, long>? WithTotal<TEnum>(IReadOnlyDictionary<string, long>? counts)
        where TEnum : struct, Enum
    {
        if (counts is null)
        {
            return null;
        }

        var ordered = new Dictionary<string, long>(StringComparer.Ordinal) { ["total"] = counts.Values.Sum() };
        foreach (var name in Enum.GetNames<TEnum>().Where(counts.ContainsKey))
        {
            ordered[name] = counts[name];
        }

        return ordered;
    }

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

/// <summary>What /status answers.</summary>
/// <param name="Role">silo+gateway, silo or gateway.</param>
/// <param name="Storage">in-memory or postgresql.</param>
/// <param name="Agents">total, then agents per state (null when the counts could not be read: see errors).</param>
/// <param name="Jobs">total, then jobs per status (null when the counts could not be read: see errors).</param>
/// <param name="Errors">What could not be read, if anything.</param>
public sealed record StatusReport(
    string Service,
    string Version,
    string Role,
    string Storage,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    ClusterStatus Cluster,
    IReadOnlyDictionary<string, long>? Agents,
    IReadOnlyDictionary<string, long>? Jobs,
    IReadOnlyList<string> Errors);

/// <param name="Members">Silos in the membership table, dead ones included (null when it could not be read).</param>
public sealed record ClusterStatus(int ActiveSilos, IReadOnlyList<MemberStatus>? Members);

public sealed record MemberStatus(string Address, string Name, string Status);
