using Microsoft.Net.Http.Headers;

namespace MeshOs.Gateway.Errors;

/// <summary>
/// Refuses, with 415 problem details, REST request bodies the gateway cannot read as they are labelled: a
/// Content-Encoding other than identity (bodies are never decompressed, so a compressed one would be parsed as
/// garbage, an uncompressed one mislabelled), and JSON in a charset other than UTF-8 (RFC 8259 JSON between systems is
/// UTF-8; an unknown charset used to fail as a server error). gRPC requests carry their own encoding and are left alone.
/// </summary>
public static class RequestContentChecks
{
    public static IApplicationBuilder UseRequestContentChecks(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (Refusal(context.Request) is { } refusal)
            {
                throw new BadHttpRequestException(refusal, StatusCodes.Status415UnsupportedMediaType);
            }

            await next(context);
        });

    private static string? Refusal(HttpRequest request)
    {
        var contentType = request.ContentType;
        if (contentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true || !HasBody(request))
        {
            return null;
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !string.Equals(encoding.Trim(), "identity", StringComparison.OrdinalIgnoreCase))
        {
            return $"Content-Encoding '{Clip(encoding)}' is not supported: send the body uncompressed.";
        }

        if (contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var media) && IsJson(media)
            && media.Charset.HasValue && !IsUtf8(media.Charset.Value!))
        {
            return $"charset '{Clip(media.Charset.Value!)}' is not supported: send JSON as UTF-8.";
        }

        return null;
    }

    private static bool HasBody(HttpRequest request) => request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(MediaTypeHeaderValue media) =>
        media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);

    private static bool IsUtf8(string charset) =>
        charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Trim('"').Equals("utf8", StringComparison.OrdinalIgnoreCase);

    private static string Clip(string value) => value.Length > 40 ? value[..40] + "…" : value;
}
