using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.AgentSim;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Cost;

/// <summary>
/// Cost recommendations applied automatically, with real processes: a silo on PostgreSQL with short windows, a
/// simulated fleet over gRPC acting as its pool's runtime (it declares the pool scalable). The fleet sits idle: a
/// scale-down is recommended and applied under the pool's autoscale policy, down to its minimum, and the fleet shrinks;
/// then a burst of jobs makes queue pressure and the fleet is scaled back up to the policy's maximum. The stopped agents
/// leave the mesh (Offline), the started ones join its pool; every applied action is in the audit log as the system's,
/// on the recommendation list (REST and gRPC) and in the metrics; bad input is refused.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AutoscaleEndToEndTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Agents = 4;
    private const int MinAgents = 2;
    private const int MaxAgents = 4;
    private const int Burst = 40;

    /// <summary>Longer than a scaled agent takes to register (or to leave) on a busy machine: one action at a time.</summary>
    private const int CooldownSeconds = 8;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    private MeshProcess? _silo;

    [Fact]
    public async Task An_idle_fleet_is_scaled_down_to_its_minimum_and_queue_pressure_scales_it_back_up_to_its_maximum()
    {
        var clock = Stopwatch.StartNew();
        var database = await postgres.CreateDatabaseAsync();
        await using var silo = MeshProcess.StartSilo(database, "autoscale-e2e", new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
            ["MeshOs:Events:PumpInterval"] = "00:00:00.100",
            ["MeshOs:Cost:FlushInterval"] = "00:00:00.500",
            ["MeshOs:Cost:EventInterval"] = "00:00:00.200", // where the cost consumer has its own pump interval
            ["MeshOs:Cost:SettleDelay"] = "00:00:01",
            ["MeshOs:Cost:Recommendations:EvaluationInterval"] = "00:00:00.500",
            ["MeshOs:Cost:Recommendations:Window"] = "00:00:01",
            ["MeshOs:Cost:Recommendations:ScaleUpSignalAge"] = "00:00:10",
            ["MeshOs:Healing:TickInterval"] = "00:00:00.200",
            ["MeshOs:Healing:QueueCheckInterval"] = "00:00:00.300",
            ["MeshOs:Healing:QueuePressureThreshold"] = "5",
            ["MeshOs:Healing:QueuePressureDuration"] = "00:00:01",
            // The burst is meant to outrun the fleet: admission control would shed it (429) instead of letting the queue grow.
            ["MeshOs:Admission:Enabled"] = "false",
        });
        await silo.WaitReadyAsync();
        _silo = silo;
        using var api = new MeshApi(silo);
        var name = "scale-" + Guid.NewGuid().ToString("N")[..8];
        var pool = "platform/" + name; // the platform's own pool: its fleet (enrollment token) may scale it
        var (_, key) = await api.CreateTenantAsync(pools: [pool]);
        var tenant = api.Client(key);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: silo on PostgreSQL ready");

        await using var fleet = new SimulatedFleet(new SimulationOptions
        {
            Endpoint = silo.GrpcUrl,
            Count = Agents,
            IdPrefix = name + "-sim-",
            Pool = pool,
            Capabilities = "scale",
            Concurrency = 1,
            LatencyMs = 2000,
            CostPerHour = 0.30,
            EnrollmentToken = MeshProcess.EnrollmentToken,
            RuntimeId = name + "-runtime",
            Scalable = true,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
        });
        await fleet.StartAsync();
        await WaitAsync(() => HealthyAsync(api, pool), n => n == Agents, "the whole fleet Healthy");
        var original = fleet.AgentIds.ToHashSet(StringComparer.Ordinal);

        // Bad policies change nothing.
        await JobCalls.AssertProblemAsync(await api.Operator.PutAsJsonAsync("/v1/cost/autoscale",
            new { pool, enabled = true, minAgents = 5, maxAgents = 4, cooldownSeconds = CooldownSeconds }), HttpStatusCode.BadRequest);
        Assert.False((await MeshApi.JsonAsync(await api.Operator.GetAsync($"/v1/cost/autoscale?pool={pool}")))["enabled"]!.GetValue<bool>());

        // 1. Idle: the advisor recommends scaling down; once a policy allows it, it is applied down to the minimum.
        await MeshApi.EnsureAsync(await api.Operator.PutAsJsonAsync("/v1/cost/autoscale",
            new { pool, enabled = true, minAgents = MinAgents, maxAgents = MaxAgents, cooldownSeconds = CooldownSeconds }), HttpStatusCode.OK);
        await WaitAsync(() => Task.FromResult(fleet.AgentIds.Count), n => n == MinAgents, "the fleet shrunk to the policy's minimum");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: scaled down to {MinAgents}");
        var down = await WaitAsync(() => RecommendationsAsync(api, pool, "ScaleDown", "Applied"), r => r.Count == 1, "the applied scale-down listed");
        var scaleDown = down.Single();
        Assert.Equal(("autoscale", Agents, -(Agents - 1)), (scaleDown["appliedBy"]!.GetValue<string>(), scaleDown["agentsNow"]!.GetValue<int>(),
            scaleDown["change"]!.GetValue<int>())); // it proposed 1 agent (none busy); the policy's minimum kept 2
        Assert.True(scaleDown["monthlySaving"]!.GetValue<decimal>() > 0);
        Assert.Equal(0m, scaleDown["evidence"]!["utilization"]!.GetValue<decimal>());
        Assert.Equal(Agents - MinAgents, original.Count(id => !fleet.AgentIds.Contains(id)));
        await WaitAsync(() => HealthyAsync(api, pool), n => n == MinAgents, "the mesh counts the minimum");
        // The stopped agents left the mesh (deregistered on their runtime's report), not dead agents for healing to restart.
        var stopped = scaleDown["agentIds"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Equal(original.Where(id => !fleet.AgentIds.Contains(id)).Order(StringComparer.Ordinal), stopped);
        foreach (var id in stopped)
        {
            await WaitAsync(async () => (await MeshApi.JsonAsync(await api.Operator.GetAsync($"/v1/agents/{id}")))["state"]!.GetValue<string>(),
                state => state == "Offline", $"{id} Offline");
        }

        // 2. A burst the two agents cannot keep up with: the healing supervisor sees queue pressure, the advisor scales up.
        for (var n = 0; n < Burst; n++)
        {
            await MeshApi.EnsureAsync(await tenant.PostAsJsonAsync("/v1/jobs", new { type = "burst", capability = "scale", pool, payload = new { n } }),
                HttpStatusCode.Created);
        }

        await WaitAsync(() => Task.FromResult(fleet.AgentIds.Count), n => n == MaxAgents, "the fleet grew back to the policy's maximum");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: scaled up to {MaxAgents}");
        await WaitAsync(() => HealthyAsync(api, pool), n => n == MaxAgents, "the mesh counts the new agents");
        Assert.Equal(MaxAgents, fleet.AgentIds.Count);
        Assert.Equal(MaxAgents - MinAgents, fleet.AgentIds.Count(id => !original.Contains(id)));
        var up = await RecommendationsAsync(api, pool, "ScaleUp", "Applied");
        Assert.Equal("autoscale", Assert.Single(up)["appliedBy"]!.GetValue<string>());
        Assert.Equal(2, fleet.RuntimeScaleOrders);
        foreach (var id in fleet.AgentIds.Where(id => !original.Contains(id)))
        {
            var started = await MeshApi.JsonAsync(await api.Operator.GetAsync($"/v1/agents/{id}"));
            Assert.Equal((pool, "scale"), (started["pool"]!.GetValue<string>(), started["capabilities"]![0]!.GetValue<string>()));
        }

        var metrics = await api.Anonymous.GetStringAsync("/metrics");
        Assert.Contains("meshos_cost_recommendations_open", metrics, StringComparison.Ordinal);
        Assert.Contains("meshos_cost_recommendations_applied", metrics, StringComparison.Ordinal);

        // 3. Both actions audited as the system's, with their targets.
        var audit = (await MeshApi.EnsureAsync(await api.Operator.GetAsync("/v1/audit?action=cost.recommendations.apply"), HttpStatusCode.OK))!["entries"]!.AsArray();
        Assert.Equal(new[] { $"recommendation/{scaleDown["id"]}", $"recommendation/{up.Single()["id"]}" }.Order(StringComparer.Ordinal),
            audit.Select(e => e!["draft"]!["target"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(audit, e => Assert.Equal(("system", "autoscale"), (e!["draft"]!["actor"]!["kind"]!.GetValue<string>(), e["draft"]!["actor"]!["keyId"]!.GetValue<string>())));

        // 4. The API's refusals: an unknown id is 404; a dismissed recommendation cannot be applied (409).
        await JobCalls.AssertProblemAsync(await api.Operator.PostAsync("/v1/cost/recommendations/rec-999999/apply", null), HttpStatusCode.NotFound);
        var dismissed = await DismissOneAsync(api, pool);
        await JobCalls.AssertProblemAsync(await api.Operator.PostAsync($"/v1/cost/recommendations/{dismissed}/apply", null), HttpStatusCode.Conflict);
        await JobCalls.AssertProblemAsync(await api.Operator.PostAsJsonAsync($"/v1/cost/recommendations/{dismissed}/dismiss", new { reason = "again" }),
            HttpStatusCode.Conflict);

        // 5. The same over gRPC: the list, and a policy with min > max refused naming the field.
        var grpc = new Recommendations.RecommendationsClient(api.Channel());
        var operatorKey = MeshApi.Key(MeshProcess.OperatorKey);
        var listed = await grpc.ListRecommendationsAsync(new ListRecommendationsRequest { Pool = pool, Status = "Applied" }, operatorKey);
        Assert.Equal(["ScaleDown", "ScaleUp"], listed.Recommendations.Select(r => r.Kind).Order(StringComparer.Ordinal));
        var refused = await Assert.ThrowsAsync<RpcException>(() => grpc.PutAutoscalePolicyAsync(
            new AutoscalePolicy { Pool = pool, Enabled = true, MinAgents = 3, MaxAgents = 2, CooldownSeconds = 1 }, operatorKey).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.StartsWith("min_agents:", refused.Status.Detail, StringComparison.Ordinal); // the protobuf name (ProtoNames)
        var policy = await grpc.GetAutoscalePolicyAsync(new AutoscalePolicyRef { Pool = pool }, operatorKey);
        Assert.Equal((true, MinAgents, MaxAgents, CooldownSeconds), (policy.Enabled, policy.MinAgents, policy.MaxAgents, policy.CooldownSeconds));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: done");
    }

    /// <summary>Dismisses an open recommendation of the pool (one the next evaluation supersedes first is tried again).</summary>
    private async Task<string> DismissOneAsync(MeshApi api, string pool)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if ((await RecommendationsAsync(api, pool, null, "Open")).FirstOrDefault() is { } open)
            {
                var id = open["id"]!.GetValue<string>();
                using var response = await api.Operator.PostAsJsonAsync($"/v1/cost/recommendations/{id}/dismiss", new { reason = "kept by hand" });
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var body = await MeshApi.JsonAsync(response);
                    Assert.Equal(("Dismissed", "kept by hand"), (body["status"]!.GetValue<string>(), body["reason"]!.GetValue<string>()));
                    return id;
                }

                Assert.Equal(HttpStatusCode.Conflict, response.StatusCode); // superseded in between
            }

            await Task.Delay(100);
        }

        Assert.Fail("No open recommendation to dismiss.");
        return string.Empty;
    }

    private static async Task<List<JsonNode>> RecommendationsAsync(MeshApi api, string pool, string? kind, string status) =>
        [.. (await MeshApi.EnsureAsync(await api.Operator.GetAsync($"/v1/cost/recommendations?pool={pool}&status={status}" + (kind is null ? string.Empty : $"&kind={kind}")),
            HttpStatusCode.OK))!.AsArray().Select(r => r!)];

    /// <summary>The pool's agents the mesh has Healthy.</summary>
    private static async Task<int> HealthyAsync(MeshApi api, string pool)
    {
        var agents = (await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/agents?owner=platform&limit=1000")))["agents"]!.AsArray();
        return agents.Count(a => a!["pool"]!.GetValue<string>() == pool && a["state"]!.GetValue<string>() == "Healthy");
    }

    private async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var value = await Eventually.WaitAsync(read, done, Patience, TimeSpan.FromMilliseconds(50));
        if (!done(value))
        {
            Assert.Fail($"Not within {Patience.TotalSeconds:0} s: {what}; last seen: {value}. What the silo logged about cost and scaling:\n"
                + string.Join('\n', (_silo?.Output ?? string.Empty).Split('\n').Where(l => l.Contains("advisor", StringComparison.OrdinalIgnoreCase)
                    || l.Contains("scale", StringComparison.OrdinalIgnoreCase) || l.Contains("pressure", StringComparison.OrdinalIgnoreCase)).TakeLast(60)));
        }

        return value;
    }
}
