using System.Text.Json;
using MeshOs.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MeshOs.Tests.Browser;

/// <summary>
/// The overview and maintenance pages when the gateway has the KPI service (issue 16, built on another branch): its
/// answers are served to the page by Playwright in the shapes that branch returns (KpiReport, SloStatus, SlaReport,
/// SliRow, MaintenanceWindow), since this gateway answers 404 there. Everything else is the real Mesh.
/// </summary>
public sealed class KpiConsoleTests(ConsoleFixture mesh) : ConsolePageTest(mesh)
{
    [Fact]
    public async Task Operator_overview_shows_kpi_tiles_with_value_and_target_slo_and_error_budget_when_the_server_has_them()
    {
        var page = await NewPageAsync();
        await ServeAsync(page, "/v1/kpis", new
        {
            scope = "mesh", tenantId = (string?)null, from = "2026-12-01T00:00:00Z", to = "2026-12-08T03:00:00Z",
            kpis = new object[]
            {
                new { name = "availability", value = 99.97m, unit = "percent", target = 99.95m, meetsTarget = true, source = "sli-rollups", missingReason = (string?)null },
                new { name = "errorRate", value = (decimal?)null, unit = "ratio", target = 0.001m, meetsTarget = (bool?)null, source = "sli-rollups", missingReason = "no API request in the period" },
                new { name = "mttr", value = 21.5m, unit = "minutes", target = 15m, meetsTarget = false, source = "incidents", missingReason = (string?)null },
            },
            slo = (object?)null,
        });
        await ServeAsync(page, "/v1/slo", new
        {
            scope = "mesh", from = "2026-12-01T00:00:00Z", to = "2026-12-08T03:00:00Z", availabilityTarget = 99.95m, submitP95TargetMs = 500m,
            submitP99TargetMs = 1000m, errorRateTarget = 0.001m, windows = 200, windowsMet = 199, adherence = 99.5m, validMinutes = 1000, badMinutes = 0,
            allowedBadMinutes = 0.5m, budgetRemaining = 1m, burn = new { scope = "mesh", at = "2026-12-08T03:00:00Z", fiveMinutes = 0.0, oneHour = 0.0, fastBurn = false, incidentDedupKey = (string?)null },
        });
        await ServeAsync(page, "/v1/kpis/series", new[]
        {
            SliRow("2026-12-08T01:00:00Z", 120, 0),
            SliRow("2026-12-08T02:00:00Z", 180, 3),
        });
        await LogInAsync(MeshProcess.OperatorKey, page);

        await Expect(Tile(page, "kpi-availability", "value")).ToHaveTextAsync("99.97 %");
        await Expect(Tile(page, "kpi-availability", "target")).ToHaveTextAsync("target 99.95 %");
        await Expect(page.Locator("[data-tile=kpi-availability]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("tile-ok"));
        await Expect(Tile(page, "kpi-mttr", "value")).ToHaveTextAsync("21.5 min");
        await Expect(page.Locator("[data-tile=kpi-mttr]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("tile-miss"));
        // A KPI whose source has nothing shows no number, and says why.
        await Expect(Tile(page, "kpi-errorRate", "value")).ToHaveTextAsync("—");
        await Expect(Tile(page, "kpi-errorRate", "note")).ToHaveTextAsync("no API request in the period");
        await Expect(Tile(page, "slo-adherence", "value")).ToHaveTextAsync("99.5 %");
        await Expect(Tile(page, "error-budget", "value")).ToHaveTextAsync("100 %");
        await Expect(page.Locator("#sli-trend")).ToContainTextAsync("2 rows at 1h");
        await Expect(page.Locator("#sli-chart canvas").First).ToBeVisibleAsync();
        await ScreenshotAsync(page, "overview-with-kpis");
        AssertNoPageErrors();
    }

    [Fact]
    public async Task Tenant_overview_shows_the_months_sla_credit_forecast_and_the_maintenance_page_lists_windows()
    {
        var (tenantId, key) = await Mesh.CreateTenantAsync();
        var month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var page = await NewPageAsync();
        await ServeAsync(page, $"/v1/sla/reports/{tenantId}/{month}", new
        {
            tenantId, month, from = month + "-01T00:00:00Z", to = "2026-12-08T03:00:00Z", final = false, totalMinutes = 10_000, excludedMinutes = 240,
            validMinutes = 9_760, badMinutes = 20, goodMinutes = 9_740, availabilityPercent = 99.795m, targetPercent = 99.95m,
            band = new { atLeast = 99.0m, lessThan = (decimal?)99.95m, creditPercent = 10 },
            bands = Array.Empty<object>(), bill = 1000m, billSource = "monthly-fee", currency = "USD", credit = 100m,
            maintenanceWindows = Array.Empty<object>(), generatedAt = "2026-12-08T03:00:00Z",
        });
        await ServeAsync(page, "/v1/maintenance-windows", new[]
        {
            new { id = "recurring-2026-12", kind = "Recurring", start = "2026-12-20T02:00:00Z", end = "2026-12-20T06:00:00Z", title = "Monthly maintenance", reason = (string?)null, createdBy = (string?)null, createdAt = (string?)null, announcedAt = (string?)null, cancelledAt = (string?)null },
            new { id = "mw-1", kind = "Emergency", start = "2026-12-09T10:00:00Z", end = "2026-12-09T12:00:00Z", title = "Database failover", reason = (string?)"disk", createdBy = (string?)"operator", createdAt = (string?)"2026-12-08T03:00:00Z", announcedAt = (string?)"2026-12-08T03:00:00Z", cancelledAt = (string?)null },
        });
        await LogInAsync(key, page);

        await Expect(Tile(page, "sla-availability", "value")).ToHaveTextAsync("99.795 %");
        await Expect(Tile(page, "sla-credit-band", "value")).ToHaveTextAsync("10 %");
        await Expect(Tile(page, "sla-credit-band", "note")).ToHaveTextAsync("less than 99.95 % but at least 99 %");
        await Expect(Tile(page, "sla-credit", "value")).ToHaveTextAsync("100 USD");
        await ScreenshotAsync(page, "overview-tenant-with-sla");

        await page.GetByRole(AriaRole.Link, new() { Name = "Maintenance windows" }).ClickAsync();
        await Expect(page.Locator("#windows-table tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("#windows-table")).ToContainTextAsync("Database failover");
        await ScreenshotAsync(page, "maintenance-windows-listed");
        AssertNoPageErrors();
    }

    private static object SliRow(string at, long requests, long errors) => new
    {
        scope = "mesh", resolution = "Hour", at, requests, errors, observedMinutes = 60, badMinutes = 0, unobservedMinutes = 0, excludedMinutes = 0,
        probeFailedMinutes = 0, windows = 12, windowsMet = 12, submit = Array.Empty<long>(), endToEnd = Array.Empty<long>(),
    };

    /// <summary>Answers GET <paramref name="path"/> (any query) from the page with <paramref name="body"/> as JSON.</summary>
    private static async Task ServeAsync(IPage page, string path, object body) =>
        await page.RouteAsync(url => new Uri(url).AbsolutePath == path, route => route.FulfillAsync(new()
        {
            Status = 200,
            ContentType = "application/json",
            Body = JsonSerializer.Serialize(body),
        }));
}
