using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using MeshOs.Abstractions.Events;

namespace MeshOs.Tests.Unit.Events;

/// <summary>
/// docs/events.md against the code: every kind's payload section lists exactly its record's properties (camelCase, as
/// stored), and the envelope table lists exactly the envelope's fields and every kind's payload property.
/// </summary>
public sealed partial class EventsDocumentationTests
{
    private static readonly Lazy<string> Document = new(() => File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "events.md")));

    public static TheoryData<MeshEventKind> Kinds() => [.. MeshEventKinds.All.Select(k => k.Kind)];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_payloads_section_lists_exactly_its_fields(MeshEventKind kind)
    {
        var info = MeshEventKinds.Find(kind)!;
        var sections = Sections();
        Assert.True(sections.TryGetValue(info.PayloadProperty, out var section), $"docs/events.md has no section ## `{info.PayloadProperty}` ({kind}).");
        Assert.Equal(kind.ToString(), section.Kind);
        Assert.Equal(JsonNames(info.PayloadType).Order(StringComparer.Ordinal), section.Fields.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_documented_section_is_a_kind_in_code()
    {
        var inCode = MeshEventKinds.All.Select(k => (k.PayloadProperty, k.Kind.ToString())).ToHashSet();
        Assert.All(Sections(), s => Assert.Contains((s.Key, s.Value.Kind), inCode));
    }

    [Fact]
    public void The_envelope_table_lists_exactly_the_envelopes_fields_and_each_kinds_payload_property()
    {
        var envelope = JsonNames(typeof(MeshEvent)).Where(n => n != "payload").Concat(MeshEventKinds.All.Select(k => k.PayloadProperty));
        Assert.Equal(envelope.Order(StringComparer.Ordinal), TableFields(SectionText("## Envelope")).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_documented_kinds_are_the_enums_values()
    {
        var kindRow = Regex.Match(SectionText("## Envelope"), @"^\| `kind` \|(?<kinds>[^|\\]*(\\\|[^|\\]*)*)\|", RegexOptions.Multiline);
        Assert.True(kindRow.Success);
        var documented = Regex.Matches(kindRow.Groups["kinds"].Value, "`([A-Za-z]+)`").Select(m => m.Groups[1].Value);
        Assert.Equal(Enum.GetNames<MeshEventKind>().Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
        Assert.Equal(Enum.GetValues<MeshEventKind>().Order(), MeshEventKinds.All.Select(k => k.Kind).Order());
    }

    /// <summary>Public instance properties as they are stored: camelCase (the stored JSON uses web defaults).</summary>
    private static IEnumerable<string> JsonNames(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name));

    private static Dictionary<string, (string Kind, List<string> Fields)> Sections() =>
        SectionHeading().Matches(Document.Value).ToDictionary(
            m => m.Groups["property"].Value,
            m => (m.Groups["kind"].Value, TableFields(SectionText(m.Value))));

    private static string SectionText(string heading)
    {
        var text = Document.Value;
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/events.md has no '{heading}'.");
        var end = text.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    /// <summary>The backticked names in the first column of the section's table (a row may name several).</summary>
    private static List<string> TableFields(string section) =>
        [.. section.Split('\n')
            .Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .SelectMany(l => Regex.Matches(l.Split(" | ")[0], "`([A-Za-z]+)`").Select(m => m.Groups[1].Value))];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MeshOs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("MeshOs.sln not found above the test's directory.");
    }

    [GeneratedRegex(@"^## `(?<property>[A-Za-z]+)` \((?<kind>[A-Za-z]+)\)$", RegexOptions.Multiline)]
    private static partial Regex SectionHeading();
}
