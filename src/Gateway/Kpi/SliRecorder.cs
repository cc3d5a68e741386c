using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using MeshOs.Abstractions.Kpi;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Operations;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Kpi;

/// <summary>The gateway's side of the SLIs (<c>MeshOs:Kpi</c>).</summary>
public sealed class GatewayKpiOptions
{
    public const string Section = "MeshOs:Kpi";

    /// <summary>Whether the gateway counts requests for the SLIs. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the gateway flushes its finished minutes to the scopes' SLI collectors. Default 1 min.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Counts API requests per scope (the mesh, the calling tenant) and minute in memory: requests, those answered 5xx or
/// gRPC UNAVAILABLE/INTERNAL/UNKNOWN/DATA_LOSS, and submit latencies in a <see cref="LatencySketch"/>. A request costs a
/// dictionary look-up and a few interlocked adds; nothing leaves the process until the minute is flushed
/// (<see cref="SliFlusher"/>). Streams and long-polls (agent channels, SSE, lease polls, Watch) are not counted: their
/// duration is the client's choice. Also exports <c>meshos.sli.requests</c>, <c>meshos.sli.errors</c> and
/// <c>meshos.sli.submit_latency</c> (Prometheus: <c>meshos_sli_requests_total</c>, <c>meshos_sli_errors_total</c>,
/// <c>meshos_sli_submit_latency_seconds</c>; buckets at the SLO edges).
/// </summary>
public sealed class SliRecorder(TimeProvider time)
{
    public static readonly Meter Meter = new("MeshOs.Kpi");

    private static readonly Counter<long> RequestsCounter = Meter.CreateCounter<long>("meshos.sli.requests", description: "API requests counted by the SLIs");
    private static readonly Counter<long> ErrorsCounter = Meter.CreateCounter<long>("meshos.sli.errors", description: "API requests answered 5xx or gRPC UNAVAILABLE/INTERNAL/UNKNOWN/DATA_LOSS");
    private static readonly Histogram<double> SubmitLatency = Meter.CreateHistogram("meshos.sli.submit_latency", "s", "Submit latency at the gateway",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private readonly ConcurrentDictionary<(string Scope, DateTimeOffset Minute), Tally> _tallies = new();

    /// <summary>Counts one request of <paramref name="tenantId"/> (null: an operator's or anonymous, the mesh only).</summary>
    public void Record(string? tenantId, bool error, bool submit, TimeSpan elapsed)
    {
        var minute = Floor(time.GetUtcNow());
        var bucket = submit ? LatencySketch.IndexOf(elapsed.TotalMilliseconds) : -1;
        Add(SliScopes.Mesh, minute, error, bucket);
        if (tenantId is not null)
        {
            Add(SliScopes.Tenant(tenantId), minute, error, bucket);
        }

        RequestsCounter.Add(1);
        if (error)
        {
            ErrorsCounter.Add(1);
        }

        if (submit)
        {
            SubmitLatency.Record(elapsed.TotalSeconds);
        }
    }

    /// <summary>
    /// Takes every tally of minutes before <paramref name="before"/>, grouped by scope, and adds a mesh report (observed,
    /// with <paramref name="probeFailed"/>) for each minute in [<paramref name="since"/>, before) even without traffic.
    /// </summary>
    public Dictionary<string, List<SliMinuteReport>> Take(DateTimeOffset since, DateTimeOffset before, bool probeFailed)
    {
        var reports = new Dictionary<string, List<SliMinuteReport>>(StringComparer.Ordinal);
        var meshMinutes = new HashSet<DateTimeOffset>();
        foreach (var key in _tallies.Keys)
        {
            if (key.Minute < before && _tallies.TryRemove(key, out var tally))
            {
                if (!reports.TryGetValue(key.Scope, out var list))
                {
                    reports[key.Scope] = list = [];
                }

                list.Add(tally.Report(key.Minute, probeFailed));
                if (key.Scope == SliScopes.Mesh)
                {
                    meshMinutes.Add(key.Minute);
                }
            }
        }

        for (var minute = since; minute < before; minute = minute.AddMinutes(1))
        {
            if (!meshMinutes.Contains(minute))
            {
                if (!reports.TryGetValue(SliScopes.Mesh, out var list))
                {
                    reports[SliScopes.Mesh] = list = [];
                }

                list.Add(new SliMinuteReport(minute, true, 0, 0, probeFailed, [], []));
            }
        }

        return reports;
    }

    public static DateTimeOffset Floor(DateTimeOffset at) => new(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private void Add(string scope, DateTimeOffset minute, bool error, int bucket)
    {
        var tally = _tallies.GetOrAdd((scope, minute), static _ => new Tally());
        tally.Add(error, bucket);
    }

    private sealed class Tally
    {
        private readonly long[] _submit = LatencySketch.Empty();
        private long _requests;
        private long _errors;

        public void Add(bool error, int bucket)
        {
            Interlocked.Increment(ref _requests);
            if (error)
            {
                Interlocked.Increment(ref _errors);
            }

            if (bucket >= 0)
            {
                Interlocked.Increment(ref _submit[bucket]);
            }
        }

        public SliMinuteReport Report(DateTimeOffset minute, bool probeFailed) => new(minute, true, Interlocked.Read(ref _requests),
            Interlocked.Read(ref _errors), probeFailed, _submit.Any(c => c > 0) ? [.. _submit] : [], []);
    }
}

/// <summary>Counts each API request into the <see cref="SliRecorder"/> once it has been answered.</summary>
public static class SliMiddleware
{
    /// <summary>gRPC statuses that count as the server failing: UNKNOWN 2, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15.</summary>
    private static readonly string[] GrpcErrors = ["2", "13", "14", "15"];

    public static IApplicationBuilder UseMeshSli(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<GatewayKpiOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var recorder = app.ApplicationServices.GetRequiredService<SliRecorder>();
        var time = app.ApplicationServices.GetRequiredService<TimeProvider>();
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            var grpc = path.StartsWith("/meshos.v1.", StringComparison.Ordinal);
            if (!(grpc || path.StartsWith("/v1/", StringComparison.Ordinal)) || IsStream(path))
            {
                await next(context);
                return;
            }

            var started = time.GetTimestamp();
            var failed = false;
            try
            {
                await next(context);
            }
            catch
            {
                failed = true;
                throw;
            }
            finally
            {
                var error = failed || context.Response.StatusCode >= 500 || (grpc && GrpcFailed(context));
                var submit = IsSubmit(context.Request.Method, path);
                recorder.Record(context.User.Identity?.IsAuthenticated == true ? context.Caller().TenantId : null, error, submit, time.GetElapsedTime(started));
            }
        });
    }

