using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Tests.EndToEnd.Kernel;
using AuditChange = MeshOs.Abstractions.Audit.AuditChange;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// The audit trail as an auditor reads it: every mutation's entry carries the digest of what was asked (recomputed here
/// from the request, independently of the gateway's code), an operator's reads of job payloads are entries of their
/// own, and the log answers over gRPC as over REST. On an embedded silo (entries of job changes appended by the job
/// grain's call filter) and on PostgreSQL (written in the job change's transaction through the audit inbox, then
/// sealed): every entry exactly once either way. Each test makes its own tenants and ids.
/// </summary>
public abstract class AuditTrailTests(Func<KernelMesh> mesh)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private KernelMesh Mesh => mesh();

    private MeshApi Api => Mesh.Api;

    [Fact]
    public async Task Each_mutation_is_audited_with_the_digest_of_the_change_it_asked_for()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("audit-cap");

        // tenants.update: the settings given, null for each kept.
        await MeshApi.EnsureAsync(await Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}", new { name = "Audited", quotas = new { maxQueuedJobs = 5000 } }),
            HttpStatusCode.OK);
        await AssertDigestAsync("tenants.update", "tenant/" + tenant.Id, new AuditChange()
            .Add("name", "Audited").Add("kind", (string?)null).Add("maxConcurrentJobs", (string?)null).Add("submitsPerSecond", (string?)null)
            .Add("submitBurst", (string?)null).Add("maxPayloadBytes", (string?)null).Add("maxQueuedJobs", "5000").Add("pools", (string?)null)
            .Add("allowedRegions", (string?)null).Add("allowedDataClasses", (string?)null));

        // jobs.submit: the spec, the payload by size and SHA-256.
        const string payload = """{"n":1,"text":"not in the log"}""";
        var job = await JobCalls.SubmitCreatedAsync(tenant.Http, new
        {
            type = "audited", capability, pool = "platform", payload = JsonNode.Parse(payload), priority = 7, timeoutSeconds = 60, maxAttempts = 2,
        });
        var jobId = JobCalls.Id(job);
        await AssertDigestAsync("jobs.submit", "job/" + jobId, new AuditChange()
            .Add("type", "audited").Add("capability", capability).Add("pool", "platform").Add("priority", "7").Add("timeoutMs", "60000")
            .Add("maxAttempts", "2").Add("payload.bytes", Encoding.UTF8.GetByteCount(payload).ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Add("payload.sha256", Sha256(payload)));

        // agent.start and agent.complete: the epoch; the result by size and SHA-256, with the usage.
        await using (var agent = new RestAgent(RestAgent.EnrollmentClient(Api), JobCalls.Unique("audit-agent")))
        {
            await agent.RegisterOkAsync(capability);
            var lease = await agent.LeaseOneAsync(Patience);
            Assert.Equal(jobId, lease["jobId"]!.GetValue<string>());
            var epoch = lease["epoch"]!.GetValue<long>();
            await MeshApi.EnsureAsync(await agent.StartAsync(jobId, epoch), HttpStatusCode.NoContent);
            const string result = """{"answer":42}""";
            await MeshApi.EnsureAsync(await agent.CompleteAsync(jobId, epoch, result, tokensIn: 3, tokensOut: 4, cost: 0.5m), HttpStatusCode.NoContent);

            await AssertDigestAsync("agent.start", "job/" + jobId, new AuditChange().Add("epoch", epoch));
            await AssertDigestAsync("agent.complete", "job/" + jobId, new AuditChange()
                .Add("epoch", epoch).Add("succeeded", "true").Add("retryable", "false").Add("result.bytes", "13").Add("result.sha256", Sha256(result))
                .Add("error", (string?)null).Add("tokensIn", "3").Add("tokensOut", "4").Add("cost", "0.5"));
        }

        // jobs.cancel: the reason as given.
        var idle = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "audited", capability = JobCalls.Unique("nobody"), payload = new { } }));
        await MeshApi.EnsureAsync(await tenant.Http.PostAsJsonAsync($"/v1/jobs/{idle}/cancel", new { reason = "changed my mind" }), HttpStatusCode.OK);
        await AssertDigestAsync("jobs.cancel", "job/" + idle, new AuditChange().Add("reason", "changed my mind"));

        // incidents.acknowledge: who acknowledged.
        var opened = await Api.Operator.PostAsJsonAsync("/v1/incidents", new { severity = "P3", title = "audit trail", dedupKey = JobCalls.Unique("audit-inc") });
        await MeshApi.EnsureAsync(opened, HttpStatusCode.Created);
        var incidentId = opened.Headers.Location!.OriginalString.Split('/')[^1];
        await MeshApi.EnsureAsync(await Api.Operator.PostAsJsonAsync($"/v1/incidents/{incidentId}/acknowledge", new { actor = "alice" }), HttpStatusCode.OK);
        await AssertDigestAsync("incidents.acknowledge", "incident/" + incidentId, new AuditChange().Add("actor", "alice"));
    }

    [Fact]
    public async Task An_operators_read_of_a_job_is_audited_before_the_answer_and_a_tenants_own_read_is_not()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "read", capability = JobCalls.Unique("nobody"), payload = new { secret = 1 } }));
        var target = "job/" + jobId;

        // The tenant reads its own job: nothing recorded.
        await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Empty(await EntriesAsync("jobs.read", target));

        // The operator reads it over REST: the payload comes back, and the entry was made before the answer.
        var read = await JobCalls.GetAsync(Api.Operator, jobId);
        Assert.Equal(1, read["payload"]!["secret"]!.GetValue<int>());
        var entry = Assert.Single(await EntriesAsync("jobs.read", target));
        Assert.Equal(("operator", "operator", "succeeded", "rest"), (Kind(entry), entry["draft"]!["actor"]!["keyId"]!.GetValue<string>(),
            entry["draft"]!["outcome"]!.GetValue<string>().ToLowerInvariant(), entry["draft"]!["transport"]!.GetValue<string>()));
        Assert.Equal(new AuditChange().Add("jobId", jobId).Add("fields", "payload,result").Digest(), entry["draft"]!["changeDigest"]!.GetValue<string>());

        // And over gRPC.
        using var channel = Api.Channel();
        var jobs = new Jobs.JobsClient(channel);
        var viaGrpc = await jobs.GetAsync(new GetJobRequest { JobId = jobId }, MeshApi.Key(MeshOs.Testing.MeshProcess.OperatorKey));
        Assert.Equal(jobId, viaGrpc.JobId);
        Assert.Contains(await EntriesAsync("jobs.read", target), e => e!["draft"]!["transport"]!.GetValue<string>() == "grpc");

        // A refused read is recorded too.
        var missing = Guid.NewGuid().ToString();
        await JobCalls.AssertProblemAsync(await Api.Operator.GetAsync($"/v1/jobs/{missing}"), HttpStatusCode.NotFound);
        var refused = Assert.Single(await EntriesAsync("jobs.read", "job/" + missing));
        Assert.Equal(("refused", "NotFound"), (refused["draft"]!["outcome"]!.GetValue<string>().ToLowerInvariant(), refused["draft"]!["errorCode"]!.GetValue<string>()));

        // The tenant's own reads still leave nothing.
        await JobCalls.GetAsync(tenant.Http, jobId);
        Assert.Equal(2, (await EntriesAsync("jobs.read", target)).Count);
    }

    [Fact]
    public async Task The_audit_log_answers_over_grpc_with_tenant_visibility_bad_filters_and_an_operator_only_verify()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var other = await Mesh.CreateTenantAsync();
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "grpc", capability = JobCalls.Unique("nobody"), payload = new { } }));
        await JobCalls.SubmitCreatedAsync(other.Http, new { type = "grpc", capability = JobCalls.Unique("nobody"), payload = new { } });
        using var channel = Api.Channel();
        var audit = new MeshOs.Grpc.V1.Audit.AuditClient(channel);
        var operatorKey = MeshApi.Key(MeshOs.Testing.MeshProcess.OperatorKey);

        // The operator: the same entry REST shows, field for field.
        var page = await audit.QueryAsync(new AuditQueryRequest { Action = "jobs.submit", Target = "job/" + jobId }, operatorKey);
        var entry = Assert.Single(page.Entries);
        var rest = Assert.Single(await EntriesAsync("jobs.submit", "job/" + jobId));
        Assert.Equal((rest["seq"]!.GetValue<long>(), rest["hash"]!.GetValue<string>(), rest["draft"]!["changeDigest"]!.GetValue<string>(), tenant.Id),
            (entry.Seq, entry.Hash, entry.ChangeDigest, entry.Tenant));
        Assert.Matches("^[0-9a-f]{64}$", entry.ChangeDigest);
        Assert.Equal((AuditOutcome.Succeeded, "tenant", tenant.Id), (entry.Outcome, entry.Actor.Kind, entry.Actor.TenantId));

        // A tenant: its own entries only, paged and exported; naming another tenant is INVALID_ARGUMENT.
        var own = await audit.QueryAsync(new AuditQueryRequest { Limit = 1000 }, tenant.Headers);
        Assert.NotEmpty(own.Entries);
        Assert.All(own.Entries, e => Assert.Equal(tenant.Id, e.Tenant));
        var named = await Assert.ThrowsAsync<RpcException>(() => audit.QueryAsync(new AuditQueryRequest { Tenant = other.Id }, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, named.StatusCode);
        Assert.StartsWith("tenant:", named.Status.Detail, StringComparison.Ordinal);
        using (var export = audit.Export(new AuditExportRequest(), tenant.Headers))
        {
            var exported = new List<MeshOs.Grpc.V1.AuditEntry>();
            while (await export.ResponseStream.MoveNext(CancellationToken.None))
            {
                exported.Add(export.ResponseStream.Current);
            }

            Assert.Contains(exported, e => e.Target == "job/" + jobId);
            Assert.All(exported, e => Assert.Equal(tenant.Id, e.Tenant));
        }

        // Bad filters: INVALID_ARGUMENT naming the field, for a query and before an export's first entry.
        foreach (var (request, field) in new (AuditQueryRequest, string)[]
        {
            (new AuditQueryRequest { Limit = 1001 }, "limit"),
            (new AuditQueryRequest { Cursor = "not-a-cursor" }, "cursor"),
            (new AuditQueryRequest { Actor = new string('a', 257) }, "actor"),
            (new AuditQueryRequest { From = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), To = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)) }, "from"),
        })
        {
            var bad = await Assert.ThrowsAsync<RpcException>(() => audit.QueryAsync(request, operatorKey).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.StartsWith(field + ":", bad.Status.Detail, StringComparison.Ordinal);
        }

        using (var badExport = audit.Export(new AuditExportRequest { Target = new string('t', 257) }, operatorKey))
        {
            var bad = await Assert.ThrowsAsync<RpcException>(() => badExport.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.StartsWith("target:", bad.Status.Detail, StringComparison.Ordinal);
        }

        // Verify: the operator's; a tenant is PERMISSION_DENIED; a bad range is INVALID_ARGUMENT.
        var verdict = await audit.VerifyAsync(new AuditVerifyRequest(), operatorKey);
        Assert.True(verdict.Intact, verdict.Detail);
        Assert.Equal((AuditProblem.None, 0L), (verdict.Problem, verdict.BrokenSeq));
        Assert.True(verdict.EntriesChecked > 0);
        var denied = await Assert.ThrowsAsync<RpcException>(() => audit.VerifyAsync(new AuditVerifyRequest(), tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        var badRange = await Assert.ThrowsAsync<RpcException>(() => audit.VerifyAsync(new AuditVerifyRequest { From = 0 }, operatorKey).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badRange.StatusCode);
        Assert.StartsWith("from:", badRange.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>The one entry of <paramref name="action"/> on <paramref name="target"/> has a 64-hex digest: <paramref name="expected"/>'s.</summary>
    private async Task AssertDigestAsync(string action, string target, AuditChange expected)
    {
        var entries = await EntriesAsync(action, target);
        var entry = Assert.Single(entries);
        var digest = entry["draft"]!["changeDigest"]?.GetValue<string>();
        Assert.NotNull(digest);
        Assert.Matches("^[0-9a-f]{64}$", digest);
        Assert.True(expected.Digest() == digest, $"{action} on {target}: digest {digest}, expected that of {string.Join(", ", expected.Fields.Select(f => $"{f.Key}={f.Value ?? "null"}"))}");
    }

    private async Task<List<JsonNode>> EntriesAsync(string action, string target) =>
        [.. (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/audit?action={Uri.EscapeDataString(action)}&target={Uri.EscapeDataString(target)}&limit=1000"),
            HttpStatusCode.OK))!["entries"]!.AsArray().Select(e => e!)];

    private static string Kind(JsonNode entry) => entry["draft"]!["actor"]!["kind"]!.GetValue<string>();

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary><see cref="AuditTrailTests"/> on one embedded silo.</summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class EmbeddedAuditTrailTests(EmbeddedKernelFixture fixture) : AuditTrailTests(() => fixture.Mesh);

/// <summary><see cref="AuditTrailTests"/> on a silo over PostgreSQL.</summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class PostgresAuditTrailTests(PostgresKernelFixture fixture) : AuditTrailTests(() => fixture.Mesh);
