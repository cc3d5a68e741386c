using System.Net;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// Every kind of bad input gets its own error (problem details over REST, a status over gRPC) and writes nothing:
/// the tenant has no job afterwards (on PostgreSQL, no row in meshos_jobs). Rate limits and queue quotas answer 429.
/// </summary>
public abstract class BadInputTests(KernelMesh mesh)
{
    /// <summary>The tenant quota every case runs under: payloads up to 1 KiB.</summary>
    private const int PayloadQuota = 1024;

    protected KernelMesh Mesh => mesh;

    /// <summary>Submit bodies (or headers) that must be refused, each with the status it must get, by case name.</summary>
    private static readonly Dictionary<string, (string Body, string ContentType, string? IdempotencyHeader, HttpStatusCode Expected)> SubmitCases = new()
    {
        ["malformed JSON"] = ("""{"type":"t","capability":"c","payload":{""", "application/json", null, HttpStatusCode.BadRequest),
        ["JSON that is not an object"] = ("""[1,2,3]""", "application/json", null, HttpStatusCode.BadRequest),
        ["empty body"] = ("", "application/json", null, HttpStatusCode.BadRequest),
        ["wrong content type"] = ("""{"type":"t","capability":"c","payload":{}}""", "text/plain", null, HttpStatusCode.UnsupportedMediaType),
        ["form content type"] = ("type=t&capability=c", "application/x-www-form-urlencoded", null, HttpStatusCode.UnsupportedMediaType),
        ["missing type"] = ("""{"capability":"c","payload":{}}""", "application/json", null, HttpStatusCode.BadRequest),
        ["type with a space"] = ("""{"type":"a b","capability":"c","payload":{}}""", "application/json", null, HttpStatusCode.BadRequest),
        ["missing capability"] = ("""{"type":"t","payload":{}}""", "application/json", null, HttpStatusCode.BadRequest),
        ["upper-case capability"] = ("""{"type":"t","capability":"GPU","payload":{}}""", "application/json", null, HttpStatusCode.BadRequest),
        ["missing payload"] = ("""{"type":"t","capability":"c"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["payload over the tenant's quota"] = ($$"""{"type":"t","capability":"c","payload":"{{new string('x', PayloadQuota + 1)}}"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["priority below 0"] = ("""{"type":"t","capability":"c","payload":{},"priority":-1}""", "application/json", null, HttpStatusCode.BadRequest),
        ["priority above 9"] = ("""{"type":"t","capability":"c","payload":{},"priority":10}""", "application/json", null, HttpStatusCode.BadRequest),
        ["priority not a number"] = ("""{"type":"t","capability":"c","payload":{},"priority":"high"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["negative timeout"] = ("""{"type":"t","capability":"c","payload":{},"timeoutSeconds":-1}""", "application/json", null, HttpStatusCode.BadRequest),
        ["zero timeout"] = ("""{"type":"t","capability":"c","payload":{},"timeoutSeconds":0}""", "application/json", null, HttpStatusCode.BadRequest),
        ["timeout over a day"] = ("""{"type":"t","capability":"c","payload":{},"timeoutSeconds":86401}""", "application/json", null, HttpStatusCode.BadRequest),
        ["huge timeout"] = ("""{"type":"t","capability":"c","payload":{},"timeoutSeconds":1e300}""", "application/json", null, HttpStatusCode.BadRequest),
        ["zero maxAttempts"] = ("""{"type":"t","capability":"c","payload":{},"maxAttempts":0}""", "application/json", null, HttpStatusCode.BadRequest),
        ["maxAttempts over 20"] = ("""{"type":"t","capability":"c","payload":{},"maxAttempts":21}""", "application/json", null, HttpStatusCode.BadRequest),
        ["backoff multiplier below 1"] = ("""{"type":"t","capability":"c","payload":{},"backoffMultiplier":0.5}""", "application/json", null, HttpStatusCode.BadRequest),
        ["idempotency key too long"] = ($$"""{"type":"t","capability":"c","payload":{},"idempotencyKey":"{{new string('k', 201)}}"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["idempotency key not ASCII"] = ("""{"type":"t","capability":"c","payload":{},"idempotencyKey":"clé"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["idempotency key with a control character"] = ("""{"type":"t","capability":"c","payload":{},"idempotencyKey":"a\tb"}""", "application/json", null, HttpStatusCode.BadRequest),
        ["idempotency header too long"] = ("""{"type":"t","capability":"c","payload":{}}""", "application/json", new string('h', 201), HttpStatusCode.BadRequest),
        ["unknown pool"] = ("""{"type":"t","capability":"c","pool":"gpu-reserved","payload":{}}""", "application/json", null, HttpStatusCode.Forbidden),
    };

    public static TheoryData<string> BadSubmits() => [.. SubmitCases.Keys];

    /// <summary>Reads that must be refused as invalid.</summary>
    public static TheoryData<string, string> BadReads() => new()
    {
        { "non-UUID job id", "/v1/jobs/not-a-uuid" },
        { "non-UUID job id in events", "/v1/jobs/12345/events" },
        { "unknown status filter", "/v1/jobs?status=Exploded" },
        { "numeric status filter", "/v1/jobs?status=3" },
        { "cursor that is not one", "/v1/jobs?cursor=not-a-cursor!" },
        { "cursor of the wrong size", "/v1/jobs?cursor=AAAA" },
        { "zero limit", "/v1/jobs?limit=0" },
        { "negative limit", "/v1/jobs?limit=-1" },
        { "limit over 500", "/v1/jobs?limit=501" },
        { "limit not a number", "/v1/jobs?limit=ten" },
        { "createdFrom after createdTo", "/v1/jobs?createdFrom=2030-01-02T00:00:00Z&createdTo=2030-01-01T00:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(BadSubmits))]
    public async Task A_bad_submit_gets_its_error_and_leaves_nothing(string name)
    {
        var (body, contentType, idempotencyHeader, expected) = SubmitCases[name];
        var tenant = await mesh.CreateTenantAsync(quotas: new { maxPayloadBytes = PayloadQuota });
        Assert.Equal(0, await mesh.CountJobsAsync(tenant));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (idempotencyHeader is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyHeader);
        }

        var problem = await JobCalls.AssertProblemAsync(await tenant.Http.SendAsync(request), expected);
        Assert.True(problem["title"] is not null, $"{name}: the problem has no title");
        Assert.Equal(0, await mesh.CountJobsAsync(tenant));
    }

    [Fact]
    public async Task The_payload_quota_error_names_the_quota_and_a_payload_just_within_it_is_accepted()
    {
        var tenant = await mesh.CreateTenantAsync(quotas: new { maxPayloadBytes = PayloadQuota });
        var over = await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability = "c", payload = new string('x', PayloadQuota - 1) });
        var problem = await JobCalls.AssertProblemAsync(over, HttpStatusCode.BadRequest);
        Assert.Contains($"{PayloadQuota + 1} bytes", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("quota", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // The payload's JSON text is what counts: a string of quota − 2 characters plus its two quotes fits exactly.
        await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability = JobCalls.Unique("quota"), payload = new string('x', PayloadQuota - 2) });
        Assert.Equal(1, await mesh.CountJobsAsync(tenant));
    }

    [Fact]
    public async Task A_body_over_the_8_MiB_server_limit_is_413_over_rest_and_resource_exhausted_over_grpc()
    {
        var tenant = await mesh.CreateTenantAsync();
        var huge = new string('x', 8 * 1024 * 1024 + 1);

        // Expect: 100-continue lets the server refuse on the declared length before the body is sent, as clients
        // sending large bodies do; without it the server's early answer races the upload.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = JobCalls.Json(new { type = "t", capability = "c", payload = huge }),
        };
        request.Headers.ExpectContinue = true;
        var problem = await JobCalls.AssertProblemAsync(await tenant.Http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("Content Too Large", problem["title"]!.GetValue<string>());

        var error = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.SubmitAsync(
            new SubmitJobRequest { Type = "t", Capability = "c", PayloadJson = $"\"{huge}\"" }, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(0, await mesh.CountJobsAsync(tenant));
    }

    [Theory]
    [MemberData(nameof(BadReads))]
    public async Task A_bad_read_is_400(string name, string url)
    {
        var tenant = await mesh.CreateTenantAsync();
        var problem = await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync(url), HttpStatusCode.BadRequest);
        Assert.True(problem["title"] is not null, $"{name}: the problem has no title");
    }

    [Fact]
    public async Task A_cancel_with_a_non_uuid_id_or_an_overlong_reason_is_400_and_an_unknown_id_404()
    {
        var tenant = await mesh.CreateTenantAsync();
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsync("/v1/jobs/nope/cancel", JobCalls.Json("{}")), HttpStatusCode.BadRequest);
        await JobCalls.AssertProblemAsync(
            await tenant.Http.PostAsync($"/v1/jobs/{Guid.NewGuid()}/cancel", JobCalls.Json($$"""{"reason":"{{new string('r', 501)}}"}""")),
            HttpStatusCode.BadRequest);
        await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync($"/v1/jobs/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Bad_grpc_calls_are_invalid_argument_except_an_unknown_pool_which_is_permission_denied()
    {
        var tenant = await mesh.CreateTenantAsync(quotas: new { maxPayloadBytes = PayloadQuota });
        SubmitJobRequest Valid() => new() { Type = "t", Capability = "c", PayloadJson = "{}" };
        var submits = new (string Name, SubmitJobRequest Request, StatusCode Expected)[]
        {
            ("missing type", With(Valid(), r => r.Type = ""), StatusCode.InvalidArgument),
            ("missing capability", With(Valid(), r => r.Capability = ""), StatusCode.InvalidArgument),
            ("missing payload", With(Valid(), r => r.PayloadJson = ""), StatusCode.InvalidArgument),
            ("payload not JSON", With(Valid(), r => r.PayloadJson = "{nope"), StatusCode.InvalidArgument),
            ("payload over the quota", With(Valid(), r => r.PayloadJson = $"\"{new string('x', PayloadQuota)}\""), StatusCode.InvalidArgument),
            ("priority below 0", With(Valid(), r => r.Priority = -1), StatusCode.InvalidArgument),
            ("priority above 9", With(Valid(), r => r.Priority = 10), StatusCode.InvalidArgument),
            ("negative timeout", With(Valid(), r => r.Timeout = new Duration { Seconds = -1 }), StatusCode.InvalidArgument),
            ("timeout under a second", With(Valid(), r => r.Timeout = new Duration { Nanos = 500_000_000 }), StatusCode.InvalidArgument),
            ("huge timeout", With(Valid(), r => r.Timeout = new Duration { Seconds = 100L * 365 * 86_400 }), StatusCode.InvalidArgument),
            ("maxAttempts over 20", With(Valid(), r => r.Retry = new RetryPolicy { MaxAttempts = 21 }), StatusCode.InvalidArgument),
            ("negative maxAttempts", With(Valid(), r => r.Retry = new RetryPolicy { MaxAttempts = -1 }), StatusCode.InvalidArgument),
            ("negative backoff", With(Valid(), r => r.Retry = new RetryPolicy { InitialBackoff = new Duration { Seconds = -5 } }), StatusCode.InvalidArgument),
            ("idempotency key too long", With(Valid(), r => r.IdempotencyKey = new string('k', 201)), StatusCode.InvalidArgument),
            ("idempotency key not ASCII", With(Valid(), r => r.IdempotencyKey = "ключ"), StatusCode.InvalidArgument),
            ("unknown pool", With(Valid(), r => r.Pool = "gpu-reserved"), StatusCode.PermissionDenied),
        };
        foreach (var (name, request, expected) in submits)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.SubmitAsync(request, tenant.Headers).ResponseAsync);
            Assert.True(error.StatusCode == expected, $"{name}: expected {expected}, got {error.StatusCode} ({error.Status.Detail})");
        }

        var reads = new (string Name, Func<Task> Call)[]
        {
            ("get with a non-UUID id", () => tenant.Jobs.GetAsync(new GetJobRequest { JobId = "not-a-uuid" }, tenant.Headers).ResponseAsync),
            ("cancel with a non-UUID id", () => tenant.Jobs.CancelAsync(new CancelJobRequest { JobId = "42" }, tenant.Headers).ResponseAsync),
            ("watch with a non-UUID id", async () =>
            {
                using var watch = tenant.Jobs.Watch(new WatchJobRequest { JobId = "xyz" }, tenant.Headers);
                await watch.ResponseStream.MoveNext(CancellationToken.None);
            }),
            ("list with an unknown status", () => tenant.Jobs.ListAsync(new ListJobsRequest { Status = (MeshOs.Grpc.V1.JobStatus)42 }, tenant.Headers).ResponseAsync),
            ("list with a bad cursor", () => tenant.Jobs.ListAsync(new ListJobsRequest { Cursor = "not-a-cursor!" }, tenant.Headers).ResponseAsync),
            ("list with a negative limit", () => tenant.Jobs.ListAsync(new ListJobsRequest { Limit = -1 }, tenant.Headers).ResponseAsync),
            ("list with a limit over 500", () => tenant.Jobs.ListAsync(new ListJobsRequest { Limit = 501 }, tenant.Headers).ResponseAsync),
            ("list with an impossible time", () => tenant.Jobs.ListAsync(new ListJobsRequest { CreatedFrom = new Timestamp { Seconds = 1, Nanos = -1 } }, tenant.Headers).ResponseAsync),
        };
        foreach (var (name, call) in reads)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{name}: expected InvalidArgument, got {error.StatusCode} ({error.Status.Detail})");
        }

        Assert.Equal(0, await mesh.CountJobsAsync(tenant));
    }

    [Fact]
    public async Task The_per_tenant_submit_rate_lets_the_burst_through_and_answers_429_with_retry_after_across_rest_and_grpc()
    {
        var tenant = await mesh.CreateTenantAsync(quotas: new { submitsPerSecond = 1, submitBurst = 2 });
        var capability = JobCalls.Unique("rate");

        // Authenticate once first, so that all five submits reach the limiter together.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Http.GetAsync("/v1/jobs")).StatusCode);
        await tenant.Jobs.ListAsync(new ListJobsRequest(), tenant.Headers);

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var rest = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            await go.Task;
            return await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { i } });
        })).ToArray();
        var grpc = Enumerable.Range(3, 2).Select(i => Task.Run<(StatusCode Status, string? RetryAfterMs)>(async () =>
        {
            await go.Task;
            using var call = tenant.Jobs.SubmitAsync(new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = $$"""{"i":{{i}}}""" }, tenant.Headers);
            try
            {
                await call.ResponseAsync;
                return (StatusCode.OK, null);
            }
            catch (RpcException ex)
            {
                return (ex.StatusCode, ex.Trailers.GetValue("retry-after-ms"));
            }
        })).ToArray();
        go.SetResult();
        var restAnswers = await Task.WhenAll(rest);
        var grpcAnswers = await Task.WhenAll(grpc);

        var accepted = restAnswers.Count(r => r.StatusCode == HttpStatusCode.Created) + grpcAnswers.Count(g => g.Status == StatusCode.OK);
        Assert.Equal(2, accepted);
        foreach (var limited in restAnswers.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            var problem = await JobCalls.AssertProblemAsync(limited, HttpStatusCode.TooManyRequests);
            Assert.Equal("Too many requests", problem["title"]!.GetValue<string>());
            var retryAfter = Assert.Single(limited.Headers.GetValues("Retry-After"));
            Assert.InRange(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture), 1, 2);
        }

        foreach (var limited in grpcAnswers.Where(g => g.Status != StatusCode.OK))
        {
            Assert.Equal(StatusCode.ResourceExhausted, limited.Status);
            Assert.NotNull(limited.RetryAfterMs);
            Assert.InRange(long.Parse(limited.RetryAfterMs!, System.Globalization.CultureInfo.InvariantCulture), 1, 2_000);
        }

        Assert.Equal(2, await mesh.CountJobsAsync(tenant));
    }

    protected static T With<T>(T value, Action<T> change)
    {
        change(value);
        return value;
    }
}

[Collection(EmbeddedKernelCollection.Name)]
public sealed class EmbeddedBadInputTests(EmbeddedKernelFixture fixture) : BadInputTests(fixture.Mesh);

/// <summary>On PostgreSQL (one shard per queue, so the queued-jobs quota is exact), with the queue quota on top.</summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class PostgresBadInputTests(PostgresKernelFixture fixture) : BadInputTests(fixture.Mesh)
{
    [Fact]
    public async Task The_max_queued_jobs_quota_refuses_the_fourth_waiting_job_with_429_until_one_leaves_the_queue()
    {
        var tenant = await Mesh.CreateTenantAsync(quotas: new { maxQueuedJobs = 3 });
        var capability = JobCalls.Unique("queued");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { i } })));
        }

        var refused = await JobCalls.AssertProblemAsync(
            await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { i = 3 } }), HttpStatusCode.TooManyRequests);
        Assert.Contains("maxQueuedJobs", refused["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.SubmitAsync(
            new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = "{}" }, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, grpc.StatusCode);
        Assert.Equal(3, await Mesh.CountJobsAsync(tenant));

        // A cancelled job no longer waits: there is room for one more, and only one.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Http.PostAsync($"/v1/jobs/{ids[0]}/cancel", JobCalls.Json("{}"))).StatusCode);
        var admitted = await Eventually.WaitAsync(
            () => JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { i = 4 } }),
            r => r.StatusCode != HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        await MeshApi.EnsureAsync(admitted, HttpStatusCode.Created);
        await JobCalls.AssertProblemAsync(
            await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { i = 5 } }), HttpStatusCode.TooManyRequests);
        Assert.Equal(4, await Mesh.CountJobsAsync(tenant));
    }
}
