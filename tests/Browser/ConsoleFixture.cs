using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MeshOs.Testing;
using Microsoft.Playwright;

namespace MeshOs.Tests.Browser;

/// <summary>
/// One embedded MeshOs process (in-memory, gateway co-hosted, loopback only, no demo fleet) and one headless chromium
/// for the whole test class. The browser is the system's (<see cref="ChromiumVariable"/>, default
/// <see cref="DefaultChromium"/>): Playwright never downloads one here, and a missing browser fails the tests.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    /// <summary>Names the chromium (or Chrome) executable to drive; unset: <see cref="DefaultChromium"/>.</summary>
    public const string ChromiumVariable = "MESHOS_CHROMIUM";

    public const string DefaultChromium = "/usr/bin/chromium";

    /// <summary>Where screenshots go; unset: TestResults/screenshots beside this project (ignored by git).</summary>
    public const string ScreenshotsVariable = "MESHOS_SCREENSHOTS";

    /// <summary>The bootstrap operator key's TOTP secret (MeshOs:Gateway:OperatorKeyTotpSecret), so a test can enforce production-mfa.</summary>
    public const string BootstrapTotpSecret = "KRSXG5CDN5XHG33MMVRG633UON2HEYLQ";

    private IPlaywright? _playwright;

    /// <summary>The bootstrap operator key's authenticator.</summary>
    public Authenticator BootstrapAuthenticator { get; } = Authenticator.FromBase32(BootstrapTotpSecret);

    public MeshProcess Silo { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public HttpClient Operator { get; private set; } = null!;

    public string ScreenshotDirectory { get; private set; } = null!;

    public Uri ConsoleUrl => new(Silo.HttpUrl, "/console/");

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } configured ? configured : DefaultChromium;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"No browser at '{executable}': install Debian's chromium (apt-get install -y chromium; .ci/run does) or set {ChromiumVariable} to a chromium executable.");
        }

        ScreenshotDirectory = Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } folder
            ? folder
            : Path.Combine(ProjectDirectory(), "TestResults", "screenshots");
        Directory.CreateDirectory(ScreenshotDirectory);

        // The silo and the browser start side by side: each takes seconds on a busy 2-core machine.
        Silo = MeshProcess.StartSilo(settings: new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = "00:00:01",
            ["MeshOs:Gateway:OperatorKeyTotpSecret"] = BootstrapTotpSecret,
        });
        var ready = Silo.WaitReadyAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true });
        await ready;
        Operator = new HttpClient { BaseAddress = Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(60) };
        Operator.DefaultRequestHeaders.Add("x-api-key", MeshProcess.OperatorKey);
    }

    public async Task DisposeAsync()
    {
        Operator?.Dispose();
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }

    /// <summary>An HTTP client of the API presenting <paramref name="apiKey"/>.</summary>
    public HttpClient Client(string apiKey)
    {
        var client = new HttpClient { BaseAddress = Silo.HttpUrl, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("x-api-key", apiKey);
        return client;
    }

    /// <summary>Creates a tenant with a fresh id and issues it a key.</summary>
    public async Task<(string TenantId, string Key)> CreateTenantAsync()
    {
        var tenantId = "console-" + Guid.NewGuid().ToString("N")[..10];
        await EnsureAsync(await Operator.PostAsJsonAsync("/v1/tenants", new { id = tenantId, name = "Console " + tenantId }), HttpStatusCode.Created);
        var issued = await EnsureAsync(await Operator.PostAsJsonAsync($"/v1/tenants/{tenantId}/keys", new { name = "browser test" }), HttpStatusCode.Created);
        return (tenantId, issued!["key"]!.GetValue<string>());
    }

    /// <summary>Submits a job no agent can take (its capability is unique), so it stays Pending; returns its id.</summary>
    public static async Task<string> SubmitPendingJobAsync(HttpClient tenant, string type)
    {
        var body = new { type, capability = "console-test-nobody", payload = new { note = "browser test" } };
        var job = await EnsureAsync(await tenant.PostAsJsonAsync("/v1/jobs", body), HttpStatusCode.Created);
        return job!["id"]!.GetValue<string>();
    }

    /// <summary>Fails with the response body when the status is not <paramref name="expected"/>.</summary>
    public static async Task<JsonNode?> EnsureAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    private static string ProjectDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MeshOs.Tests.Browser.csproj")))
            {
                return dir.FullName;
            }
        }

        return AppContext.BaseDirectory;
    }
}
