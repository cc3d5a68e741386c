using System.Collections.Immutable;

namespace MeshOs.Abstractions.Compliance;

/// <summary>
/// The names the residency and classification rules compare: regions (a tenant's allowed regions) and data classes (a
/// job's tags, a tenant's allowed classes, an agent's certifications). Each is 1–32 of <c>a-z 0-9 -</c>; a list holds
/// at most 8, kept distinct and in ordinal order so that equal lists read the same everywhere.
/// </summary>
public static class ComplianceTags
{
    public const int MaxLength = 32;

    public const int MaxCount = 8;

    public static bool IsValid(string? tag) =>
        tag is { Length: >= 1 and <= MaxLength } && tag.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    /// <summary>
    /// The list as stored: distinct, in ordinal order, empty for null. InvalidArgument naming <paramref name="field"/>
    /// for a bad name or too many.
    /// </summary>
    public static ImmutableArray<string> Normalize(string field, IEnumerable<string>? tags)
    {
        if (tags is null || (tags is ImmutableArray<string> array && array.IsDefault))
        {
            return [];
        }

        var list = tags.ToList();
        if (list.Count > MaxCount)
        {
            throw MeshException.Invalid(field, $"at most {MaxCount} names ({list.Count} given).");
        }

        foreach (var tag in list)
        {
            if (!IsValid(tag))
            {
                throw MeshException.Invalid(field, $"'{tag}' is not a name of 1–{MaxLength} of a-z 0-9 -.");
            }
        }

        return [.. list.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The list, empty when default (records deserialized from before the field existed).</summary>
    public static ImmutableArray<string> OrEmpty(this ImmutableArray<string> tags) => tags.IsDefault ? [] : tags;
}
