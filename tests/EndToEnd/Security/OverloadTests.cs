using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Tests.EndToEnd.Kernel;
using MeshOs.Testing;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Overload (OWASP API4, unrestricted resource consumption) against real silo processes: one tenant flooding far
/// above its submit rate is refused cheaply (429 with Retry-After, gRPC ResourceExhausted) without slowing another
/// tenant down, and a tenant at its queued-jobs cap is refused with a message naming the cap, with nothing stored.
/// </summary>
[Collection(OverloadCollection.Name)]
public sealed class OverloadTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const double FloodRate = 20;
    private const int FloodBurst = 20;

    /// <summary>
    /// A's submits a second, all loops together: fifty times its rate. Paced, so that what B feels is the gateway's
    /// admission of A's excess, not the test's own load generator taking every core of a 2-core machine (unpaced, its
    /// loops alone saturated the cores, and B's latency measured the machine).
    /// </summary>
    private const double FloodPerSecond = 1_000;

    private const int FloodLoops = 5;

    /// <summary>
    /// Tenant A (quota 20 submits/s, burst 20) floods from four REST loops and one gRPC loop at 1,000 submits a second in
    /// all (fifty times its rate), switched on and off every second, while tenant B submits one job every 40 ms (25/s)
    /// throughout. B is never refused, and B's acknowledgement p95 while A floods stays within max(3 × its p95 while A
    /// is quiet, that p95 + 100 ms): B waiting on A's admission or queued behind A's jobs would cost it hundreds of
    /// milliseconds to seconds, while the CPU that refusing 1,000 submits a second takes on 2 cores costs it tens (the
    /// suite measured 16 → 46 ms and 24 → 61 ms with other test assemblies running; the old bound, max(2×, +25 ms), failed
    /// there). Latency itself is the benchmarks' business. Both halves of B's samples come from the same seconds of the same machine, so a
    /// machine that is busy with other work (the rest of the suite, other processes) slows both alike; the p95 and the
    /// absolute floor keep a scheduling hiccup or two on a 2-core machine that runs the silo and the flood itself from
    /// deciding the test. A gets 429 with Retry-After (ResourceExhausted over gRPC) and no more submits through than its
    /// bucket allows. The silo is the embedded (in-memory) one: what is measured is the gateway's per-tenant admission.
    /// On this shared machine PostgreSQL commits alone have tail spikes of tens of milliseconds whatever the load, so a
    /// latency comparison there would measure the disk, not the isolation.
    /// </summary>
    [Fact]
    public async Task A_tenant_flooding_past_its_rate_is_refused_while_another_tenants_submits_keep_their_latency()
    {
        await using var mesh = await KernelMesh.StartAsync();
        var flooder = await mesh.CreateTenantAsync(quotas: new { submitsPerSecond = FloodRate, submitBurst = FloodBurst });
        var steady = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("overload");
        var body = new { type = "load", capability, payload = new { n = 1 } };

        // Warm-up: connections, JIT and grain activations on both paths.
        await SteadySubmitsAsync(steady, body, 40, () => false);
        await JobCalls.SubmitCreatedAsync(flooder.Http, body);

        using var stop = new CancellationTokenSource();
        var flood = new Flood();
        var loops = Enumerable.Range(0, FloodLoops - 1).Select(_ => Task.Run(() => RestFloodAsync(mesh, flooder, body, flood, stop.Token)))
            .Append(Task.Run(() => GrpcFloodAsync(flooder, capability, flood, stop.Token))).ToArray();
        var run = await SteadySubmitsAsync(steady, body, 300, () => flood.On);
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var seconds = flood.Elapsed.TotalSeconds;

        var quiet = run.Samples.Where(x => !x.Flooded).Select(x => x.Latency).ToList();
        var flooded = run.Samples.Where(x => x.Flooded).Select(x => x.Latency).ToList();
        var (quietP95, floodedP95) = (P(quiet, 0.95), P(flooded, 0.95));
        var bound = Math.Max(3 * quietP95, quietP95 + 100);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"B while A is quiet: {quiet.Count} submits, p50 {P(quiet, 0.5):0.0} ms, p95 {quietP95:0.0} ms, p99 {P(quiet, 0.99):0.0} ms; " +
            $"while A floods: {flooded.Count} submits, p50 {P(flooded, 0.5):0.0} ms, p95 {floodedP95:0.0} ms, p99 {P(flooded, 0.99):0.0} ms (bound {bound:0.0} ms)."));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"A over {seconds:0.0} s (flooding half of it): {flood.Accepted} accepted, {flood.Refused} refused with 429 ({flood.Refused / (seconds / 2):0} /s flooding), " +
            $"{flood.GrpcAccepted} accepted and {flood.GrpcRefused} ResourceExhausted over gRPC."));

        Assert.Empty(run.Refusals);
        Assert.True(quiet.Count >= 100 && flooded.Count >= 100, $"{quiet.Count} of B's submits while A was quiet, {flooded.Count} while it flooded");
        Assert.Empty(flood.Defects);
        // A flood is A offering several times what its bucket lets through (how many times depends on how fast this
        // machine runs the loops; at least 3× is enough for B's comparison to mean something).
        var (refusedA, acceptedA) = (flood.Refused + flood.GrpcRefused, flood.Accepted + flood.GrpcAccepted);
        Assert.True(refusedA >= 2 * acceptedA, $"A was refused {refusedA} times and accepted {acceptedA}: not a flood.");
        Assert.True(flood.GrpcRefused > 0, "A's gRPC submits were never refused.");
        var allowed = FloodBurst + (FloodRate * (seconds + 1)) + 1;
        Assert.True(flood.Accepted + flood.GrpcAccepted <= allowed, $"A got {flood.Accepted + flood.GrpcAccepted} submits through; its bucket allows {allowed:0}.");
        Assert.True(floodedP95 <= bound, string.Create(CultureInfo.InvariantCulture,
            $"B's p95 while A floods is {floodedP95:0.0} ms, over {bound:0.0} ms (p95 while A is quiet {quietP95:0.0} ms)."));
    }

    /// <summary>
    /// maxQueuedJobs = 10 and no agent: of 15 concurrent submits exactly 10 are acknowledged and 5 refused with 429
    /// naming the cap; later ones, over REST and gRPC, are refused alike; PostgreSQL holds exactly the 10. Queues enforce
    /// the cap per shard (quota ÷ shards, rounded up; README, "Tenant quota defaults"), so this silo runs one shard
    /// per queue, which makes the tenant-wide figure exact.
    /// </summary>
    [Fact]
    public async Task A_tenant_at_its_queued_jobs_cap_gets_exactly_that_many_acknowledged_then_a_refusal_naming_the_cap()
    {
        const int cap = 10;
        await using var mesh = await KernelMesh.StartAsync(await postgres.CreateDatabaseAsync(),
            new Dictionary<string, string> { ["MeshOs:Dispatch:ShardsPerQueue"] = "1" });
        var tenant = await mesh.CreateTenantAsync(quotas: new { maxQueuedJobs = cap });
        var body = new { type = "capped", capability = JobCalls.Unique("nobody-serves"), payload = new { n = 1 } };

        var answers = await Task.WhenAll(Enumerable.Range(0, cap + 5).Select(async _ =>
        {
            var response = await JobCalls.SubmitAsync(tenant.Http, body);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(), RetryAfter: response.Headers.RetryAfter);
        }));
        Assert.Equal(cap, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        var refusals = answers.Where(a => a.StatusCode != HttpStatusCode.Created).ToList();
        Assert.Equal(5, refusals.Count);
        Assert.True(refusals.All(r => r.StatusCode == HttpStatusCode.TooManyRequests),
            $"Every refusal should be 429, got {string.Join(", ", refusals.Select(r => (int)r.StatusCode))}; the silo's errors:\n{mesh.Silo.Errors()}");
        Assert.All(refusals, r =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.Contains($"{cap} jobs queued already (quota maxQueuedJobs)", r.Body, StringComparison.Ordinal);
            Assert.NotNull(r.RetryAfter);
        });

        var problem = await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(tenant.Http, body), HttpStatusCode.TooManyRequests);
        Assert.Contains("maxQueuedJobs", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.SubmitAsync(
            new SubmitJobRequest { Type = "capped", Capability = body.capability, PayloadJson = "{}" }, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, grpc.StatusCode);
        Assert.Contains($"{cap} jobs queued already (quota maxQueuedJobs)", grpc.Status.Detail, StringComparison.Ordinal);

        Assert.Equal(cap, await mesh.CountJobsAsync(tenant));
    }

    private sealed record SteadyRun(List<(double Latency, bool Flooded)> Samples, List<string> Refusals);

    /// <summary>
    /// Submits <paramref name="count"/> jobs one at a time, one every 40 ms; the latency of each acknowledgement, with
    /// whether A was flooding when it was sent.
    /// </summary>
    private static async Task<SteadyRun> SteadySubmitsAsync(KernelTenant tenant, object body, int count, Func<bool> flooding)
    {
        var run = new SteadyRun([], []);
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromMilliseconds(40 * i) - Stopwatch.GetElapsedTime(start);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due);
            }

            var flooded = flooding();
            var sent = Stopwatch.GetTimestamp();
            using var response = await JobCalls.SubmitAsync(tenant.Http, body);
            run.Samples.Add((Stopwatch.GetElapsedTime(sent).TotalMilliseconds, flooded));
            if (response.StatusCode != HttpStatusCode.Created)
            {
                run.Refusals.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        return run;
    }

    /// <summary>A's flood: on during every other second (the first one off), and its counts.</summary>
    private sealed class Flood
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private int _accepted;
        private int _refused;
        private int _grpcAccepted;
        private int _grpcRefused;

        public int Accepted => _accepted;

        public int Refused => _refused;

        public int GrpcAccepted => _grpcAccepted;

        public int GrpcRefused => _grpcRefused;

        public ConcurrentQueue<string> Defects { get; } = new();

        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start);

        public bool On => (long)Elapsed.TotalSeconds % 2 == 1;

        /// <summary>Returns at once while the flood is on; else when it next switches on (or <paramref name="stop"/>).</summary>
        public async Task WhileOnAsync(CancellationToken stop)
        {
            var elapsed = Elapsed;
            if ((long)elapsed.TotalSeconds % 2 == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Floor(elapsed.TotalSeconds) + 1) - elapsed, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        public void Count(HttpStatusCode status, string? retryAfter, string body)
        {
            if (status == HttpStatusCode.Created)
            {
                Interlocked.Increment(ref _accepted);
            }
            else if (status == HttpStatusCode.TooManyRequests && int.TryParse(retryAfter, CultureInfo.InvariantCulture, out var seconds) && seconds >= 1
                && body.Contains("submit rate", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _refused);
            }
            else if (Defects.Count < 20)
            {
                Defects.Enqueue($"{(int)status} (Retry-After {retryAfter ?? "none"}): {Describe.Clip(body, 200)}");
            }
        }

        public void CountGrpc(StatusCode status, string detail)
        {
            if (status == StatusCode.OK)
            {
                Interlocked.Increment(ref _grpcAccepted);
            }
            else if (status == StatusCode.ResourceExhausted && detail.Contains("submit rate", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _grpcRefused);
            }
            else if (Defects.Count < 20)
            {
                Defects.Enqueue($"gRPC {status}: {detail}");
            }
        }
    }

    private static async Task RestFloodAsync(KernelMesh mesh, KernelTenant flooder, object body, Flood flood, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = mesh.Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-api-key", flooder.Key);
        var pace = new Pace();
        while (!stop.IsCancellationRequested)
        {
            await flood.WhileOnAsync(stop);
            await pace.NextAsync(stop);
            using var response = await JobCalls.SubmitAsync(http, body);
            flood.Count(response.StatusCode, response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                await response.Content.ReadAsStringAsync(CancellationToken.None));
        }
    }

    private static async Task GrpcFloodAsync(KernelTenant flooder, string capability, Flood flood, CancellationToken stop)
    {
        var request = new SubmitJobRequest { Type = "load", Capability = capability, PayloadJson = "{\"n\":1}" };
        var pace = new Pace();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await flood.WhileOnAsync(stop);
                await pace.NextAsync(stop);
                await flooder.Jobs.SubmitAsync(request, flooder.Headers);
                flood.CountGrpc(StatusCode.OK, string.Empty);
            }
            catch (RpcException ex)
            {
                flood.CountGrpc(ex.StatusCode, ex.Status.Detail);
            }
        }
    }

    /// <summary>One loop's share of <see cref="FloodPerSecond"/>: each submit waits for its turn, and a loop that fell behind does not burst to catch up.</summary>
    private sealed class Pace
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(FloodLoops / FloodPerSecond);
        private readonly long _start = Stopwatch.GetTimestamp();
        private TimeSpan _next;

        public async Task NextAsync(CancellationToken stop)
        {
            var now = Stopwatch.GetElapsedTime(_start);
            if (_next > now)
            {
                await Task.Delay(_next - now, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            _next = (_next > now ? _next : now) + Interval;
        }
    }

    /// <summary>The nearest-rank percentile.</summary>
    private static double P(List<double> values, double quantile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}
