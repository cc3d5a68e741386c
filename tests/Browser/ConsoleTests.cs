using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using MeshOs.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MeshOs.Tests.Browser;

/// <summary>
/// The web console in a real browser against a real MeshOs process: log in with an operator or tenant key, read tiles
/// computed from jobs the test ran, filter jobs, cancel one, acknowledge an incident, and a tenant that cannot reach
/// another tenant's job. Every wait is on a locator or a condition (Playwright's auto-waiting), never a sleep. Each
/// page is saved as a screenshot for review (<see cref="ConsoleFixture.ScreenshotDirectory"/>).
/// </summary>
public sealed class ConsoleTests(ConsoleFixture mesh) : ConsolePageTest(mesh)
{
    [Fact]
    public async Task Operator_overview_counts_the_jobs_the_test_ran()
    {
        var (_, key) = await Mesh.CreateTenantAsync();
        using var tenant = Mesh.Client(key);
        var before = await PendingJobsAsync();
        for (var i = 0; i < 3; i++)
        {
            await ConsoleFixture.SubmitPendingJobAsync(tenant, "overview");
        }

        var page = await LogInAsync(MeshProcess.OperatorKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Executive overview", Level = 1 })).ToBeVisibleAsync();
        await Expect(Tile(page, "jobs-Pending")).ToHaveTextAsync((before + 3).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(before + 3, await PendingJobsAsync());

        // The KPI service (issue 16) is built beside this console: where this server lacks it, the page says so.
        var kpis = await Mesh.Operator.GetAsync("/v1/kpis");
        var section = page.Locator("#kpis");
        if (kpis.StatusCode == HttpStatusCode.NotFound)
        {
            await Expect(section.Locator("[data-state=not-available]")).ToContainTextAsync("not available on this server");
        }
        else
        {
            await Expect(section.Locator(".tile").First).ToBeVisibleAsync();
        }

        await Expect(page.Locator("[data-tile=compliance-score] .tile-value")).ToContainTextAsync("%");
        await Expect(page.Locator("#jobs-chart canvas").First).ToBeVisibleAsync();
        await ScreenshotAsync(page, "overview-operator");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Tenant_filters_the_jobs_list_by_type_and_status()
    {
        var (_, key) = await Mesh.CreateTenantAsync();
        using var tenant = Mesh.Client(key);
        var alpha1 = await ConsoleFixture.SubmitPendingJobAsync(tenant, "alpha");
        var alpha2 = await ConsoleFixture.SubmitPendingJobAsync(tenant, "alpha");
        var beta = await ConsoleFixture.SubmitPendingJobAsync(tenant, "beta");
        await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync($"/v1/jobs/{alpha1}/cancel", new { }), HttpStatusCode.OK);

        var page = await LogInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs", Level = 1 })).ToBeVisibleAsync();
        await Expect(Rows(page)).ToHaveCountAsync(3);

        await page.GetByLabel("Type").FillAsync("alpha");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/jobs\\?type=alpha$"));
        await Expect(Rows(page)).ToHaveCountAsync(2);
        await Expect(page.Locator("#jobs-table")).Not.ToContainTextAsync(beta);

        await page.GetByLabel("Status").SelectOptionAsync("Cancelled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(Rows(page)).ToHaveCountAsync(1);
        await Expect(Rows(page).First).ToContainTextAsync(alpha1);
        await Expect(Rows(page).First).ToContainTextAsync("Cancelled");
        await Expect(page.Locator("#jobs-table")).Not.ToContainTextAsync(alpha2);
        await ScreenshotAsync(page, "jobs-filtered");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Tenant_cancels_a_job_from_its_detail_page()
    {
        var (_, key) = await Mesh.CreateTenantAsync();
        using var tenant = Mesh.Client(key);
        var jobId = await ConsoleFixture.SubmitPendingJobAsync(tenant, "to-cancel");

        var page = await LogInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = jobId }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Job {jobId}", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("#job-status")).ToHaveTextAsync("Pending");
        await ScreenshotAsync(page, "job-detail-pending");

        await page.GetByLabel("Reason (optional)").FillAsync("cancelled from the console");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel job" }).ClickAsync();
        await Expect(page.Locator("#job-status")).ToHaveTextAsync("Cancelled");
        await Expect(page.Locator("#job-details")).ToContainTextAsync("cancelled from the console");

        var job = await ConsoleFixture.EnsureAsync(await tenant.GetAsync($"/v1/jobs/{jobId}"), HttpStatusCode.OK);
        Assert.Equal("Cancelled", job!["status"]!.GetValue<string>());
        Assert.Equal("cancelled from the console", job["error"]!.GetValue<string>());
        await ScreenshotAsync(page, "job-detail-cancelled");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Operator_acknowledges_an_incident()
    {
        var title = "Console test incident " + Guid.NewGuid().ToString("N")[..8];
        var opened = await ConsoleFixture.EnsureAsync(
            await Mesh.Operator.PostAsJsonAsync("/v1/incidents", new { severity = "P2", title, dedupKey = "console-" + Guid.NewGuid().ToString("N") }),
            HttpStatusCode.Created);
        var incidentId = opened!["incident"]!["incidentId"]!.GetValue<string>();

        var page = await LogInAsync(MeshProcess.OperatorKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Incidents" }).ClickAsync();
        await page.GetByLabel("Open or resolved").SelectOptionAsync("true");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/incidents\\?open=true$"));
        await ScreenshotAsync(page, "incidents");
        await page.GetByRole(AriaRole.Link, new() { Name = title }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = title, Level = 1 })).ToBeVisibleAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" })).ToHaveCountAsync(0);
        await Expect(page.Locator("#timeline")).ToContainTextAsync("acknowledged");

        var incident = await ConsoleFixture.EnsureAsync(await Mesh.Operator.GetAsync($"/v1/incidents/{incidentId}"), HttpStatusCode.OK);
        Assert.NotNull(incident!["incident"]!["acknowledgedAt"]);
        await Expect(page.Locator("#timeline li")).ToHaveCountAsync(incident["incident"]!["timeline"]!.AsArray().Count);
        await ScreenshotAsync(page, "incident-acknowledged");

        // Resolve it, then attach the post-mortem: both from the page, both seen through the API.
        await page.GetByLabel("Resolution (optional)").FillAsync("restarted the pool");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resolve" }).ClickAsync();
        await Expect(page.Locator("#incident-state")).ToHaveTextAsync("Resolved");
        await page.GetByLabel("Summary").FillAsync("The pool ran dry.");
        await page.GetByLabel("Root cause").FillAsync("A quota set too low.");
        await page.GetByLabel("Action items (one per line)").FillAsync("Raise the quota\nAlert on queue depth");
        await page.GetByRole(AriaRole.Button, new() { Name = "Attach post-mortem" }).ClickAsync();
        await Expect(page.Locator("#incident-postmortem li")).ToHaveCountAsync(2);
        incident = await ConsoleFixture.EnsureAsync(await Mesh.Operator.GetAsync($"/v1/incidents/{incidentId}"), HttpStatusCode.OK);
        Assert.Equal("A quota set too low.", incident!["incident"]!["postMortem"]!["rootCause"]!.GetValue<string>());
        Assert.Equal(2, incident["incident"]!["postMortem"]!["actionItems"]!.AsArray().Count);
        await ScreenshotAsync(page, "incident-postmortem");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Where_production_mfa_is_enforced_the_console_asks_for_the_code_and_the_change_goes_through()
    {
        // An incident-responder key with TOTP, issued and enrolled while the policy only audits.
        var issued = await ConsoleFixture.EnsureAsync(await Mesh.Operator.PostAsJsonAsync("/v1/operator-keys",
            new { name = "console mfa", owner = "browser-tests", scope = "IncidentResponder" }), HttpStatusCode.Created);
        var (keyId, key) = (issued!["keyId"]!.GetValue<string>(), issued["key"]!.GetValue<string>());
        using var responder = Mesh.Client(key);
        var enrolment = await ConsoleFixture.EnsureAsync(await responder.PostAsync($"/v1/operator-keys/{keyId}/mfa", null), HttpStatusCode.OK);
        var authenticator = Authenticator.FromBase32(enrolment!["secret"]!.GetValue<string>());
        await ConsoleFixture.EnsureAsync(await responder.PostAsJsonAsync($"/v1/operator-keys/{keyId}/mfa/confirm", new { code = await authenticator.NextCodeAsync() }),
            HttpStatusCode.OK);
        var title = "Console MFA incident " + Guid.NewGuid().ToString("N")[..8];
        var opened = await ConsoleFixture.EnsureAsync(
            await Mesh.Operator.PostAsJsonAsync("/v1/incidents", new { severity = "P3", title, dedupKey = "console-" + Guid.NewGuid().ToString("N") }),
            HttpStatusCode.Created);
        var incidentId = opened!["incident"]!["incidentId"]!.GetValue<string>();

        await SetMfaModeAsync("Enforce");
        try
        {
            var page = await LogInAsync(key);
            await page.GotoAsync(Mesh.ConsoleUrl + "#/incidents/" + incidentId);
            await page.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
            var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Second factor needed" });
            await Expect(dialog).ToBeVisibleAsync();
            await ScreenshotAsync(page, "mfa-prompt");
            await dialog.GetByLabel("TOTP code").FillAsync(await authenticator.NextCodeAsync());
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
            await Expect(dialog).ToHaveCountAsync(0);
            await Expect(page.Locator("#timeline")).ToContainTextAsync("acknowledged");
            var incident = await ConsoleFixture.EnsureAsync(await Mesh.Operator.GetAsync($"/v1/incidents/{incidentId}"), HttpStatusCode.OK);
            Assert.NotNull(incident!["incident"]!["acknowledgedAt"]);
            AssertNoPageErrors();
        }
        finally
        {
            await SetMfaModeAsync("Audit");
        }
    }

    private async Task SetMfaModeAsync(string mode)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/compliance/policies/production-mfa")
        {
            Content = JsonContent.Create(new { rule = "production-mfa", mode, severity = "Critical" }),
        };
        request.Headers.Add("X-MeshOs-Otp", await Mesh.BootstrapAuthenticator.NextCodeAsync());
        await ConsoleFixture.EnsureAsync(await Mesh.Operator.SendAsync(request), HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_tenant_cannot_reach_another_tenants_job_through_the_console()
    {
        var (_, ownerKey) = await Mesh.CreateTenantAsync();
        var (otherTenant, otherKey) = await Mesh.CreateTenantAsync();
        using var owner = Mesh.Client(ownerKey);
        using var other = Mesh.Client(otherKey);
        var jobId = await ConsoleFixture.SubmitPendingJobAsync(owner, "private");
        await ConsoleFixture.SubmitPendingJobAsync(other, "mine");

        var page = await LogInAsync(otherKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Overview of tenant {otherTenant}", Level = 1 })).ToBeVisibleAsync();
        await Expect(Tile(page, "jobs-Pending")).ToHaveTextAsync("1");
        await ScreenshotAsync(page, "overview-tenant");
        await page.GetByRole(AriaRole.Link, new() { Name = "Tenants" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Tenant {otherTenant}", Level = 1 })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "tenant-own");
        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync();
        await Expect(Rows(page)).ToHaveCountAsync(1);
        await Expect(page.Locator("#jobs-table")).Not.ToContainTextAsync(jobId);

        // The other tenant's job by its URL: the API answers 404, and the page says the job is not there.
        await page.GotoAsync(Mesh.ConsoleUrl + "#/jobs/" + jobId);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Job not found", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("[data-state=not-found]")).ToContainTextAsync(jobId);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel job" })).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/jobs/{jobId}")).StatusCode);
        await ScreenshotAsync(page, "tenant-other-job-not-found");

        // Nor through the operator-only pages: the API refuses the key and the page shows it.
        await page.GotoAsync(Mesh.ConsoleUrl + "#/incidents");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Incidents" })).ToBeHiddenAsync();
        await Expect(page.Locator("main")).ToContainTextAsync("Incidents are for operator keys.");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task A_job_says_why_it_went_to_its_agent_and_the_operator_sees_what_routing_learned()
    {
        var (_, key) = await Mesh.CreateTenantAsync();
        using var tenant = Mesh.Client(key);
        var agentId = "route-agent-" + Guid.NewGuid().ToString("N")[..8];
        var capability = "console-route-" + Guid.NewGuid().ToString("N")[..8];
        await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync("/v1/agent/register",
            new { agentId, capabilities = new[] { capability }, maxConcurrency = 1, version = "4.2.0" }), HttpStatusCode.OK);
        var pool = (await ConsoleFixture.EnsureAsync(await tenant.GetAsync($"/v1/agents/{agentId}"), HttpStatusCode.OK))!["pool"]!.GetValue<string>();
        var submitted = await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync("/v1/jobs",
            new { type = "routed", capability, pool, payload = new { note = "browser test" } }), HttpStatusCode.Created);
        var jobId = submitted!["id"]!.GetValue<string>();
        var lease = await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync($"/v1/agent/{agentId}/lease", new { slots = 1, waitSeconds = 15 }), HttpStatusCode.OK);
        var assignment = lease!["assignments"]!.AsArray().Single()!;
        Assert.Equal(jobId, assignment["jobId"]!.GetValue<string>());
        await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync($"/v1/agent/{agentId}/jobs/{jobId}/complete",
            new { epoch = assignment["epoch"]!.GetValue<long>(), result = new { ok = true } }), HttpStatusCode.NoContent);

        var page = await LogInAsync(key);
        await page.GotoAsync(Mesh.ConsoleUrl + "#/jobs/" + jobId);
        await Expect(page.Locator("#job-status")).ToHaveTextAsync("Succeeded");
        await Expect(page.Locator("#job-routing-summary")).ToContainTextAsync("Policy adaptive, reason only-candidate: 1 candidates compared");
        await Expect(page.Locator("#job-routing-table")).ToContainTextAsync(agentId);
        await ScreenshotAsync(page, "job-routing");

        // The learner reads the event log about every second; the operator's agent page shows what it learned.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Mesh.Operator.GetAsync($"/v1/routing/pools/{Uri.EscapeDataString(pool)}?agentId={agentId}")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the routing statistics never showed the agent's attempt");
            await Task.Delay(250);
        }

        var operatorPage = await LogInAsync(MeshProcess.OperatorKey);
        await operatorPage.GotoAsync(Mesh.ConsoleUrl + "#/agents/" + agentId);
        await Expect(operatorPage.Locator("#agent-routing-table")).ToContainTextAsync(capability);
        await Expect(operatorPage.Locator("#agent-routing-table")).ToContainTextAsync("4.2.0");
        await ScreenshotAsync(operatorPage, "agent-routing");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task A_wrong_key_is_refused_at_login()
    {
        var page = await OpenAsync();
        await page.GetByLabel("API key (operator or tenant)").FillAsync("mk.nobody.000000000000.not-a-real-secret-at-all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Console pages" })).ToBeHiddenAsync();
        await ScreenshotAsync(page, "login-refused");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Operator_quarantines_an_agent_and_reads_every_page()
    {
        var (tenantId, key) = await Mesh.CreateTenantAsync();
        using var tenant = Mesh.Client(key);
        var agentId = "console-agent-" + Guid.NewGuid().ToString("N")[..8];
        await ConsoleFixture.EnsureAsync(await tenant.PostAsJsonAsync("/v1/agent/register",
            new { agentId, capabilities = new[] { "console-test" }, maxConcurrency = 2, version = "9.9.9" }), HttpStatusCode.OK);

        var page = await LogInAsync(MeshProcess.OperatorKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Agents" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Agents", Level = 1 })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "agents");
        await page.GetByRole(AriaRole.Link, new() { Name = agentId }).ClickAsync();
        await Expect(page.Locator("#agent-details")).ToContainTextAsync("9.9.9");
        await page.GetByLabel("Reason (optional)").FillAsync("console test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Quarantine" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Release from quarantine" })).ToBeVisibleAsync();
        await Expect(page.Locator("#agent-details")).ToContainTextAsync("Quarantined");
        var agent = await ConsoleFixture.EnsureAsync(await Mesh.Operator.GetAsync($"/v1/agents/{agentId}"), HttpStatusCode.OK);
        Assert.True(agent!["quarantined"]!.GetValue<bool>());
        await ScreenshotAsync(page, "agent-quarantined");

        await page.GetByRole(AriaRole.Link, new() { Name = "Tenants" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenants", Level = 1 })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "tenants");
        await page.GetByRole(AriaRole.Link, new() { Name = tenantId }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Tenant {tenantId}", Level = 1 })).ToBeVisibleAsync();
        await Expect(page.Locator("#keys-table")).ToContainTextAsync("browser test");
        await Expect(page.Locator("#quotas-table")).ToContainTextAsync("submitsPerSecond");
        await ScreenshotAsync(page, "tenant-detail");

        await page.GetByRole(AriaRole.Link, new() { Name = "Jobs", Exact = true }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs", Level = 1 })).ToBeVisibleAsync();
        await ScreenshotAsync(page, "jobs-operator");

        await page.GetByRole(AriaRole.Link, new() { Name = "Maintenance windows" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Maintenance windows", Level = 1 })).ToBeVisibleAsync();
        if ((await Mesh.Operator.GetAsync("/v1/maintenance-windows")).StatusCode == HttpStatusCode.NotFound)
        {
            await Expect(page.Locator("[data-state=not-available]")).ToContainTextAsync("not available on this server");
        }

        await ScreenshotAsync(page, "maintenance-windows");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Keyboard_alone_logs_in_and_reaches_every_page()
    {
        var page = await OpenAsync();
        await page.Keyboard.TypeAsync(MeshProcess.OperatorKey); // the key field has the focus
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Executive overview", Level = 1 })).ToBeFocusedAsync();

        // From the top of the page, Tab reaches each navigation link in turn, and Enter follows it.
        foreach (var (link, heading) in new[] { ("Jobs", "Jobs"), ("Agents", "Agents"), ("Incidents", "Incidents"), ("Maintenance windows", "Maintenance windows") })
        {
            // A click on the (unfocusable) brand puts the focus navigation start at the top of the page.
            await page.Locator(".brand").ClickAsync();
            var reached = false;
            for (var i = 0; i < 12 && !reached; i++)
            {
                await page.Keyboard.PressAsync("Tab");
                reached = await page.EvaluateAsync<bool>("name => document.activeElement?.textContent === name && document.activeElement.closest('nav') !== null", link);
            }

            Assert.True(reached, $"Tab did not reach the '{link}' link.");
            await page.Keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1, Exact = true })).ToBeFocusedAsync();
        }

        AssertNoPageErrors();
    }

    [Fact]
    public async Task The_console_is_served_from_the_gateway_with_revalidation_and_nothing_else()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = Mesh.Silo.HttpUrl };
        var bare = await anonymous.GetAsync("/console");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/console/", bare.Headers.Location!.OriginalString);

        var index = await anonymous.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", index.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/app.js");
        var script = await anonymous.GetAsync("/console/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(again)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/console/vendor/uplot/LICENSE.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/console/..%2Fappsettings.json")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/console/nothing.js")).StatusCode);

        // The console is no API: it is not in the OpenAPI document.
        var document = await ConsoleFixture.EnsureAsync(await anonymous.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        Assert.DoesNotContain(document!["paths"]!.AsObject(), p => p.Key.StartsWith("/console", StringComparison.Ordinal));
    }

    private static ILocator Rows(IPage page) => page.Locator("#jobs-table tbody tr");

    private async Task<int> PendingJobsAsync()
    {
        var status = await ConsoleFixture.EnsureAsync(await Mesh.Operator.GetAsync("/status"), HttpStatusCode.OK);
        return status!["jobs"]!["Pending"]!.GetValue<int>();
    }
}
