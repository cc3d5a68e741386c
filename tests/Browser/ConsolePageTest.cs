using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace MeshOs.Tests.Browser;

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    /// <summary>One MeshOs process and one browser for every console test, which run one after another.</summary>
    public const string Name = "console";
}

/// <summary>
/// What every console test does: a fresh browser context (its own sessionStorage) per test, the console's login, a
/// screenshot per page, and a check that the page threw nothing, broke no Content-Security-Policy rule and requested
/// nothing from anywhere but the gateway.
/// </summary>
[Collection(ConsoleCollection.Name)]
public abstract class ConsolePageTest(ConsoleFixture mesh) : IAsyncLifetime
{
    private readonly List<string> _pageErrors = [];
    private IBrowserContext? _context;

    protected ConsoleFixture Mesh => mesh;

    public Task InitializeAsync()
    {
        // Generous for a busy 2-core machine; a passing test never waits this long.
        SetDefaultExpectTimeout(20_000);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }
    }

    /// <summary>A page in a fresh context, not yet on the console (so a test can set routes first).</summary>
    protected async Task<IPage> NewPageAsync()
    {
        _context = await mesh.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await _context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add("page error: " + error);
        // Failed calls the page handles (a 404 from an endpoint this server lacks) are logged by the browser too.
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                _pageErrors.Add("console error: " + message.Text);
            }
        };
        // Works offline: every request the page makes goes to the gateway that served it.
        var origin = mesh.Silo.HttpUrl.GetLeftPart(UriPartial.Authority);
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(origin + "/", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                _pageErrors.Add("request elsewhere: " + request.Url);
            }
        };
        return page;
    }

    /// <summary>The console's login page (in a new page unless given one).</summary>
    protected async Task<IPage> OpenAsync(IPage? page = null)
    {
        page ??= await NewPageAsync();
        var response = await page.GotoAsync(mesh.ConsoleUrl.ToString());
        Assert.Contains("default-src 'self'", (await response!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Log in", Level = 1 })).ToBeVisibleAsync();
        return page;
    }

    /// <summary>Logs in with <paramref name="key"/> through the login form and waits for the overview.</summary>
    protected async Task<IPage> LogInAsync(string key, IPage? page = null)
    {
        page = await OpenAsync(page);
        await page.GetByLabel("API key (operator or tenant)").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Console pages" })).ToBeVisibleAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("aria-busy", "false");
        return page;
    }

    /// <summary>Saves the page, once loaded, as <c>{name}.png</c> in the screenshot folder.</summary>
    protected async Task ScreenshotAsync(IPage page, string name)
    {
        await Expect(page.Locator("main")).ToHaveAttributeAsync("aria-busy", "false");
        await page.ScreenshotAsync(new() { Path = Path.Combine(mesh.ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    protected void AssertNoPageErrors() => Assert.True(_pageErrors.Count == 0, string.Join("\n", _pageErrors));

    /// <summary>A part (value, target, note, label) of the tile named <paramref name="name"/>.</summary>
    protected static ILocator Tile(IPage page, string name, string part = "value") => page.Locator($"[data-tile=\"{name}\"] .tile-{part}");
}
