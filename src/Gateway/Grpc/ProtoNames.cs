using System.Text;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// The protobuf name of an input field the services name by its REST (JSON) name: errors reach gRPC callers with the
/// names of the messages they sent. Most differ only in case (<c>createdFrom</c> → <c>created_from</c>); a few are
/// other fields on the wire (a duration instead of seconds, the retry policy as a message of its own).
/// </summary>
public static class ProtoNames
{
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["payload"] = "payload_json",
        ["result"] = "result_json",
        ["timeoutSeconds"] = "timeout",
        ["maxAttempts"] = "retry.max_attempts",
        ["initialBackoffSeconds"] = "retry.initial_backoff",
        ["maxBackoffSeconds"] = "retry.max_backoff",
        ["backoffMultiplier"] = "retry.multiplier",
        ["probationMinutes"] = "probation",
        ["waitSeconds"] = "wait",
        ["state"] = "stage",
    };

    /// <summary>The protobuf name of <paramref name="restField"/> (a dotted path: each part is renamed).</summary>
    public static string Of(string restField) =>
        Renamed.TryGetValue(restField, out var renamed) ? renamed : string.Join('.', restField.Split('.').Select(Snake));

    private static string Snake(string name)
    {
        var text = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                text.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
