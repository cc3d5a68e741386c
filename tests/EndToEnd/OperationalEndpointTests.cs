using System.Net;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd;

/// <summary>/health/live, /health/ready, /health, /status, /metrics and /dashboard of a real embedded silo.</summary>
[Collection(EmbeddedSiloCollection.Name)]
public sealed class OperationalEndpointTests(EmbeddedSiloFixture fixture)
{
    [Fact]
    public async Task Liveness_and_readiness_answer_healthy()
    {
        var live = await fixture.Api.Anonymous.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", (await MeshApi.JsonAsync(live))["status"]!.GetValue<string>());

        var ready = await fixture.Api.Anonymous.GetAsync("/health/ready");
        var body = await MeshApi.JsonAsync(ready);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", body["checks"]!["cluster"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["checks"]!["storage"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_reports_both_probes_with_check_details()
    {
        var response = await fixture.Api.Anonymous.GetAsync("/health");
        var body = await MeshApi.JsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["live"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", body["ready"]!["status"]!.GetValue<string>());
        var checks = body["checks"]!.AsArray().ToDictionary(c => c!["name"]!.GetValue<string>(), c => c!);
        Assert.Equal(["cluster", "storage"], checks.Keys.Order());
        Assert.Equal(1, checks["cluster"]["data"]!["activeSilos"]!.GetValue<int>());
        Assert.Equal("in-memory", checks["storage"]["data"]!["mode"]!.GetValue<string>());
    }

    [Fact]
    public async Task Status_reports_version_uptime_members_agents_and_jobs()
    {
        var response = await fixture.Api.Anonymous.GetAsync("/status");
        var body = await MeshApi.JsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("MeshOs", body["service"]!.GetValue<string>());
        Assert.Equal("0.1.0", body["version"]!.GetValue<string>());
        Assert.Equal("silo+gateway", body["role"]!.GetValue<string>());
        Assert.Equal("in-memory", body["storage"]!.GetValue<string>());
        Assert.True(body["uptimeSeconds"]!.GetValue<double>() >= 0);
        var members = body["cluster"]!["members"]!.AsArray();
        var member = Assert.Single(members);
        Assert.Equal("Active", member!["status"]!.GetValue<string>());
        Assert.EndsWith($":{fixture.Silo.SiloPort}", member["address"]!.GetValue<string>().Split('@')[0], StringComparison.Ordinal);
        Assert.Equal(["total", "Registering", "Healthy", "Degraded", "Unresponsive", "Quarantined", "Draining", "Offline"],
            body["agents"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["total", "Pending", "Leased", "Running", "Succeeded", "Failed", "Cancelled", "TimedOut", "DeadLettered"],
            body["jobs"]!.AsObject().Select(p => p.Key));

        // What the runbook reads: `jq '.agents.total'`, `.version`, `.jobs`; each total is the sum of its states.
        Assert.Equal(body["agents"]!.AsObject().Where(p => p.Key != "total").Sum(p => p.Value!.GetValue<long>()), body["agents"]!["total"]!.GetValue<long>());
        Assert.Equal(body["jobs"]!.AsObject().Where(p => p.Key != "total").Sum(p => p.Value!.GetValue<long>()), body["jobs"]!["total"]!.GetValue<long>());
        Assert.Empty(body["errors"]!.AsArray());
    }

    [Fact]
    public async Task Metrics_serve_prometheus_text_from_orleans_aspnetcore_runtime_and_meshos()
    {
        // Make the kernel meter record something first.
        var (_, key) = await fixture.Api.CreateTenantAsync();
        var submit = await fixture.Api.Client(key).PostAsync("/v1/jobs",
            new StringContent("""{"type":"m","capability":"metrics-probe","payload":{}}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, submit.StatusCode);

        var text = await Eventually.WaitAsync(
            () => fixture.Api.Anonymous.GetStringAsync("/metrics"),
            t => t.Contains("meshos_jobs_submitted_total", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20));
        Assert.Contains("# TYPE", text, StringComparison.Ordinal);
        Assert.Contains("meshos_jobs_submitted_total", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections", text, StringComparison.Ordinal);
        Assert.Contains("orleans_", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_and_api_docs_are_served()
    {
        var dashboard = await fixture.Api.Anonymous.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("text/html", dashboard.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);

        var openApi = await MeshApi.JsonAsync(await fixture.Api.Anonymous.GetAsync("/openapi/v1.json"));
        Assert.NotNull(openApi["paths"]!["/v1/jobs"]);
        var docs = await fixture.Api.Anonymous.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
    }
}
