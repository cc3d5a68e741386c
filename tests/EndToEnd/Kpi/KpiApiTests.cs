using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Kpi;

/// <summary>
/// KPIs end to end, one silo on a private PostgreSQL: a tenant submits jobs an agent runs; once the minute closes, the
/// tenant's SLI rollups hold exactly its requests and submit latencies, its KPIs are computed from them (and say why
/// the mesh-only ones are missing), its SLA report exists as JSON and HTML; maintenance windows are scheduled by
/// operators only, read by tenants, audited, and refused with problem details when the rules say no.
/// </summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class KpiApiTests(PostgresKernelFixture fixture)
{
    private MeshApi Api => fixture.Mesh.Api;

    [Fact]
    public async Task Kpis_are_computed_from_the_jobs_a_tenant_ran()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var other = await fixture.Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("kpi");
        await using var agent = new RestAgent(RestAgent.EnrollmentClient(Api), JobCalls.Unique("kpi-agent"));
        await agent.RegisterOkAsync(capability);
        agent.StartHeartbeats();

        // Every call the tenant's key makes is counted, a refusal too: the queue's admission may turn a submit away for a
        // moment (429: a job waited for the agent's first poll), and the submit is then made again, as a client would.
        const int Jobs = 3;
        var calls = 0;
        for (var i = 0; i < Jobs; i++)
        {
            var retryUntil = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            string id;
            while (true)
            {
                calls++;
                var answer = await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { n = i } });
                if (answer.StatusCode == HttpStatusCode.Created)
                {
                    id = JobCalls.Id((await MeshApi.EnsureAsync(answer, HttpStatusCode.Created))!);
                    break;
                }

                Assert.Equal(HttpStatusCode.TooManyRequests, answer.StatusCode);
                Assert.True(DateTime.UtcNow < retryUntil, "submits refused for a minute");
                await Task.Delay(answer.Headers.RetryAfter?.Delta ?? TimeSpan.FromMilliseconds(200));
            }

            var lease = await agent.LeaseOneAsync(TimeSpan.FromSeconds(30));
            var epoch = lease["epoch"]!.GetValue<long>();
            Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(id, epoch)).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(id, epoch, """{"ok":true}""")).StatusCode);
        }

        // The tenant's key made exactly `calls` API requests (its submits); reads below use the operator key. The minutes
        // close 5 s after they end (plus a flush), so this waits for about a minute at most.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
        JsonArray minutes;
        while (true)
        {
            minutes = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/kpis/series?tenant={tenant.Id}&resolution=1m&from={Iso(DateTimeOffset.UtcNow.AddMinutes(-10))}"),
                HttpStatusCode.OK))!.AsArray();
            if (Sum(minutes, "requests") >= calls || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal(calls, Sum(minutes, "requests"));
        Assert.Equal(0, Sum(minutes, "errors")); // a 429 is the caller's to retry, not the mesh failing
        Assert.Equal(0, Sum(minutes, "badMinutes"));
        Assert.Equal(calls, minutes.Sum(m => m!["submit"]!.AsArray().Sum(c => c!.GetValue<long>())));

        var kpis = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/tenants/{tenant.Id}/kpis?period=day"), HttpStatusCode.OK))!;
        var byName = kpis["kpis"]!.AsArray().ToDictionary(k => k!["name"]!.GetValue<string>(), k => k!);
        Assert.Equal("tenant/" + tenant.Id, kpis["scope"]!.GetValue<string>());
        Assert.Equal(0m, byName["errorRate"]["value"]!.GetValue<decimal>());
        Assert.True(byName["submitLatencyP95"]["value"]!.GetValue<decimal>() > 0m);
        Assert.Equal("sli-rollups", byName["submitLatencyP95"]["source"]!.GetValue<string>());
        Assert.Null(byName["mttr"]["value"]);
        Assert.Equal("incidents are the mesh's, not a tenant's: read the mesh KPIs", byName["mttr"]["missingReason"]!.GetValue<string>());
        Assert.Equal(99.95m, kpis["slo"]!["availabilityTarget"]!.GetValue<decimal>());

        // The same through the tenant's own key; another tenant's KPIs are not found.
        await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/kpis"), HttpStatusCode.OK);
        await JobCalls.AssertProblemAsync(await other.Http.GetAsync($"/v1/tenants/{tenant.Id}/kpis"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync("/v1/kpis"), HttpStatusCode.Forbidden);
        await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/kpis"), HttpStatusCode.OK);

        // The month's SLA report: JSON and a printable page; a malformed month is a 400 naming the field.
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var sla = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/sla/reports/{tenant.Id}/{month}"), HttpStatusCode.OK))!;
        Assert.Equal((tenant.Id, month, false), (sla["tenantId"]!.GetValue<string>(), sla["month"]!.GetValue<string>(), sla["final"]!.GetValue<bool>()));
        var page = await tenant.Http.GetAsync($"/v1/sla/reports/{tenant.Id}/{month}.html");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"<h1>SLA report — tenant {tenant.Id}, {month}</h1>", await page.Content.ReadAsStringAsync());
        var bad = await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync($"/v1/sla/reports/{tenant.Id}/2026-13"), HttpStatusCode.BadRequest);
        Assert.StartsWith("month:", bad["detail"]!.GetValue<string>());
        await JobCalls.AssertProblemAsync(await other.Http.GetAsync($"/v1/sla/reports/{tenant.Id}/{month}"), HttpStatusCode.NotFound);

        // gRPC: the tenant's SLA report through meshos.v1.Kpis.
        var reply = await new Kpis.KpisClient(Api.Channel()).GetSlaReportAsync(new SlaReportRequest { TenantId = tenant.Id, Month = month }, tenant.Headers);
        Assert.Equal(tenant.Id, reply.TenantId);
    }

    [Fact]
    public async Task Operators_schedule_and_cancel_maintenance_tenants_read_it_and_the_rules_refuse_with_problems()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(5);

        var created = await Api.Operator.PostAsJsonAsync("/v1/maintenance-windows",
            new { kind = "Emergency", start, end = start.AddHours(2), title = "database failover", reason = "disk" });
        var window = (await MeshApi.EnsureAsync(created, HttpStatusCode.Created))!;
        var id = window["id"]!.GetValue<string>();
        Assert.Equal(("Emergency", start), (window["kind"]!.GetValue<string>(), window["start"]!.GetValue<DateTimeOffset>()));
        Assert.Equal($"/v1/maintenance-windows/{id}", created.Headers.Location!.OriginalString);

        var listed = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync("/v1/maintenance-windows"), HttpStatusCode.OK))!.AsArray();
        Assert.Contains(listed, w => w!["id"]!.GetValue<string>() == id);
        Assert.Contains(listed, w => w!["kind"]!.GetValue<string>() == "Recurring");

        var tooLong = await JobCalls.AssertProblemAsync(await Api.Operator.PostAsJsonAsync("/v1/maintenance-windows",
            new { kind = "Emergency", start, end = start.AddHours(2).AddMinutes(1), title = "x" }), HttpStatusCode.BadRequest);
        Assert.StartsWith("end: an emergency window lasts at most 2 h", tooLong["detail"]!.GetValue<string>());
        var tooSoon = await JobCalls.AssertProblemAsync(await Api.Operator.PostAsJsonAsync("/v1/maintenance-windows",
            new { kind = "Scheduled", start = start.AddDays(1), end = start.AddDays(1).AddHours(2), title = "upgrade" }), HttpStatusCode.BadRequest);
        Assert.StartsWith("start: a scheduled window is announced to tenants at least 7 days ahead", tooSoon["detail"]!.GetValue<string>());
        await JobCalls.AssertProblemAsync(await tenant.Http.PostAsJsonAsync("/v1/maintenance-windows",
            new { kind = "Emergency", start, end = start.AddHours(1), title = "mine" }), HttpStatusCode.Forbidden);

        var cancelled = (await MeshApi.EnsureAsync(await Api.Operator.PostAsync($"/v1/maintenance-windows/{id}/cancel", null), HttpStatusCode.OK))!;
        Assert.NotNull(cancelled["cancelledAt"]);
        await JobCalls.AssertProblemAsync(await Api.Operator.PostAsync($"/v1/maintenance-windows/{id}/cancel", null), HttpStatusCode.Conflict);
        await JobCalls.AssertProblemAsync(await Api.Operator.PostAsync("/v1/maintenance-windows/mw-none/cancel", null), HttpStatusCode.NotFound);

        var audit = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/audit?action=maintenance.cancel"), HttpStatusCode.OK))!["entries"]!.AsArray();
        Assert.Contains(audit, e => e!["draft"]!["target"]!.GetValue<string>() == "maintenance/" + id);

        // gRPC reads the calendar too, and refuses a tenant's change.
        var client = new Kpis.KpisClient(Api.Channel());
        var windows = await client.ListMaintenanceWindowsAsync(new ListMaintenanceWindowsRequest { IncludeCancelled = true }, tenant.Headers);
        Assert.Contains(windows.Windows, w => w.Id == id && w.CancelledAt is not null);
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleMaintenanceWindowAsync(new ScheduleMaintenanceWindowRequest
        {
            Kind = "Emergency", Start = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start),
            End = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(start.AddHours(1)), Title = "x",
        }, tenant.Headers).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    private static long Sum(JsonArray rows, string field) => rows.Sum(r => r![field]!.GetValue<long>());

    private static string Iso(DateTimeOffset at) => Uri.EscapeDataString(at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
}