    private static bool IsSubmit(string method, string path) =>
        (HttpMethods.IsPost(method) && (path is "/v1/jobs" or "/v1/jobs/batch"))
        || path is "/meshos.v1.Jobs/Submit" or "/meshos.v1.Jobs/SubmitBatch";

    private static bool IsStream(string path) =>
        path.EndsWith("/lease", StringComparison.Ordinal) || path.EndsWith("/events", StringComparison.Ordinal)
        || path.EndsWith("/Connect", StringComparison.Ordinal) || path == "/meshos.v1.Jobs/Watch" || path.EndsWith("/audit/export", StringComparison.Ordinal)
        || path == "/meshos.v1.Audit/Export";

    private static bool GrpcFailed(HttpContext context)
    {
        var status = context.Response.Headers["grpc-status"].ToString();
        if (string.IsNullOrEmpty(status) && context.Features.Get<IHttpResponseTrailersFeature>() is { } trailers)
        {
            status = trailers.Trailers["grpc-status"].ToString();
        }

        return GrpcErrors.Contains(status);
    }
}

/// <summary>
/// Flushes the recorder's finished minutes to the scopes' SLI collectors every <see cref="GatewayKpiOptions.FlushInterval"/>:
/// one call per scope with traffic, plus the mesh's every minute (the minute was observed). The readiness checks run
/// once per flush; when they fail, the minutes flushed are marked probe-failed (bad). A flush that fails is retried
/// at the next with the same minutes.
/// </summary>
public sealed partial class SliFlusher(
    SliRecorder recorder,
    IGrainFactory grains,
    HealthCheckService health,
    IOptions<GatewayKpiOptions> options,
    TimeProvider time,
    ILogger<SliFlusher> logger) : BackgroundService
{
    /// <summary>How long a gateway keeps minutes it could not flush (the cluster unreachable) before it drops them.</summary>
    private static readonly TimeSpan MaxUnsentAge = TimeSpan.FromMinutes(15);

    private readonly Dictionary<string, List<SliMinuteReport>> _unsent = new(StringComparer.Ordinal);
    private DateTimeOffset? _flushedTo;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Flushes every minute that has ended.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var now = SliRecorder.Floor(time.GetUtcNow());
        var since = _flushedTo ?? now.AddMinutes(-1);
        var report = await health.CheckHealthAsync(c => c.Tags.Contains(OperationsApi.ReadyTag), cancellationToken);
        foreach (var (scope, minutes) in recorder.Take(since, now, report.Status == HealthStatus.Unhealthy))
        {
            if (!_unsent.TryGetValue(scope, out var list))
            {
                _unsent[scope] = list = [];
            }

            list.AddRange(minutes);
            // Minutes older than any settle delay would be dropped by the collector anyway: never hold them forever.
            list.RemoveAll(m => m.Minute < now - MaxUnsentAge);
        }

        _flushedTo = now;
        foreach (var scope in _unsent.Keys.ToList())
        {
            try
            {
                await grains.GetGrain<ISliGrain>(scope).ReportAsync([.. _unsent[scope]]);
                _unsent.Remove(scope);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFlushFailed(logger, scope, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLI flush to {Scope} failed; retried at the next flush")]
    private static partial void LogFlushFailed(ILogger logger, string scope, Exception exception);
}
