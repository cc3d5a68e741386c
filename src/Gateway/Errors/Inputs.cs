using System.Text;
using System.Text.Json;
using MeshOs.Abstractions;

namespace MeshOs.Gateway.Errors;

/// <summary>Checks the application services share for what callers put in paths, queries and free-text fields.</summary>
public static class Inputs
{
    /// <summary>Longest free-text reason (drain, quarantine, release, restart, cancel) accepted.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>
    /// Whether <paramref name="id"/> could name an object: 1–<paramref name="maxLength"/> characters, none of them
    /// whitespace or control characters. Ids that could not exist answer 404 without touching a grain.
    /// </summary>
    public static bool IsPlausibleId(string? id, int maxLength) =>
        !string.IsNullOrEmpty(id) && id.Length <= maxLength && !id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    /// <summary><paramref name="reason"/> when given (at most <see cref="MaxReasonLength"/> characters), else <paramref name="fallback"/>.</summary>
    public static string Reason(string? reason, string fallback) =>
        string.IsNullOrEmpty(reason) ? fallback
        : reason.Length <= MaxReasonLength ? reason
        : throw MeshException.Invalid("reason", $"at most {MaxReasonLength} characters.");

    /// <summary>Longest filter value (an id, an action, a subject) a query accepts.</summary>
    public const int MaxFilterLength = 256;

    /// <summary>A filter value: null when absent or empty, InvalidArgument naming <paramref name="field"/> past <see cref="MaxFilterLength"/>.</summary>
    public static string? Filter(string? value, string field) => value switch
    {
        null or "" => null,
        { Length: > MaxFilterLength } => throw MeshException.Invalid(field, $"at most {MaxFilterLength} characters."),
        _ => value,
    };

    /// <summary>A page size: <paramref name="fallback"/> when absent, else 1–<paramref name="max"/>.</summary>
    public static int Limit(int? limit, int fallback, int max, string name = "limit")
    {
        var size = limit ?? fallback;
        return size >= 1 && size <= max ? size : throw MeshException.Invalid(name, $"1–{max:N0}.");
    }

    /// <summary>
    /// A reporting period: <paramref name="to"/> or a minute after <paramref name="now"/>, and <paramref name="from"/> or
    /// <paramref name="length"/> before that end (but not before the earliest date there is); InvalidArgument unless it
    /// starts before it ends.
    /// </summary>
    public static (DateTimeOffset From, DateTimeOffset To) Period(DateTimeOffset? from, DateTimeOffset? to, TimeSpan length, DateTimeOffset now)
    {
        var end = to ?? now.AddMinutes(1);
        var start = from ?? (end - DateTimeOffset.MinValue > length ? end - length : DateTimeOffset.MinValue);
        return start < end ? (start, end) : throw MeshException.Invalid("from", "must be before to.");
    }

    /// <summary>
    /// The JSON text of <paramref name="element"/>. The parser leaves string contents unchecked until they are read, so
    /// bytes that are not UTF-8 inside a string surface here, as a 400 naming the field.
    /// </summary>
    public static string? JsonText(JsonElement? element, string name)
    {
        try
        {
            return element?.GetRawText();
        }
        catch (InvalidOperationException ex) when (ex.InnerException is DecoderFallbackException)
        {
            throw MeshException.Invalid(name, "not valid UTF-8.");
        }
    }

    /// <summary>
    /// A query value naming a member of <typeparamref name="T"/> exactly (case aside). Numbers and comma lists, which
    /// enum parsing would otherwise turn into some other member, are refused.
    /// </summary>
    public static T? EnumName<T>(string? text, string name) where T : struct, Enum
    {
        if (text is null)
        {
            return null;
        }

        foreach (var member in Enum.GetValues<T>())
        {
            if (string.Equals(member.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                return member;
            }
        }

        throw MeshException.Invalid(name, $"one of {string.Join(", ", Enum.GetNames<T>())}.");
    }
}
