using System.Text;
using System.Text.Json;
using MeshOs.Cli.Output;

namespace MeshOs.Cli.Connection;

/// <summary>
/// An answer outside 2xx. The server answers RFC 7807 problem details (<c>title</c>, <c>detail</c>, <c>errors</c>,
/// and extensions such as <c>state</c>, <c>policy</c> or <c>budget</c>); <see cref="Describe"/> turns one into the
/// lines meshctl prints on stderr.
/// </summary>
public sealed class ApiException(int status, string? reason, string body) : Exception($"{status} {reason}")
{
    private static readonly HashSet<string> Standard = ["type", "title", "status", "detail", "instance", "errors", "traceId"];

    public int Status { get; } = status;

    public string? Reason { get; } = reason;

    /// <summary>The answer's body as sent.</summary>
    public string Body { get; } = body;

    public int ExitCode => ExitCodes.ForStatus(Status);

    public static ApiException From(int status, string? reason, string body) => new(status, reason, body);

    /// <summary>
    /// <c>error: 404 Not found: Job '…' was not found.</c>, then one indented line per field error and extension,
    /// then a hint for authentication failures (whose problem says nothing about which key was presented).
    /// </summary>
    public string Describe()
    {
        var text = new StringBuilder();
        JsonElement problem = default;
        try
        {
            problem = Body.Length > 0 ? JsonDocument.Parse(Body).RootElement : default;
        }
        catch (JsonException)
        {
        }

        if (problem.ValueKind == JsonValueKind.Object)
        {
            var title = String(problem, "title") ?? Reason;
            var detail = String(problem, "detail");
            text.Append($"error: {Status} {title}");
            if (detail is not null)
            {
                text.Append($": {detail}");
            }

            if (problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in errors.EnumerateObject())
                {
                    var messages = field.Value.ValueKind == JsonValueKind.Array
                        ? string.Join(" ", field.Value.EnumerateArray().Select(m => m.ToString()))
                        : field.Value.ToString();
                    text.Append($"\n  {field.Name}: {messages}");
                }
            }

            foreach (var extension in problem.EnumerateObject().Where(p => !Standard.Contains(p.Name)))
            {
                text.Append($"\n  {extension.Name}: {Cells.Text(extension.Value)}");
            }
        }
        else
        {
            text.Append($"error: {Status} {Reason}");
            if (!string.IsNullOrWhiteSpace(Body))
            {
                text.Append($": {Body.Trim()}");
            }
        }

        var hint = Status switch
        {
            401 => "the server refused the API key (none given, unknown, revoked, or of a disabled tenant): check --key, MESHCTL_KEY or the config file.",
            403 => "this key may not do that (a tenant key on an operator command, or an operator key outside its scope).",
            _ => null,
        };
        if (hint is not null)
        {
            text.Append($"\n  hint: {hint}");
        }

        return text.ToString();
    }

    private static string? String(JsonElement problem, string name) =>
        problem.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
