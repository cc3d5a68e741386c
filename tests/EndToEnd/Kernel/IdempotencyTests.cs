using System.Net;
using System.Text.Json.Nodes;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// An idempotency key names one job per tenant, whichever protocol and however many concurrent submits carry it.
/// Run against both storage modes; on PostgreSQL the rows are counted in the table itself.
/// </summary>
public abstract class IdempotencyTests(KernelMesh mesh)
{
    private const int Submits = 50;

    [Fact]
    public async Task Fifty_concurrent_duplicate_submits_over_rest_header_rest_body_and_grpc_make_exactly_one_job()
    {
        var tenant = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("idem");
        var key = JobCalls.Unique("order-4711");
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Every third submit each way: the key in the header, in the body, or in the gRPC request.
        var submits = Enumerable.Range(0, Submits).Select(i => Task.Run(async () =>
        {
            await go.Task;
            switch (i % 3)
            {
                case 0:
                    return await RestAsync(await JobCalls.SubmitAsync(tenant.Http, Body(capability, null), idempotencyHeader: key));
                case 1:
                    return await RestAsync(await JobCalls.SubmitAsync(tenant.Http, Body(capability, key)));
                default:
                    var reply = await tenant.Jobs.SubmitAsync(new SubmitJobRequest
                    {
                        Type = "charge",
                        Capability = capability,
                        PayloadJson = """{"amount":42}""",
                        Priority = 5,
                        IdempotencyKey = key,
                    }, tenant.Headers);
                    return (reply.Job.JobId, reply.Created, "grpc");
            }
        })).ToArray();
        go.SetResult();
        var answers = await Task.WhenAll(submits);

        var jobId = Assert.Single(answers.Select(a => a.JobId).Distinct());
        Assert.Single(answers, a => a.Created);
        Assert.Equal(Submits - 1, answers.Count(a => !a.Created));
        Assert.Equal(Submits, answers.Length);

        var job = await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal(key, job["idempotencyKey"]!.GetValue<string>());
        Assert.Equal("Pending", JobCalls.Status(job));
        Assert.Equal(1, job["version"]!.GetValue<long>());
        var listed = await JobCalls.ListAsync(tenant.Http);
        Assert.Equal(jobId, JobCalls.Id(Assert.Single(listed)));
        Assert.Equal(1, await mesh.CountJobsAsync(tenant));
    }

    [Fact]
    public async Task A_repeated_key_returns_the_first_job_with_200_and_another_tenants_same_key_is_another_job()
    {
        var first = await mesh.CreateTenantAsync();
        var second = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("idem");
        var key = JobCalls.Unique("shared-key");

        var created = await JobCalls.SubmitAsync(first.Http, Body(capability, key));
        var original = (await MeshApi.EnsureAsync(created, HttpStatusCode.Created))!;
        var again = await JobCalls.SubmitAsync(first.Http, Body(capability, null), idempotencyHeader: key);
        var repeated = (await MeshApi.EnsureAsync(again, HttpStatusCode.OK))!;
        Assert.Equal(JobCalls.Id(original), JobCalls.Id(repeated));
        Assert.Equal(original["createdAt"]!.GetValue<DateTimeOffset>(), repeated["createdAt"]!.GetValue<DateTimeOffset>());

        var grpcAgain = await first.Jobs.SubmitAsync(new SubmitJobRequest
        {
            Type = "charge", Capability = capability, PayloadJson = """{"amount":42}""", Priority = 5, IdempotencyKey = key,
        }, first.Headers);
        Assert.False(grpcAgain.Created);
        Assert.Equal(JobCalls.Id(original), grpcAgain.Job.JobId);

        var other = await JobCalls.SubmitAsync(second.Http, Body(capability, key));
        var otherJob = (await MeshApi.EnsureAsync(other, HttpStatusCode.Created))!;
        Assert.NotEqual(JobCalls.Id(original), JobCalls.Id(otherJob));
        Assert.Equal(1, await mesh.CountJobsAsync(first));
        Assert.Equal(1, await mesh.CountJobsAsync(second));
    }

