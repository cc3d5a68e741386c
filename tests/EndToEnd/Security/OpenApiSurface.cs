using System.Net;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>The JSON kind of a body field, as the OpenAPI document describes it.</summary>
public enum FieldKind
{
    Text,
    WholeNumber,
    Fraction,
    Flag,
    List,

    /// <summary>An object with named properties of its own schema.</summary>
    Record,

    /// <summary>An object of arbitrary names to values of one kind.</summary>
    Dictionary,

    /// <summary>An enumeration, written as its names.</summary>
    Choice,

    /// <summary>Any JSON value (a <c>JsonElement</c>: job payloads and results).</summary>
    AnyJson,
}

/// <summary>One property of a request body schema.</summary>
public sealed record BodyField(string Name, FieldKind Kind, string? Format, bool Nullable, IReadOnlyList<string> EnumValues, string? NestedSchema);

/// <summary>One operation of the REST API: method, route template, tag, parameters, body schema and declared problems.</summary>
/// <param name="ProblemStatuses">The statuses the document declares with a problem-details body.</param>
public sealed record ApiOperation(
    string Method,
    string Template,
    string OperationId,
    string Tag,
    IReadOnlyList<string> PathParameters,
    IReadOnlyList<string> QueryParameters,
    string? BodySchema,
    bool BodyRequired,
    IReadOnlySet<int> ProblemStatuses)
{
    public override string ToString() => $"{Method} {Template} ({OperationId})";
}

/// <summary>
/// The tenant, agent and operator REST surface as the running process documents it at /openapi/v1.json: every
/// operation under /v1, with its parameters and the fields of its body. Tests enumerate it instead of keeping their own
/// list, so an endpoint added later is covered (or fails a test until it is classified).
/// </summary>
public sealed class OpenApiSurface
{
    private readonly JsonObject _schemas;
    private readonly Dictionary<string, HashSet<string>> _methods;

    private OpenApiSurface(IReadOnlyList<ApiOperation> operations, JsonObject schemas)
    {
        Operations = operations;
        _schemas = schemas;
        _methods = operations.GroupBy(o => o.Template, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(o => o.Method).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    public IReadOnlyList<ApiOperation> Operations { get; }

    public static async Task<OpenApiSurface> LoadAsync(HttpClient anonymous)
    {
        var document = (await MeshApi.EnsureAsync(await anonymous.GetAsync("/openapi/v1.json"), HttpStatusCode.OK))!;
        var operations = new List<ApiOperation>();
        foreach (var (template, item) in document["paths"]!.AsObject())
        {
            if (!template.StartsWith("/v1/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (method, operation) in item!.AsObject())
            {
                var parameters = operation!["parameters"]?.AsArray().Select(p => p!) ?? [];
                var body = operation["requestBody"];
                var schema = body?["content"]?["application/json"]?["schema"];
                operations.Add(new ApiOperation(
                    method.ToUpperInvariant(),
                    template,
                    operation["operationId"]?.GetValue<string>() ?? $"{method} {template}",
                    operation["tags"]?[0]?.GetValue<string>() ?? "untagged",
                    [.. parameters.Where(p => p["in"]!.GetValue<string>() == "path").Select(p => p["name"]!.GetValue<string>())],
                    [.. parameters.Where(p => p["in"]!.GetValue<string>() == "query").Select(p => p["name"]!.GetValue<string>())],
                    schema is null ? null : RefName(schema),
                    body?["required"]?.GetValue<bool>() ?? false,
                    ProblemStatuses(operation["responses"]?.AsObject())));
            }
        }

        return new OpenApiSurface(operations, document["components"]!["schemas"]!.AsObject());
    }

    /// <summary>The properties of a body schema the document marks required.</summary>
    public IReadOnlySet<string> RequiredOf(string schemaName) =>
        (_schemas[schemaName]?["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? []).ToHashSet(StringComparer.Ordinal);

    /// <summary>The whole document, for checks of its own.</summary>
    public JsonObject Schemas => _schemas;

    private static HashSet<int> ProblemStatuses(JsonObject? responses) =>
        responses is null ? [] : [.. responses
            .Where(r => r.Value?["content"]?["application/problem+json"] is not null)
            .Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The methods the document defines for a route template.</summary>
    public IReadOnlySet<string> MethodsOf(string template) => _methods[template];

    /// <summary>The properties of a body schema, with their kinds.</summary>
    public IReadOnlyList<BodyField> FieldsOf(string schemaName)
    {
        var properties = _schemas[schemaName]?["properties"]?.AsObject();
        if (properties is null)
        {
            return [];
        }

        return [.. properties.Select(p => Field(p.Key, p.Value!))];
    }

    private BodyField Field(string name, JsonNode schema)
    {
        var types = TypesOf(schema);
        var nullable = types.Contains("null") || schema["oneOf"]?.AsArray().Any(o => TypesOf(o!).Contains("null")) == true;
        var format = schema["format"]?.GetValue<string>();
        var reference = RefName(schema);
        if (reference is not null)
        {
            var target = _schemas[reference]!;
            if (target["enum"] is JsonArray values)
            {
                return new BodyField(name, FieldKind.Choice, null, nullable, [.. values.Select(v => v!.GetValue<string>())], null);
            }

            return target["properties"] is null
                ? new BodyField(name, FieldKind.AnyJson, null, nullable, [], null)
                : new BodyField(name, FieldKind.Record, null, nullable, [], reference);
        }

        var kind = types.Contains("integer") ? FieldKind.WholeNumber
            : types.Contains("number") ? FieldKind.Fraction
            : types.Contains("boolean") ? FieldKind.Flag
            : types.Contains("array") ? FieldKind.List
            : types.Contains("object") ? (schema["additionalProperties"] is not null ? FieldKind.Dictionary : FieldKind.Record)
            : types.Contains("string") ? FieldKind.Text
            : FieldKind.AnyJson;
        return new BodyField(name, kind, format, nullable, [], null);
    }

    private static HashSet<string> TypesOf(JsonNode schema) => schema["type"] switch
    {
        JsonArray many => [.. many.Select(t => t!.GetValue<string>())],
        JsonValue one => [one.GetValue<string>()],
        _ => [],
    };

    /// <summary>The component a schema refers to, directly or as the non-null branch of a oneOf.</summary>
    private static string? RefName(JsonNode schema)
    {
        var reference = schema["$ref"]?.GetValue<string>()
            ?? schema["oneOf"]?.AsArray().Select(o => o?["$ref"]?.GetValue<string>()).FirstOrDefault(r => r is not null);
        return reference?[(reference.LastIndexOf('/') + 1)..];
    }
}
