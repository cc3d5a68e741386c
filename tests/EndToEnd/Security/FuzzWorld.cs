using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MeshOs.Tests.EndToEnd.Kernel;
using MeshOs.Testing;
using Npgsql;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// The real objects hostile requests aim at: a tenant with a key, a pending job, its own heartbeating agent, a second
/// tenant with a job of its own, and an open incident. A hostile request that slipped through would change one of
/// them, so <see cref="SnapshotAsync"/> before and after a run shows whether anything was written.
/// </summary>
public sealed class FuzzWorld : IAsyncDisposable
{
    private FuzzWorld(KernelMesh mesh, KernelTenant tenant, KernelTenant other, string keyId, string jobId, string otherJobId,
        RestAgent agent, string agentCapability, RestAgent otherAgent, string incidentId)
    {
        Mesh = mesh;
        Tenant = tenant;
        Other = other;
        KeyId = keyId;
        JobId = jobId;
        OtherJobId = otherJobId;
        Agent = agent;
        AgentCapability = agentCapability;
        OtherAgent = otherAgent;
        IncidentId = incidentId;
    }

    public KernelMesh Mesh { get; }

    /// <summary>The tenant whose key the hostile requests mostly present.</summary>
    public KernelTenant Tenant { get; }

    /// <summary>A second tenant: its objects must stay invisible to <see cref="Tenant"/>, and its key to the first's objects.</summary>
    public KernelTenant Other { get; }

    /// <summary>The id of <see cref="Tenant"/>'s key.</summary>
    public string KeyId { get; }

    /// <summary>A pending job of <see cref="Tenant"/> (no agent serves its capability).</summary>
    public string JobId { get; }

    /// <summary>A pending job of <see cref="Other"/>.</summary>
    public string OtherJobId { get; }

    /// <summary><see cref="Tenant"/>'s own agent (pool = the tenant id), heartbeating over REST so it stays Healthy.</summary>
    public RestAgent Agent { get; }

    public string AgentId => Agent.AgentId;

    public string AgentCapability { get; }

    /// <summary><see cref="Other"/>'s own agent, heartbeating too.</summary>
    public RestAgent OtherAgent { get; }

    public string OtherAgentId => OtherAgent.AgentId;

    /// <summary>An open P3 incident opened by hand (P3 does not escalate, so it does not change by itself).</summary>
    public string IncidentId { get; }

    /// <summary>The policy hostile compliance requests aim at: data residency in audit mode, on a pool nothing runs in.</summary>
    public const string CompliancePolicyId = "fz-policy";

    /// <summary>The pool of <see cref="CompliancePolicyId"/> (and of every policy a fuzz request creates).</summary>
    public const string CompliancePool = "fz-nowhere";

    /// <summary>The advisory hostile compliance requests aim at: fixed in 0.0.1, so it affects no agent.</summary>
    public const string AdvisoryId = "fz-advisory";

    /// <summary>The fuzz tenant's budget hostile budget requests aim at: alerts only, on a pool nothing runs in.</summary>
    public const string BudgetName = "fz-budget";
    /// <summary>The rate card hostile cost requests aim at: in force only in 2099, pricing a pool nothing runs in.</summary>
    public const string RateCardId = "fz-card";

    /// <summary>A valid body for <see cref="RateCardId"/> (a card at its effective time in 2099; any other id at that time is a conflict).</summary>
    public static JsonObject RateCardBody() => new()
    {
        ["effectiveFrom"] = "2099-01-01T00:00:00Z",
        ["currency"] = "USD",
        ["agentRates"] = new JsonArray(new JsonObject { ["pool"] = CompliancePool, ["runtime"] = null, ["region"] = null, ["hourlyRate"] = 1.5 }),
        ["unitPrices"] = new JsonArray(new JsonObject { ["unit"] = "tokens_in", ["model"] = null, ["price"] = 0.000001 }),
        ["note"] = "fuzz",
    };

    /// <summary>
    /// The recommendation hostile requests aim at: one that never exists (the fuzz mesh evaluates every 5 minutes and has
    /// no idle pool to recommend on), so a well-formed apply or dismiss is a 404 and nothing changes.
    /// </summary>
    public const string RecommendationId = "rec-0";

    /// <summary>Where a job a hostile submit slipped through would land: no agent serves it.</summary>
    public const string IdleCapability = "fz-idle";

