using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MeshOs.Gateway.Operations;

/// <summary>OpenTelemetry for every MeshOs process: metrics scraped at /metrics, traces over OTLP when configured.</summary>
public static class TelemetryHostingExtensions
{
    /// <summary>Meters exported at /metrics: Orleans, ASP.NET Core, the runtime, Npgsql and MeshOs' own.</summary>
    public static readonly string[] Meters =
    [
        "Microsoft.Orleans",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.RateLimiting",
        "Grpc.AspNetCore.Server",
        "Npgsql",
        "MeshOs.Kernel",
        "MeshOs.Cost",
        "MeshOs.Gateway",
        "MeshOs.Storage",
        "MeshOs.Healing",
        "MeshOs.Events",
        "MeshOs.Kpi",
    ];

    /// <summary>Activity sources traced: Orleans calls, ASP.NET Core requests (instrumented), Npgsql and MeshOs.</summary>
    public static readonly string[] ActivitySources =
    [
        "Microsoft.Orleans.Runtime",
        "Microsoft.Orleans.Application",
        "Npgsql",
        "MeshOs",
    ];

    /// <summary>True when traces are exported (OTEL_EXPORTER_OTLP_ENDPOINT is set).</summary>
    public static bool TracingEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>
    /// Adds metrics (always, Prometheus format at /metrics) and tracing (exported over OTLP only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, so an idle install pays nothing for it).
    /// </summary>
    public static IHostApplicationBuilder AddMeshTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otlpEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(serviceName, serviceVersion: MeshVersion.Current, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics => metrics
                // ASP.NET Core and Kestrel publish their http.server and kestrel meters themselves (listed in Meters);
                // the instrumentation package's listener would add per-request work for the same figures.
                .AddMeter(Meters)
                .AddView(instrument => IsPerCallChatter(instrument) ? MetricStreamConfiguration.Drop : null)
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());

        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(ActivitySources)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsOperationalPath(ctx.Request.Path))
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>
    /// Orleans counts every grain-directory lookup and registration, several times per grain call; on the job path
    /// that was about 2 % of a silo's CPU for figures no operator reads. Directory sizes, activations, messaging and
    /// request latency stay.
    /// </summary>
    private static bool IsPerCallChatter(System.Diagnostics.Metrics.Instrument instrument) =>
        instrument.Meter.Name == "Microsoft.Orleans"
        && (instrument.Name.StartsWith("orleans-directory-lookups-", StringComparison.Ordinal)
            || instrument.Name.StartsWith("orleans-directory-registrations", StringComparison.Ordinal)
            || instrument.Name.StartsWith("orleans-directory-unregistrations", StringComparison.Ordinal)
            || instrument.Name.StartsWith("orleans-directory-validations", StringComparison.Ordinal));

    private static bool IsOperationalPath(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health") || path.StartsWithSegments("/dashboard");
}
