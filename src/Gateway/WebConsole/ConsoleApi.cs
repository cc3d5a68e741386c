using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace MeshOs.Gateway.WebConsole;

/// <summary>
/// /console: the web console, static HTML, CSS and JavaScript modules embedded in the gateway assembly (nothing fetched
/// from elsewhere, so it works offline and in air-gapped sites). The files hold no data and need no key; the page asks
/// for an operator or tenant key and calls the public API with it, so the console can see exactly what the key can.
/// Every answer carries a Content-Security-Policy that allows nothing but this origin: no inline script, no CDN.
/// </summary>
public static class ConsoleApi
{
    public const string RoutePrefix = "/console";

    private const string ResourcePrefix = "console/";

    /// <summary>Same origin only; the console's JavaScript is in files, never inline (styles too, but SVG's own attributes).</summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
        [".json"] = "application/json",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, ConsoleFile>> Files = new(LoadFiles);

    public static IEndpointRouteBuilder MapConsoleApi(this IEndpointRouteBuilder app)
    {
        // One route for /console, /console/ and every file: routing treats a trailing slash as no slash.
        app.MapGet(RoutePrefix + "/{**path}", Serve).WithName("Console").ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    private static Results<FileContentHttpResult, StatusCodeHttpResult, RedirectHttpResult, NotFound> Serve(HttpContext http, string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            // The page's relative links (app.js, console.css) resolve against /console/, never against /.
            if (!(http.Request.Path.Value ?? string.Empty).EndsWith('/'))
            {
                return TypedResults.Redirect(RoutePrefix + "/");
            }

            path = "index.html";
        }

        if (!Files.Value.TryGetValue(path, out var file))
        {
            return TypedResults.NotFound();
        }

        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated on every load (the ETag makes that a 304): a gateway upgrade never leaves an old module in a tab.
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        if (http.Request.Headers.IfNoneMatch.ToString() == file.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.File(file.Content, file.ContentType);
    }

    private static FrozenDictionary<string, ConsoleFile> LoadFiles()
    {
        var assembly = typeof(ConsoleApi).Assembly;
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..16] + "\"";
            files[path] = new ConsoleFile(content, type, etag);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record ConsoleFile(byte[] Content, string ContentType, string ETag);
}