    public static async Task<FuzzWorld> CreateAsync(KernelMesh mesh)
    {
        var tenant = await mesh.CreateTenantAsync();
        var other = await mesh.CreateTenantAsync();
        var info = (await MeshApi.EnsureAsync(await mesh.Api.Operator.GetAsync($"/v1/tenants/{tenant.Id}"), HttpStatusCode.OK))!;
        var keyId = info["keys"]![0]!["keyId"]!.GetValue<string>();

        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "fuzz-target", capability = IdleCapability, payload = new { n = 1 } }));
        var otherJobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(other.Http, new { type = "other-target", capability = IdleCapability, payload = new { n = 2 } }));

        var capability = JobCalls.Unique("fz-agent");
        var agent = new RestAgent(tenant.Http, JobCalls.Unique("fz-agent"));
        await agent.RegisterOkAsync(capability, pool: tenant.Id);
        agent.StartHeartbeats();
        var otherAgent = new RestAgent(other.Http, JobCalls.Unique("fz-other"));
        await otherAgent.RegisterOkAsync(capability, pool: other.Id);
        otherAgent.StartHeartbeats();

        var incident = (await MeshApi.EnsureAsync(await mesh.Api.Operator.PostAsJsonAsync("/v1/incidents",
            new { severity = "P3", title = "fuzz target", detail = "hostile requests aim here", dedupKey = JobCalls.Unique("fuzz"), actor = "fuzzer" }),
            HttpStatusCode.Created))!;
        var incidentId = incident["incident"]!["incidentId"]!.GetValue<string>();
        await MeshApi.EnsureAsync(await mesh.Api.Operator.PutAsJsonAsync($"/v1/compliance/policies/{CompliancePolicyId}",
            new { rule = "data-residency", mode = "Audit", severity = "Low", scope = new { kind = "pool", name = CompliancePool } }), HttpStatusCode.OK);
        await MeshApi.EnsureAsync(await mesh.Api.Operator.PutAsJsonAsync($"/v1/compliance/advisories/{AdvisoryId}",
            new { cvss = 1.0, fixedIn = "0.0.1", summary = "fuzz target" }), HttpStatusCode.OK);
        await MeshApi.EnsureAsync(await mesh.Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}/budgets/{BudgetName}",
            new { limit = 1000, currency = "USD", pool = CompliancePool }), HttpStatusCode.OK);
        await MeshApi.EnsureAsync(await mesh.Api.Operator.PutAsJsonAsync($"/v1/cost/rate-cards/{RateCardId}", RateCardBody()), HttpStatusCode.OK);
        var world = new FuzzWorld(mesh, tenant, other, keyId, jobId, otherJobId, agent, capability, otherAgent, incidentId);
        var window = (await MeshApi.EnsureAsync(await mesh.Api.Operator.PostAsJsonAsync("/v1/maintenance-windows", MaintenanceBody()), HttpStatusCode.Created))!;
        world.MaintenanceWindowId = window["id"]!.GetValue<string>();
        return world;
    }

    /// <summary>A scheduled maintenance window that is always valid: 60 days ahead, one hour, whole minutes.</summary>
    public static JsonObject MaintenanceBody()
    {
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero).AddDays(60);
        return new JsonObject { ["kind"] = "Scheduled", ["start"] = start, ["end"] = start.AddHours(1), ["title"] = "fuzz target", ["reason"] = "fuzz" };
    }

    /// <summary>A scheduled maintenance window of the fuzz world (for {windowId}).</summary>
    public string MaintenanceWindowId { get; private set; } = "mw-none";

    /// <summary>The real object of this world a path parameter names (<c>{jobId}</c>, <c>{tenantId}</c>, …); null for a parameter it has none for.</summary>
    public string? RealObject(string parameter) => parameter switch
    {
        "jobId" => JobId,
        "agentId" => AgentId,
        "tenantId" => Tenant.Id,
        "keyId" => KeyId,
        "incidentId" => IncidentId,
        "policyId" => CompliancePolicyId,
        "advisoryId" => AdvisoryId,
        "name" => BudgetName,
        "cardId" => RateCardId,
        "recommendationId" => RecommendationId,
        "windowId" => MaintenanceWindowId,
        "pool" => CompliancePool,
        "month" => DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>The headers that present <paramref name="caller"/>'s credentials.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Credentials(Caller caller) => caller switch
    {
        Caller.Operator => [new("x-api-key", MeshProcess.OperatorKey)],
        Caller.Tenant => [new("x-api-key", Tenant.Key)],
        Caller.OtherTenant => [new("x-api-key", Other.Key)],
        Caller.Enrollment => [new("x-enrollment-token", MeshProcess.EnrollmentToken)],
        Caller.None => [],
        Caller.GarbageKey => [new("x-api-key", "garbage-key-0123456789")],
        Caller.ForgedKey => [new("x-api-key", $"mk.{Tenant.Id}.{KeyId}.{new string('A', 43)}")],
        Caller.BadEnrollment => [new("x-enrollment-token", "et_not_the_token")],
        Caller.BasicAuth => [new("Authorization", "Basic dXNlcjpwYXNz")],
        Caller.HugeKey => [new("x-api-key", RestCatalog.Repeat(20_000, 'k'))],
        _ => throw new ArgumentOutOfRangeException(nameof(caller)),
    };

    /// <summary>Everything a hostile request could have changed, as comparable text.</summary>
    public async Task<WorldSnapshot> SnapshotAsync()
    {
        var op = Mesh.Api.Operator;
        var tenants = await PagesAsync(op, "/v1/tenants?limit=1000", "tenants");
        var agents = (await PagesAsync(op, "/v1/agents?limit=1000", "agents"))
            .Select(a => new JsonObject
            {
                ["agentId"] = a["agentId"]!.DeepClone(),
                ["owner"] = a["owner"]!.DeepClone(),
                ["pool"] = a["pool"]!.DeepClone(),
                ["capabilities"] = a["capabilities"]!.DeepClone(),
                ["state"] = a["state"]!.DeepClone(),
            });
        var incidents = (await PagesAsync(op, "/v1/incidents?limit=500", "incidents"))
            .ToDictionary(i => i["incidentId"]!.GetValue<string>(), i => i.ToJsonString(), StringComparer.Ordinal);
        var worldIncident = (await MeshApi.EnsureAsync(await op.GetAsync($"/v1/incidents/{IncidentId}"), HttpStatusCode.OK))!;
        var jobs = new[]
        {
            (await JobCalls.GetAsync(Tenant.Http, JobId)).ToJsonString(),
            (await JobCalls.GetAsync(Other.Http, OtherJobId)).ToJsonString(),
        };
        return new WorldSnapshot(
            await CountJobRowsAsync(),
            [.. tenants.Select(t => t.ToJsonString()).Order(StringComparer.Ordinal)],
            [.. agents.Select(a => a.ToJsonString()).Order(StringComparer.Ordinal)],
            incidents,
            worldIncident["incident"]!.ToJsonString(),
            jobs);
    }

    /// <summary>What differs between two snapshots, ignoring incidents the healing supervisor opened by itself.</summary>
    public async Task<List<string>> ChangesAsync(WorldSnapshot before, WorldSnapshot after)
    {
        var changes = new List<string>();
        if (before.JobRows != after.JobRows)
        {
            changes.Add($"jobs: {before.JobRows} before, {after.JobRows} after");
        }

        Compare("tenants", before.Tenants, after.Tenants, changes);
        Compare("agents", before.Agents, after.Agents, changes);
        Compare("jobs", before.Jobs, after.Jobs, changes);
        if (before.WorldIncident != after.WorldIncident)
        {
            changes.Add($"incident {IncidentId}: {Describe.Clip(before.WorldIncident, 400)} became {Describe.Clip(after.WorldIncident, 400)}");
        }

        foreach (var (id, summary) in before.Incidents)
        {
            if (!after.Incidents.TryGetValue(id, out var now) || now != summary)
            {
                changes.Add($"incident {id}: {Describe.Clip(summary, 300)} became {Describe.Clip(now, 300)}");
            }
        }

        foreach (var id in after.Incidents.Keys.Except(before.Incidents.Keys))
        {
            var opened = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/incidents/{id}"), HttpStatusCode.OK))!;
            if (opened["incident"]!["source"]?.GetValue<string>() != "healing")
            {
                changes.Add($"new incident {id}: {Describe.Clip(opened.ToJsonString(), 300)}");
            }
        }

        return changes;
    }

    /// <summary>Rows in meshos_jobs on PostgreSQL (counted by the server); otherwise both tenants' listed jobs.</summary>
    private async Task<long> CountJobRowsAsync()
    {
        if (Mesh.ConnectionString is null)
        {
            return (await JobCalls.ListAsync(Tenant.Http, "limit=500")).Count + (await JobCalls.ListAsync(Other.Http, "limit=500")).Count;
        }

        await using var connection = new NpgsqlConnection(Mesh.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM meshos_jobs", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<JsonNode>> PagesAsync(HttpClient client, string url, string items)
    {
        var all = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var page = (await MeshApi.EnsureAsync(
                await client.GetAsync(cursor is null ? url : $"{url}&cursor={Uri.EscapeDataString(cursor)}"), HttpStatusCode.OK))!;
            all.AddRange(page[items]!.AsArray().Select(i => i!));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        return all;
    }

    private static void Compare(string what, IReadOnlyList<string> before, IReadOnlyList<string> after, List<string> changes)
    {
        foreach (var gone in before.Except(after, StringComparer.Ordinal))
        {
            changes.Add($"{what}: {Describe.Clip(gone, 300)} changed or vanished");
        }

        foreach (var added in after.Except(before, StringComparer.Ordinal))
        {
            changes.Add($"{what}: {Describe.Clip(added, 300)} is new or changed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await OtherAgent.DisposeAsync();
    }
}

/// <summary>A comparable picture of everything the API can change: tenants, agents, incidents, jobs and job rows.</summary>
public sealed record WorldSnapshot(
    long JobRows,
    IReadOnlyList<string> Tenants,
    IReadOnlyList<string> Agents,
    IReadOnlyDictionary<string, string> Incidents,
    string WorldIncident,
    IReadOnlyList<string> Jobs);
