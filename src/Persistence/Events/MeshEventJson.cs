using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Abstractions.Events;

namespace MeshOs.Persistence.Events;

/// <summary>
/// The stored form of events (the <c>payload</c> column of <c>meshos_events</c>): camelCase JSON, enums as names,
/// durations in milliseconds. docs/events.md documents the schema.
/// </summary>
public static class MeshEventJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new MillisecondsConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(MeshEvent e) => JsonSerializer.Serialize(e with { Position = 0 }, Options);

    public static MeshEvent Deserialize(long position, string json) =>
        (JsonSerializer.Deserialize<MeshEvent>(json, Options) ?? throw new JsonException("An empty event.")) with { Position = position };

    private sealed class MillisecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.FromMilliseconds(reader.GetDouble());

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteRawValue(Math.Round(value.TotalMilliseconds, 3).ToString("0.###", CultureInfo.InvariantCulture));
    }
}
