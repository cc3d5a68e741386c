using System.Globalization;
using System.Text.Json;

namespace MeshOs.Cli.Output;

/// <summary>How a JSON value reads in a table cell.</summary>
public static class Cells
{
    /// <summary>Missing and null values.</summary>
    public const string None = "-";

    /// <summary>
    /// The value at a dotted path (<c>incident.severity</c>): strings as they are (times shortened to whole seconds, UTC),
    /// numbers and booleans as JSON writes them, arrays joined with commas, objects as compact JSON, null as <c>-</c>.
    /// </summary>
    public static string At(JsonElement element, string path)
    {
        foreach (var name in path.Split('.'))
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return None;
            }
        }

        return Text(element);
    }

    public static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => None,
        JsonValueKind.String => Time(value.GetString()!),
        JsonValueKind.Array => value.GetArrayLength() == 0 ? None : string.Join(",", value.EnumerateArray().Select(Text)),
        JsonValueKind.Object => JsonSerializer.Serialize(value),
        _ => value.GetRawText(),
    };

    /// <summary>An RFC 3339 time as <c>2026-12-08 02:24:08Z</c>; any other text unchanged.</summary>
    private static string Time(string text) =>
        text.Length >= 20 && text[4] == '-' && text[10] == 'T'
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
            ? time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : text;
}