    [Fact]
    public async Task A_key_reused_with_another_request_is_422_over_rest_and_already_exists_over_grpc_while_the_same_request_still_gets_the_job()
    {
        var tenant = await mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("idem");
        var key = JobCalls.Unique("reused");
        var original = (await MeshApi.EnsureAsync(await JobCalls.SubmitAsync(tenant.Http, Body(capability, key)), HttpStatusCode.Created))!;

        var otherPayload = await JobCalls.SubmitAsync(tenant.Http, new { type = "charge", capability, payload = new { amount = 43 }, priority = 5 }, idempotencyHeader: key);
        var problem = await JobCalls.AssertProblemAsync(otherPayload, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("Idempotency key reused", problem["title"]!.GetValue<string>());
        Assert.Contains(key, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var otherPriority = await JobCalls.SubmitAsync(tenant.Http, new { type = "charge", capability, payload = new { amount = 42 }, priority = 6, idempotencyKey = key });
        await JobCalls.AssertProblemAsync(otherPriority, HttpStatusCode.UnprocessableEntity);

        var grpc = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(() => tenant.Jobs.SubmitAsync(new SubmitJobRequest
        {
            Type = "charge", Capability = capability, PayloadJson = """{"amount":44}""", Priority = 5, IdempotencyKey = key,
        }, tenant.Headers).ResponseAsync);
        Assert.Equal(global::Grpc.Core.StatusCode.AlreadyExists, grpc.StatusCode);

        var batch = (await MeshApi.EnsureAsync(await tenant.Http.PostAsync("/v1/jobs/batch", JobCalls.Json(new
        {
            jobs = new object[] { Body(capability, key), new { type = "charge", capability, payload = new { amount = 45 }, priority = 5, idempotencyKey = key } },
        })), HttpStatusCode.OK))!;
        var results = batch["results"]!.AsArray();
        Assert.Equal(JobCalls.Id(original), JobCalls.Id(results[0]!["job"]!));
        Assert.False(results[0]!["created"]!.GetValue<bool>());
        Assert.Null(results[1]!["job"]);
        Assert.Equal(422, results[1]!["error"]!["status"]!.GetValue<int>());

        // The same request, by header, body or gRPC, is still the first job.
        var same = (await MeshApi.EnsureAsync(await JobCalls.SubmitAsync(tenant.Http, Body(capability, null), idempotencyHeader: key), HttpStatusCode.OK))!;
        Assert.Equal(JobCalls.Id(original), JobCalls.Id(same));
        var grpcSame = await tenant.Jobs.SubmitAsync(new SubmitJobRequest
        {
            Type = "charge", Capability = capability, PayloadJson = """{"amount":42}""", Priority = 5, IdempotencyKey = key,
        }, tenant.Headers);
        Assert.False(grpcSame.Created);
        Assert.Equal(JobCalls.Id(original), grpcSame.Job.JobId);
        Assert.Equal(1, await mesh.CountJobsAsync(tenant));
        Assert.Equal(1, (await JobCalls.GetAsync(tenant.Http, JobCalls.Id(original)))["version"]!.GetValue<long>());
    }

    private static object Body(string capability, string? key) => key is null
        ? new { type = "charge", capability, payload = new { amount = 42 }, priority = 5 }
        : new { type = "charge", capability, payload = new { amount = 42 }, priority = 5, idempotencyKey = key };

    private static async Task<(string JobId, bool Created, string Via)> RestAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"Unexpected {(int)response.StatusCode}: {text}");
        return (JobCalls.Id(JsonNode.Parse(text)!), response.StatusCode == HttpStatusCode.Created, "rest");
    }
}

[Collection(EmbeddedKernelCollection.Name)]
public sealed class EmbeddedIdempotencyTests(EmbeddedKernelFixture fixture) : IdempotencyTests(fixture.Mesh);

[Collection(PostgresKernelCollection.Name)]
public sealed class PostgresIdempotencyTests(PostgresKernelFixture fixture) : IdempotencyTests(fixture.Mesh);
