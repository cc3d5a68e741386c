using MeshOs.Cli;
using MeshOs.Cli.Backup;
using MeshOs.Cli.Connection;
using MeshOs.Cli.Jobs;

namespace MeshOs.Tests.Cli.Unit;

/// <summary>Problem details on stderr, exit codes, query strings, event streams and connection strings.</summary>
public sealed class ErrorsAndRequestsTests
{
    [Theory]
    [InlineData(400, 1)]
    [InlineData(413, 1)]
    [InlineData(415, 1)]
    [InlineData(404, 2)]
    [InlineData(401, 3)]
    [InlineData(403, 3)]
    [InlineData(402, 4)]
    [InlineData(409, 4)]
    [InlineData(422, 4)]
    [InlineData(429, 4)]
    [InlineData(500, 5)]
    [InlineData(503, 5)]
    public void Each_http_error_has_its_documented_exit_code(int status, int exitCode) =>
        Assert.Equal(exitCode, ExitCodes.ForStatus(status));

    [Fact]
    public void A_problem_prints_its_title_detail_field_errors_and_extensions()
    {
        var problem = ApiException.From(409, "Conflict", """
            {"type": "urn:x", "title": "Not allowed in the current state", "status": 409, "detail": "The job is already Succeeded.",
             "errors": {"priority": ["0 (lowest) to 9 (highest)."]}, "state": "Succeeded", "traceId": "00-abc"}
            """);

        Assert.Equal(
            "error: 409 Not allowed in the current state: The job is already Succeeded.\n" +
            "  priority: 0 (lowest) to 9 (highest).\n" +
            "  state: Succeeded",
            problem.Describe());
        Assert.Equal(ExitCodes.Refused, problem.ExitCode);
    }

    [Fact]
    public void A_401_without_detail_says_which_settings_hold_the_key()
    {
        var problem = ApiException.From(401, "Unauthorized", """{"title": "Unauthorized", "status": 401}""");

        Assert.Equal(
            "error: 401 Unauthorized\n" +
            "  hint: the server refused the API key (none given, unknown, revoked, or of a disabled tenant): check --key, MESHCTL_KEY or the config file.",
            problem.Describe());
    }

    [Fact]
    public void An_answer_that_is_not_json_is_printed_as_it_came()
    {
        Assert.Equal("error: 502 Bad Gateway: upstream down", ApiException.From(502, "Bad Gateway", "upstream down\n").Describe());
    }

    [Fact]
    public void A_query_string_leaves_out_unset_parameters_and_escapes_the_rest()
    {
        var path = Requests.Query("/v1/audit", ("action", "jobs.submit"), ("tenant", null), ("target", "job/a b"),
            ("from", new DateTimeOffset(2026, 12, 8, 2, 0, 0, TimeSpan.Zero)), ("limit", 5), ("open", true));

        Assert.Equal("/v1/audit?action=jobs.submit&target=job%2Fa%20b&from=2026-12-08T02%3A00%3A00.0000000%2B00%3A00&limit=5&open=true", path);
        Assert.Equal("/v1/jobs", Requests.Query("/v1/jobs", ("status", null)));
    }

    [Fact]
    public void A_body_leaves_out_unset_fields_and_empty_lists()
    {
        var body = Requests.Body(("reason", null), ("pools", Array.Empty<string>()), ("regions", new[] { "eu-west" }), ("priority", 3), ("hard", true));

        Assert.Equal("""{"regions":["eu-west"],"priority":3,"hard":true}""", body.ToJsonString());
    }

    [Fact]
    public async Task An_event_stream_yields_each_events_data_lines_joined()
    {
        var stream = new MemoryStream("event: job\ndata: {\"a\":1}\nid: 1\n\n: comment\n\ndata: line1\ndata: line2\n\ndata:{\"last\":true}"u8.ToArray());

        var events = new List<string>();
        await foreach (var data in ServerSentEvents.ReadDataAsync(stream, CancellationToken.None))
        {
            events.Add(data);
        }

        Assert.Equal(["{\"a\":1}", "line1\nline2", "{\"last\":true}"], events);
    }

    [Fact]
    public void An_npgsql_connection_string_becomes_a_database_name_and_libpq_variables()
    {
        var connection = PostgresConnection.Parse("Host=db.internal;Port=5433;Database=meshos;Username=mesh;Password=s3cret;SSL Mode=VerifyFull;Maximum Pool Size=50");

        Assert.Equal("meshos", connection.DbName);
        Assert.Equal(new Dictionary<string, string>
        {
            ["PGHOST"] = "db.internal", ["PGPORT"] = "5433", ["PGUSER"] = "mesh", ["PGPASSWORD"] = "s3cret", ["PGSSLMODE"] = "verify-full",
        }, connection.Environment);
    }

    [Fact]
    public void A_postgres_uri_is_passed_whole_and_a_string_without_a_database_is_a_usage_error()
    {
        Assert.Equal("postgresql://u@h/meshos", PostgresConnection.Parse("postgresql://u@h/meshos").DbName);
        var error = Assert.Throws<CliException>(() => PostgresConnection.Parse("Host=h;Username=u"));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }
}
