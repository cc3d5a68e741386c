using System.Globalization;
using System.Net;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// A batch takes as many submit tokens as the tenant's bucket holds, one per valid entry in order: those entries are
/// accepted, the rest are refused on their own with 429 (RESOURCE_EXHAUSTED) and the wait; a batch that finds the
/// bucket empty is refused as a whole. A batch larger than the burst is no longer a server error.
/// The tenant refills one token every 10 s (0.1/s), so nothing refills while a test runs.
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class BatchRateLimitTests(EmbeddedKernelFixture fixture)
{
    private const int Burst = 5;
    private const int BatchSize = 20;

    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task A_rest_batch_larger_than_the_burst_accepts_the_burst_and_refuses_the_rest_each_with_429_and_its_wait()
    {
        var tenant = await Mesh.CreateTenantAsync(quotas: new { submitsPerSecond = 0.1, submitBurst = Burst });
        var capability = JobCalls.Unique("burst");
        var jobs = Enumerable.Range(0, BatchSize).Select(i => new { type = "t", capability, payload = new { i } }).ToArray();

        var response = await tenant.Http.PostAsync("/v1/jobs/batch", JobCalls.Json(new { jobs }));
        var body = (await MeshApi.EnsureAsync(response, HttpStatusCode.OK))!;
        var results = body["results"]!.AsArray();
        Assert.Equal(BatchSize, results.Count);
        for (var i = 0; i < BatchSize; i++)
        {
            if (i < Burst)
            {
                Assert.True(results[i]!["created"]!.GetValue<bool>(), $"entry {i}: {results[i]!.ToJsonString()}");
                Assert.Equal(i, results[i]!["job"]!["payload"]!["i"]!.GetValue<int>());
            }
            else
            {
                Assert.Null(results[i]!["job"]);
                var error = results[i]!["error"]!;
                Assert.Equal(429, error["status"]!.GetValue<int>());
                Assert.Equal("Too many requests", error["title"]!.GetValue<string>());
                Assert.InRange(error["retryAfterSeconds"]!.GetValue<int>(), 1, 10);
            }
        }

        var retryAfter = Assert.Single(response.Headers.GetValues("Retry-After"));
        Assert.InRange(int.Parse(retryAfter, CultureInfo.InvariantCulture), 1, 10);
        Assert.Equal(Burst, await Mesh.CountJobsAsync(tenant));

        // The bucket is empty now: the next batch is refused as a whole, and nothing is written.
        var refused = await tenant.Http.PostAsync("/v1/jobs/batch", JobCalls.Json(new { jobs }));
        var problem = await JobCalls.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many requests", problem["title"]!.GetValue<string>());
        Assert.InRange(int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), CultureInfo.InvariantCulture), 1, 10);
        Assert.Equal(Burst, await Mesh.CountJobsAsync(tenant));
    }

    [Fact]
    public async Task A_grpc_batch_larger_than_the_burst_accepts_the_burst_and_refuses_the_rest_with_resource_exhausted()
    {
        var tenant = await Mesh.CreateTenantAsync(quotas: new { submitsPerSecond = 0.1, submitBurst = Burst });
        var capability = JobCalls.Unique("burst");
        var request = new SubmitJobBatchRequest();
        request.Jobs.AddRange(Enumerable.Range(0, BatchSize).Select(i => new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = $$"""{"i":{{i}}}""" }));

        var reply = await tenant.Jobs.SubmitBatchAsync(request, tenant.Headers);
        Assert.Equal(BatchSize, reply.Results.Count);
        for (var i = 0; i < BatchSize; i++)
        {
            var result = reply.Results[i];
            if (i < Burst)
            {
                Assert.True(result.Created, $"entry {i}: {result}");
            }
            else
            {
                Assert.Null(result.Job);
                Assert.Equal((int)StatusCode.ResourceExhausted, result.ErrorCode);
                Assert.InRange(result.RetryAfter.ToTimeSpan(), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
            }
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => tenant.Jobs.SubmitBatchAsync(request, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.NotNull(refused.Trailers.GetValue("retry-after-ms"));
        Assert.Equal(Burst, await Mesh.CountJobsAsync(tenant));
    }
}
