using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MeshOs.Abstractions.Events;

namespace MeshOs.Persistence.Events;

/// <summary>
/// The stored form of events (the <c>payload</c> column of <c>meshos_events</c>): camelCase JSON, enums as names,
/// durations in milliseconds. The envelope's fields sit at the top level and the payload under its kind's property
/// (<see cref="MeshEventKindInfo.PayloadProperty"/>: <c>agent</c>, <c>job</c>, …), which is the shape events had before
/// the envelope: rows written then (no <c>schemaVersion</c>) read as schema version 1. docs/events.md documents it.
/// </summary>
public static class MeshEventJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new MillisecondsConverter(), new EnvelopeConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize(MeshEvent e) => JsonSerializer.Serialize(e with { Position = 0 }, Options);

    public static MeshEvent Deserialize(long position, string json) =>
        (JsonSerializer.Deserialize<MeshEvent>(json, Options) ?? throw new JsonException("An empty event.")) with { Position = position };

    private sealed class EnvelopeConverter : JsonConverter<MeshEvent>
    {
        public override MeshEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            var kind = root.GetProperty("kind").Deserialize<MeshEventKind>(options);
            var info = MeshEventKinds.Find(kind) ?? throw new JsonException($"Unknown event kind {kind}.");
            var payload = root.TryGetProperty(info.PayloadProperty, out var p) && p.ValueKind == JsonValueKind.Object
                ? (IMeshEventPayload?)p.Deserialize(info.PayloadType, options)
                : null;
            return new MeshEvent(
                0,
                root.GetProperty("at").GetDateTimeOffset(),
                payload ?? throw new JsonException($"A {kind} event without its '{info.PayloadProperty}' payload."),
                String(root, "actor"),
                String(root, "tenantId"),
                String(root, "correlationId"),
                root.TryGetProperty("schemaVersion", out var v) ? v.GetInt32() : 1);
        }

        public override void Write(Utf8JsonWriter writer, MeshEvent value, JsonSerializerOptions options)
        {
            var info = MeshEventKinds.Of(value.Payload);
            writer.WriteStartObject();
            writer.WritePropertyName("kind");
            JsonSerializer.Serialize(writer, info.Kind, options);
            writer.WriteNumber("schemaVersion", value.SchemaVersion);
            writer.WritePropertyName("at");
            JsonSerializer.Serialize(writer, value.At, options);
            WriteString(writer, "actor", value.Actor);
            WriteString(writer, "tenantId", value.TenantId);
            WriteString(writer, "correlationId", value.CorrelationId);
            writer.WritePropertyName(info.PayloadProperty);
            JsonSerializer.Serialize(writer, value.Payload, info.PayloadType, options);
            writer.WriteEndObject();
        }

        private static string? String(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static void WriteString(Utf8JsonWriter writer, string name, string? value)
        {
            if (value is not null)
            {
                writer.WriteString(name, value);
            }
        }
    }

    private sealed class MillisecondsConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.FromMilliseconds(reader.GetDouble());

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteRawValue(Math.Round(value.TotalMilliseconds, 3).ToString("0.###", CultureInfo.InvariantCulture));
    }
}
