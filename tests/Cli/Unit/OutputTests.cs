using System.Text.Json;
using MeshOs.Cli.Output;

namespace MeshOs.Tests.Cli.Unit;

/// <summary>Tables and cells: the exact text a human reads.</summary>
public sealed class OutputTests
{
    private static readonly Column[] Columns = [new("Id", "id"), new("Status", "status"), new("Agent", "lease.agent"), new("Tags", "tags")];

    [Fact]
    public void A_table_pads_each_column_to_its_widest_cell_two_spaces_apart_without_trailing_blanks()
    {
        var rows = Parse("""
            [
              {"id": "job-1", "status": "Running", "lease": {"agent": "agent-0001"}, "tags": ["a", "b"]},
              {"id": "job-22", "status": "Pending", "lease": null, "tags": []}
            ]
            """);
        using var text = new StringWriter { NewLine = "\n" };

        Table.Write(text, Columns, rows.EnumerateArray());

        Assert.Equal(
            "ID      STATUS   AGENT       TAGS\n" +
            "job-1   Running  agent-0001  a,b\n" +
            "job-22  Pending  -           -\n",
            text.ToString());
    }

    [Fact]
    public void A_table_without_rows_prints_its_headings_and_none()
    {
        using var text = new StringWriter { NewLine = "\n" };

        Table.Write(text, Columns, []);

        Assert.Equal("ID  STATUS  AGENT  TAGS\n(none)\n", text.ToString());
    }

    [Fact]
    public void Fields_align_their_names_and_show_missing_values_as_a_dash()
    {
        var job = Parse("""{"id": "job-1", "status": "Succeeded", "lease": {"agent": "a-1"}}""");
        using var text = new StringWriter { NewLine = "\n" };

        Table.WriteFields(text, job, Columns);

        Assert.Equal("Id:      job-1\nStatus:  Succeeded\nAgent:   a-1\nTags:    -\n", text.ToString());
    }

    [Theory]
    [InlineData("""{"v": "2026-12-08T02:24:08.4775454+00:00"}""", "2026-12-08 02:24:08Z")]
    [InlineData("""{"v": "2026-12-08T03:24:08+01:00"}""", "2026-12-08 02:24:08Z")]
    [InlineData("""{"v": "2026-12-08"}""", "2026-12-08")]
    [InlineData("""{"v": "plain text"}""", "plain text")]
    [InlineData("""{"v": 0.000034}""", "0.000034")]
    [InlineData("""{"v": false}""", "false")]
    [InlineData("""{"v": null}""", "-")]
    [InlineData("""{}""", "-")]
    [InlineData("""{"v": {}}""", "{}")]
    [InlineData("""{"v": {"a": [1, 2]}}""", """{"a":[1,2]}""")]
    [InlineData("""{"v": [1, "x"]}""", "1,x")]
    public void A_cell_reads_json_values_as_a_human_would(string json, string expected) =>
        Assert.Equal(expected, Cells.At(Parse(json), "v"));

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;
}
