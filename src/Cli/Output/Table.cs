using System.Text.Json;

namespace MeshOs.Cli.Output;

/// <summary>A column: its heading and the dotted JSON path of its value in each row.</summary>
public sealed record Column(string Heading, string Path);

/// <summary>
/// A plain-text table in the kubectl manner: upper-case headings, columns left-aligned and padded to their widest
/// cell, two spaces apart, no trailing blanks. No rows prints the headings and <c>(none)</c>.
/// </summary>
public static class Table
{
    public static void Write(TextWriter writer, IReadOnlyList<Column> columns, IEnumerable<JsonElement> rows) =>
        Write(writer, [.. columns.Select(c => c.Heading)], rows.Select(row => (IReadOnlyList<string>)[.. columns.Select(c => Cells.At(row, c.Path))]));

    public static void Write(TextWriter writer, IReadOnlyList<string> headings, IEnumerable<IReadOnlyList<string>> rows)
    {
        var lines = rows.ToList();
        var widths = headings.Select((h, i) => lines.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        WriteLine(writer, [.. headings.Select(h => h.ToUpperInvariant())], widths);
        foreach (var row in lines)
        {
            WriteLine(writer, row, widths);
        }

        if (lines.Count == 0)
        {
            writer.WriteLine("(none)");
        }
    }

    /// <summary>One object as <c>Field:  value</c> lines, the names aligned.</summary>
    public static void WriteFields(TextWriter writer, JsonElement element, IReadOnlyList<Column> fields)
    {
        var width = fields.Max(f => f.Heading.Length) + 1;
        foreach (var field in fields)
        {
            writer.WriteLine($"{(field.Heading + ":").PadRight(width)}  {Cells.At(element, field.Path)}".TrimEnd());
        }
    }

    private static void WriteLine(TextWriter writer, IReadOnlyList<string> cells, int[] widths) =>
        writer.WriteLine(string.Join("  ", cells.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
}
