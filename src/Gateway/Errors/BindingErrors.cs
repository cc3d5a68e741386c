using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace MeshOs.Gateway.Errors;

/// <summary>
/// Explains a request an endpoint could not read, the way the services explain invalid values: the field first (its
/// JSON path, wire names: <c>priority</c>, <c>quotas.submitBurst</c>, <c>jobs[3].priority</c>, <c>body</c> for the
/// whole body, the query parameter's name), then what was wrong. What a field expects is read from the endpoint's
/// request type as the JSON serializer sees it, never from an exception's text, and no .NET type name is shown.
/// </summary>
internal static class BindingErrors
{
    private const string Body = "body";

    public static string Describe(HttpContext context, BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException json)
        {
            return DescribeJson(context, json);
        }

        // Kestrel's own refusals (a body cut short, a malformed chunk) and the status-specific ones (413, 415) say it well.
        if (bad.GetType() != typeof(BadHttpRequestException) || bad.StatusCode != StatusCodes.Status400BadRequest)
        {
            return bad.Message;
        }

        if (QueryProblem(context) is { } query)
        {
            return query;
        }

        return RequestType(context) is not null ? $"{Body}: required, a JSON object." : bad.Message;
    }

    private static string DescribeJson(HttpContext context, JsonException json)
    {
        var path = json.Path ?? "$";
        var field = FieldOf(path);
        if (json.InnerException is JsonException syntax)
        {
            return $"{field}: not valid JSON ({syntax.Message})";
        }

        var expected = Expected(context, path);
        if (expected is null)
        {
            return $"{field}: not a valid value.";
        }

        // A value of the wrong kind for a number, string or flag fails in its converter, which says why (the inner
        // exception); a failure without one at such a field is the serializer refusing a name given twice.
        return json.InnerException is null && expected.Value.IsScalar
            ? $"{field}: given more than once."
            : $"{field}: expected {expected.Value.Description}.";
    }

    /// <summary><c>$</c> → <c>body</c>; <c>$.a.b[2].c</c> → <c>a.b[2].c</c>; <c>$['odd name']</c> → <c>odd name</c>.</summary>
    private static string FieldOf(string path)
    {
        if (path == "$")
        {
            return Body;
        }

        var text = new StringBuilder(path.Length);
        foreach (var segment in Segments(path))
        {
            if (segment.Index is { } index)
            {
                text.Append('[').Append(index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else
            {
                text.Append(text.Length == 0 ? string.Empty : ".").Append(segment.Name);
            }
        }

        return text.ToString();
    }

    private readonly record struct Segment(string? Name, int? Index);

    private static List<Segment> Segments(string path)
    {
        var segments = new List<Segment>();
        var i = 1; // past '$'
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = i + 1;
                while (end < path.Length && path[end] is not ('.' or '['))
                {
                    end++;
                }

                segments.Add(new Segment(path[(i + 1)..end], null));
                i = end;
            }
            else if (path[i] == '[' && i + 1 < path.Length && path[i + 1] == '\'')
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                end = end < 0 ? path.Length : end;
                segments.Add(new Segment(path[(i + 2)..end], null));
                i = Math.Min(path.Length, end + 2);
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                end = end < 0 ? path.Length : end;
                segments.Add(new Segment(null, int.TryParse(path.AsSpan(i + 1, end - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0));
                i = Math.Min(path.Length, end + 1);
            }
            else
            {
                break;
            }
        }

        return segments;
    }

    private readonly record struct Expectation(string Description, bool IsScalar);

    /// <summary>What the value at <paramref name="path"/> of the endpoint's body must be, from the body type's JSON contract.</summary>
    private static Expectation? Expected(HttpContext context, string path)
    {
        if (RequestType(context) is not { } type)
        {
            return null;
        }

        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        foreach (var segment in Segments(path))
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            var next = info.Kind switch
            {
                JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary => info.ElementType,
                JsonTypeInfoKind.Object when segment.Name is { } name =>
                    info.Properties.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))?.PropertyType,
                _ => null,
            };
            if (next is null)
            {
                return null;
            }

            type = next;
        }

        return Describe(Nullable.GetUnderlyingType(type) ?? type, options);
    }

    private static Expectation Describe(Type type, JsonSerializerOptions options)
    {
        if (type.IsEnum)
        {
            return new($"one of {string.Join(", ", Enum.GetNames(type))}", false);
        }

        if (Integer(type) is { } range)
        {
            return new($"an integer from {range.Min.ToString(CultureInfo.InvariantCulture)} to {range.Max.ToString(CultureInfo.InvariantCulture)}", true);
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return new("a number", true);
        }

        if (type == typeof(string))
        {
            return new("a string", true);
        }

        if (type == typeof(bool))
        {
            return new("true or false", true);
        }

        if (type == typeof(Guid))
        {
            return new("a UUID", true);
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return new("a date and time (RFC 3339)", true);
        }

        if (type == typeof(JsonElement))
        {
            return new("a JSON value", false);
        }

        return options.GetTypeInfo(type).Kind == JsonTypeInfoKind.Enumerable ? new("a JSON array", false) : new("a JSON object", false);
    }

    private static (long Min, long Max)? Integer(Type type) =>
        type == typeof(int) ? (int.MinValue, int.MaxValue)
        : type == typeof(long) ? (long.MinValue, long.MaxValue)
        : type == typeof(short) ? (short.MinValue, short.MaxValue)
        : type == typeof(byte) ? (byte.MinValue, byte.MaxValue)
        : null;

    /// <summary>The body type the endpoint reads, if it reads one.</summary>
    private static Type? RequestType(HttpContext context) =>
        Endpoint(context)?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;

    /// <summary>The endpoint that failed: the exception handler has cleared the request's own by the time it asks.</summary>
    private static Endpoint? Endpoint(HttpContext context) =>
        context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();

    /// <summary>
    /// The first query parameter of the endpoint's handler whose value does not parse as its declared type, explained;
    /// null when every one does.
    /// </summary>
    private static string? QueryProblem(HttpContext context)
    {
        if (Endpoint(context)?.Metadata.GetMetadata<MethodInfo>() is not { } handler)
        {
            return null;
        }

        foreach (var parameter in handler.GetParameters())
        {
            var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
            if (parameter.Name is not { } name || !context.Request.Query.TryGetValue(name, out var values) || Parses(type, values.ToString()))
            {
                continue;
            }

            var given = values.ToString();
            return $"{name}: expected {Describe(type, context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions).Description}, "
                + $"got '{(given.Length > 40 ? given[..40] + "…" : given)}'.";
        }

        return null;
    }

    private static bool Parses(Type type, string value) =>
        type == typeof(int) ? int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
        : type == typeof(long) ? long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
        : type == typeof(double) ? double.TryParse(value, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out _)
        : type == typeof(bool) ? bool.TryParse(value, out _)
        : type == typeof(DateTimeOffset) ? DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
        : type == typeof(Guid) ? Guid.TryParse(value, out _)
        : true;
}
