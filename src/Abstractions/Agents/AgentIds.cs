using System.Diagnostics.CodeAnalysis;

namespace MeshOs.Abstractions.Agents;

/// <summary>What an agent id may be. Checked wherever an id arrives, before any grain is addressed with it.</summary>
public static class AgentIds
{
    public const int MaxLength = 128;

    /// <summary>1–128 of ASCII letters, digits and <c>- _ . : /</c>.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':' or '/');
}
