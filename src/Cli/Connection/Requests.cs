using System.Globalization;
using System.Text.Json.Nodes;

namespace MeshOs.Cli.Connection;

/// <summary>Paths with escaped segments and query strings, and JSON bodies without the unset fields.</summary>
public static class Requests
{
    /// <summary>One path segment (an id), escaped.</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    /// <summary><paramref name="path"/> with the set parameters as its query string (null ones left out).</summary>
    public static string Query(string path, params (string Name, object? Value)[] parameters)
    {
        var set = parameters.Where(p => p.Value is not null)
            .Select(p => $"{Uri.EscapeDataString(p.Name)}={Uri.EscapeDataString(Format(p.Value!))}")
            .ToList();
        return set.Count == 0 ? path : $"{path}?{string.Join('&', set)}";
    }

    /// <summary>A JSON object of the set fields (null values and empty lists left out, so the server's defaults apply).</summary>
    public static JsonObject Body(params (string Name, object? Value)[] fields)
    {
        var body = new JsonObject();
        foreach (var (name, value) in fields)
        {
            JsonNode? node = value switch
            {
                null => null,
                JsonNode json => json,
                string text => JsonValue.Create(text),
                bool flag => JsonValue.Create(flag),
                int number => JsonValue.Create(number),
                long number => JsonValue.Create(number),
                double number => JsonValue.Create(number),
                decimal number => JsonValue.Create(number),
                IEnumerable<string> list when list.Any() => new JsonArray([.. list.Select(item => (JsonNode?)JsonValue.Create(item))]),
                IEnumerable<int> list when list.Any() => new JsonArray([.. list.Select(item => (JsonNode?)JsonValue.Create(item))]),
                IEnumerable<string> or IEnumerable<int> => null,
                _ => throw new ArgumentException($"{name}: no JSON form for {value.GetType().Name}.", nameof(fields)),
            };
            if (node is not null)
            {
                body[name] = node;
            }
        }

        return body;
    }

    private static string Format(object value) => value switch
    {
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
