using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MeshOs.Tests.EndToEnd.Kernel;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Two tenants and their objects for the isolation tests: a <see cref="FuzzWorld"/> (whose <c>Tenant</c> is the
/// victim and <c>Other</c> the intruder, each with a pending job and a heartbeating agent of its own), plus a job of
/// the victim that a platform agent holds leased, and a job of the victim submitted with an idempotency key. The
/// leased job is the richest target: an intruder who knew its id and epoch could try to report on it.
/// </summary>
public sealed class IsolationWorld : IAsyncDisposable
{
    /// <summary>The idempotency key of <see cref="KeyedJobId"/>: the intruder presents the same one.</summary>
    public const string SharedIdempotencyKey = "iso-shared-key";

    private IsolationWorld(FuzzWorld world, HttpClient enrollment, RestAgent platformAgent, string leasedJobId, long leasedEpoch, string keyedJobId)
    {
        World = world;
        Enrollment = enrollment;
        PlatformAgent = platformAgent;
        LeasedJobId = leasedJobId;
        LeasedEpoch = leasedEpoch;
        KeyedJobId = keyedJobId;
    }

    public FuzzWorld World { get; }

    public KernelMesh Mesh => World.Mesh;

    /// <summary>The tenant whose objects are attacked.</summary>
    public KernelTenant Victim => World.Tenant;

    /// <summary>The tenant whose key attacks them.</summary>
    public KernelTenant Intruder => World.Other;

    /// <summary>A client presenting the platform enrollment token.</summary>
    public HttpClient Enrollment { get; }

    /// <summary>A platform agent holding <see cref="LeasedJobId"/> (heartbeating, so the lease stays current).</summary>
    public RestAgent PlatformAgent { get; }

    /// <summary>A job of the victim, leased to <see cref="PlatformAgent"/> under <see cref="LeasedEpoch"/>.</summary>
    public string LeasedJobId { get; }

    public long LeasedEpoch { get; }

    /// <summary>A pending job of the victim submitted with <see cref="SharedIdempotencyKey"/>.</summary>
    public string KeyedJobId { get; }

    /// <summary>The victim's jobs, by the role they play.</summary>
    public IReadOnlyList<string> VictimJobs => [World.JobId, LeasedJobId, KeyedJobId];

    public static async Task<IsolationWorld> CreateAsync(KernelMesh mesh)
    {
        var world = await FuzzWorld.CreateAsync(mesh);
        var victim = world.Tenant;
        var keyed = JobCalls.Id(await JobCalls.SubmitCreatedAsync(victim.Http,
            new { type = "keyed", capability = FuzzWorld.IdleCapability, payload = new { n = 3 }, idempotencyKey = SharedIdempotencyKey }));

        var capability = JobCalls.Unique("iso-lease");
        var leased = JobCalls.Id(await JobCalls.SubmitCreatedAsync(victim.Http, new { type = "leased", capability, payload = new { secret = "s3" } }));
        var enrollment = RestAgent.EnrollmentClient(mesh.Api);
        var platformAgent = new RestAgent(enrollment, JobCalls.Unique("iso-platform"));
        await platformAgent.RegisterOkAsync(capability);
        var assignment = await platformAgent.LeaseOneAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(leased, assignment["jobId"]!.GetValue<string>());
        platformAgent.StartHeartbeats();
        return new IsolationWorld(world, enrollment, platformAgent, leased, assignment["epoch"]!.GetValue<long>(), keyed);
    }

    /// <summary>
    /// Everything of this world an intruder could have changed: both tenants (settings and keys), the world's three
    /// agents, its incident, and every job of both tenants. Other tests' objects on the same silo are left out (their
    /// agents fall silent and the healing supervisor acts on them meanwhile).
    /// </summary>
    public async Task<SortedDictionary<string, string>> SnapshotAsync()
    {
        var op = Mesh.Api.Operator;
        var state = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var tenant in new[] { Victim, Intruder })
        {
            state[$"tenant {tenant.Id}"] = (await MeshApi.EnsureAsync(await op.GetAsync($"/v1/tenants/{tenant.Id}"), HttpStatusCode.OK))!.ToJsonString();
            var jobs = await JobCalls.ListAsync(tenant.Http, "limit=500");
            state[$"jobs of {tenant.Id}"] = string.Join(",", jobs.Select(JobCalls.Id).Order(StringComparer.Ordinal));
            foreach (var job in jobs)
            {
                state[$"job {JobCalls.Id(job)}"] = JobState(job);
            }
        }

        foreach (var agentId in new[] { World.AgentId, World.OtherAgentId, PlatformAgent.AgentId })
        {
            var agent = await AgentAsync(agentId);
            state[$"agent {agentId}"] = string.Join(" ", new[] { "owner", "pool", "capabilities", "maxConcurrency", "state" }.Select(f => $"{f}={agent[f]?.ToJsonString()}"));
        }

        state[$"incident {World.IncidentId}"] = (await MeshApi.EnsureAsync(await op.GetAsync($"/v1/incidents/{World.IncidentId}"), HttpStatusCode.OK))!["incident"]!.ToJsonString();
        return state;
    }

    /// <summary>Everything that differs between two snapshots.</summary>
    public static List<string> Changes(SortedDictionary<string, string> before, SortedDictionary<string, string> after) =>
    [
        .. before.Where(b => !after.TryGetValue(b.Key, out var now) || now != b.Value)
            .Select(b => $"{b.Key}: {Describe.Clip(b.Value, 300)} became {Describe.Clip(after.GetValueOrDefault(b.Key), 300)}"),
        .. after.Keys.Except(before.Keys).Select(k => $"{k}: new, {Describe.Clip(after[k], 300)}"),
    ];

    /// <summary>The parts of a job a report or a cancel would change (not the lease's expiry, which heartbeats move).</summary>
    private static string JobState(JsonNode job) => new JsonObject
    {
        ["status"] = job["status"]!.DeepClone(),
        ["version"] = job["version"]!.DeepClone(),
        ["attempts"] = job["attempts"]!.DeepClone(),
        ["agentId"] = job["agentId"]?.DeepClone(),
        ["result"] = job["result"]?.DeepClone(),
        ["error"] = job["error"]?.DeepClone(),
        ["updatedAt"] = job["updatedAt"]!.DeepClone(),
    }.ToJsonString();

    /// <summary>One job of the victim as <see cref="SnapshotAsync"/> records it.</summary>
    public async Task<string> VictimJobStateAsync(string jobId) => JobState(await JobCalls.GetAsync(Victim.Http, jobId));

    /// <summary>The victim's agent as the operator sees it.</summary>
    public async Task<JsonNode> AgentAsync(string agentId) =>
        (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/agents/{agentId}"), HttpStatusCode.OK))!;

    /// <summary>Issues a second key for the victim and revokes it; returns the revoked key.</summary>
    public async Task<string> RevokedKeyAsync()
    {
        var issued = (await MeshApi.EnsureAsync(
            await Mesh.Api.Operator.PostAsJsonAsync($"/v1/tenants/{Victim.Id}/keys", new { name = "revoked" }), HttpStatusCode.Created))!;
        await MeshApi.EnsureAsync(await Mesh.Api.Operator.DeleteAsync($"/v1/tenants/{Victim.Id}/keys/{issued["keyId"]!.GetValue<string>()}"), HttpStatusCode.OK);
        return issued["key"]!.GetValue<string>();
    }

    public static KeyValuePair<string, string>[] Key(string key) => [new(CredentialHeaders.ApiKeyHeader, key)];

    public static KeyValuePair<string, string>[] EnrollmentToken => [new(CredentialHeaders.EnrollmentTokenHeader, MeshProcess.EnrollmentToken)];

    public async ValueTask DisposeAsync()
    {
        await PlatformAgent.DisposeAsync();
        await World.DisposeAsync();
    }
}

/// <summary>Header names of the credentials (as the gateway reads them).</summary>
public static class CredentialHeaders
{
    public const string ApiKeyHeader = "x-api-key";
    public const string EnrollmentTokenHeader = "x-enrollment-token";
}

/// <summary>A REST answer as the isolation tests judge it.</summary>
public sealed record RestReply(int Status, string? ContentType, string Body, string? RetryAfter)
{
    public override string ToString() => $"{Status} ({ContentType ?? "no content type"}) {Describe.Clip(Body, 300)}";

    public bool IsProblem => ContentType == "application/problem+json";

    /// <summary>The problem's status, title and detail, with <paramref name="id"/> written as {id}: comparable across ids.</summary>
    public string Problem(string id)
    {
        if (!IsProblem)
        {
            return $"{Status} without problem details: {Describe.Clip(Body, 200)}";
        }

        var problem = JsonNode.Parse(Body)!;
        return $"{problem["status"]} {problem["title"]}: {problem["detail"]}".Replace(id, "{id}", StringComparison.Ordinal);
    }
}

/// <summary>Sends one REST request with chosen credentials; an event stream's body is not read.</summary>
public static class RestCall
{
    public static async Task<RestReply> SendAsync(HttpClient http, string method, string path, JsonNode? body,
        IEnumerable<KeyValuePair<string, string>> headers)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = JobCalls.Json(body.ToJsonString());
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var type = response.Content.Headers.ContentType?.MediaType;
        var text = type == "text/event-stream" ? "(an event stream)" : await response.Content.ReadAsStringAsync(timeout.Token);
        return new RestReply((int)response.StatusCode, type, text, response.Headers.RetryAfter?.ToString());
    }
}
