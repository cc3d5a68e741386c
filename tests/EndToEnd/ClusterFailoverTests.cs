using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd;

/// <summary>The cluster mode: silo processes on one PostgreSQL, a standalone gateway, SIGKILL of a silo.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterFailoverTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Grains_of_a_killed_silo_are_active_on_the_survivor_within_10_seconds()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var first = MeshProcess.StartSilo(database, clusterId: "failover");
        await first.WaitReadyAsync();
        await using var second = MeshProcess.StartSilo(database, clusterId: "failover");
        await second.WaitReadyAsync();
        using var api = new MeshApi(first);

        var members = await Eventually.WaitAsync(
            async () => (await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/status")))["cluster"]!["activeSilos"]!.GetValue<int>(),
            active => active == 2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, members);

        // Tenants are grains with persisted state; with two silos they are spread over both.
        var tenants = new List<string>();
        for (var i = 0; i < 24; i++)
        {
            tenants.Add((await api.CreateTenantAsync()).TenantId);
        }

        second.Kill();
        var killedAt = Stopwatch.StartNew();

        // Every tenant answers again through the survivor, its state loaded from PostgreSQL.
        var readable = await Eventually.WaitAsync(async () =>
        {
            var answers = await Task.WhenAll(tenants.Select(id => api.Operator.GetAsync($"/v1/tenants/{id}")));
            return answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        }, count => count == tenants.Count, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(250));
        var recovered = killedAt.Elapsed;
        Assert.Equal(tenants.Count, readable);
        Assert.True(recovered < TimeSpan.FromSeconds(10), $"All grains were back only after {recovered.TotalSeconds:0.0} s.");

        var status = await Eventually.WaitAsync(
            async () => await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/status")),
            s => s["cluster"]!["activeSilos"]!.GetValue<int>() == 1, TimeSpan.FromSeconds(20));
        Assert.Equal(1, status["cluster"]!["activeSilos"]!.GetValue<int>());
        Assert.Contains(status["cluster"]!["members"]!.AsArray(), m => m!["status"]!.GetValue<string>() == "Dead");
    }

    [Fact]
    public async Task Standalone_gateway_serves_the_cluster_of_two_silos_and_survives_a_silo_kill()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var first = MeshProcess.StartSilo(database, clusterId: "gw", coHostGateway: false);
        await first.WaitReadyAsync();
        await using var second = MeshProcess.StartSilo(database, clusterId: "gw", coHostGateway: false);
        await second.WaitReadyAsync();
        await using var gateway = MeshProcess.StartGateway(database, clusterId: "gw");
        await gateway.WaitReadyAsync();
        using var api = new MeshApi(gateway);

        var status = await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/status"));
        Assert.Equal("gateway", status["role"]!.GetValue<string>());
        Assert.Equal("postgresql", status["storage"]!.GetValue<string>());

        // A silo without the co-hosted gateway serves only the operational endpoints.
        using var siloApi = new MeshApi(first);
        Assert.Equal(HttpStatusCode.NotFound, (await siloApi.Operator.GetAsync("/v1/tenants")).StatusCode);

        var tenants = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            tenants.Add((await api.CreateTenantAsync()).TenantId);
        }

        second.Kill();
        var readable = await Eventually.WaitAsync(async () =>
        {
            var answers = await Task.WhenAll(tenants.Select(id => api.Operator.GetAsync($"/v1/tenants/{id}")));
            return answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        }, count => count == tenants.Count, TimeSpan.FromSeconds(45), TimeSpan.FromMilliseconds(250));
        Assert.Equal(tenants.Count, readable);

        // And it still takes writes.
        var created = await api.CreateTenantAsync();
        var read = await api.Operator.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>($"/v1/tenants/{created.TenantId}");
        Assert.Equal(created.TenantId, read!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Grain_state_survives_a_silo_restart_on_postgresql()
    {
        var database = await postgres.CreateDatabaseAsync();
        string tenantId, key;
        await using (var silo = MeshProcess.StartSilo(database, clusterId: "restart"))
        {
            await silo.WaitReadyAsync();
            using var api = new MeshApi(silo);
            (tenantId, key) = await api.CreateTenantAsync(pools: ["platform", "gpu"]);
            await silo.StopAsync();
        }

        await using var restarted = MeshProcess.StartSilo(database, clusterId: "restart");
        await restarted.WaitReadyAsync();
        using var again = new MeshApi(restarted);
        var tenant = await MeshApi.EnsureAsync(await again.Operator.GetAsync($"/v1/tenants/{tenantId}"), HttpStatusCode.OK);
        Assert.Equal(["platform", "gpu"], tenant!["pools"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Single(tenant["keys"]!.AsArray());

        // The key, stored only as a hash, still authenticates the tenant.
        var list = await again.Client(key).GetAsync("/v1/jobs");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task Readiness_follows_the_database_while_liveness_stays_up()
    {
        await using var server = await PostgresServer.CreateAsync();
        var database = await server.CreateDatabaseAsync();
        await using var silo = MeshProcess.StartSilo(database, clusterId: "ready");
        await silo.WaitReadyAsync();
        using var api = new MeshApi(silo);

        await server.StopAsync();
        var notReady = await Eventually.WaitAsync(() => api.Anonymous.GetAsync("/health/ready"),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var health = await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/health"));
        Assert.Equal("Unhealthy", health["status"]!.GetValue<string>());
        var storage = health["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "storage")!;
        Assert.Equal("Unhealthy", storage["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("/health/live")).StatusCode);

        await server.StartAsync();
        var ready = await Eventually.WaitAsync(() => api.Anonymous.GetAsync("/health/ready"),
            r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task A_silo_fails_fast_with_a_clear_error_when_the_database_is_unreachable()
    {
        var port = FreePort.Get();
        await using var silo = MeshProcess.StartSilo($"Host=127.0.0.1;Port={port};Database=meshos;Username=postgres;Timeout=2",
            clusterId: "unreachable", settings: new Dictionary<string, string>
            {
                ["MeshOs:Migrations:ConnectAttempts"] = "2",
                ["MeshOs:Migrations:ConnectRetryDelay"] = "00:00:00.200",
            });
        Assert.True(await silo.ExitedAsync(TimeSpan.FromSeconds(60)), "The silo should stop when its database cannot be reached.");
        Assert.Contains($"127.0.0.1:{port}", silo.Output, StringComparison.Ordinal);
        Assert.Contains("database", silo.Output, StringComparison.OrdinalIgnoreCase);
    }
}
