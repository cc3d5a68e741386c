using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// Every error keeps its true status whatever the client accepts: problem details where it accepts JSON (or anything),
/// a plain-text explanation otherwise. And a body the server cannot read is answered with the field (as a JSON path,
/// wire names) and what was wrong with it, never just "Bad Request".
/// </summary>
[Collection(EmbeddedKernelCollection.Name)]
public sealed class ErrorAnswerTests(EmbeddedKernelFixture fixture)
{
    private KernelMesh Mesh => fixture.Mesh;

    /// <summary>Accept headers that exclude JSON: a browser's EventSource, curl asking for text, and others.</summary>
    public static TheoryData<string> NonJsonAccepts() => ["text/event-stream", "text/plain", "application/xml", "image/png", "application/json;q=0, text/html"];

    /// <summary>Accept headers under which problem details must be written.</summary>
    public static TheoryData<string> JsonAccepts() => ["*/*", "application/json", "application/problem+json", "text/plain;q=0.5, application/*", "text/event-stream, */*;q=0.1"];

    [Theory]
    [MemberData(nameof(NonJsonAccepts))]
    public async Task An_unknown_job_is_404_on_get_events_and_cancel_whatever_the_accept_header(string accept)
    {
        var tenant = await Mesh.CreateTenantAsync();
        var unknown = Guid.NewGuid();
        foreach (var (method, path) in new[] { ("GET", $"/v1/jobs/{unknown}"), ("GET", $"/v1/jobs/{unknown}/events"), ("POST", $"/v1/jobs/{unknown}/cancel") })
        {
            var (status, type, body) = await SendAsync(tenant.Http, method, path, accept);
            Assert.True(status == HttpStatusCode.NotFound, $"{method} {path} with Accept {accept}: {(int)status} {type} {body}");
            Assert.Equal("text/plain", type);
            Assert.Contains($"Job '{unknown}' was not found", body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(NonJsonAccepts))]
    public async Task A_tenant_probing_another_tenants_job_events_gets_404_not_500(string accept)
    {
        var owner = await Mesh.CreateTenantAsync();
        var prober = await Mesh.CreateTenantAsync();
        var jobId = JobCalls.Id(await JobCalls.SubmitCreatedAsync(owner.Http, new { type = "t", capability = JobCalls.Unique("probe"), payload = new { } }));

        var (status, _, body) = await SendAsync(prober.Http, "GET", $"/v1/jobs/{jobId}/events", accept);
        Assert.True(status == HttpStatusCode.NotFound, $"Accept {accept}: {(int)status} {body}");
        var (badStatus, _, badBody) = await SendAsync(prober.Http, "GET", "/v1/jobs/not-a-uuid/events", accept);
        Assert.True(badStatus == HttpStatusCode.BadRequest, $"Accept {accept}: {(int)badStatus} {badBody}");
    }

    [Theory]
    [MemberData(nameof(JsonAccepts))]
    public async Task Problem_details_are_written_where_json_is_accepted(string accept)
    {
        var tenant = await Mesh.CreateTenantAsync();
        var unknown = Guid.NewGuid();
        var (status, type, body) = await SendAsync(tenant.Http, "GET", $"/v1/jobs/{unknown}/events", accept);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", type);
        var problem = JsonNode.Parse(body)!;
        Assert.Equal(404, problem["status"]!.GetValue<int>());
        Assert.Equal($"Job '{unknown}' was not found.", problem["detail"]!.GetValue<string>());
    }

    /// <summary>Bodies the server cannot read, the field the answer must name first, and words it must contain.</summary>
    public static TheoryData<string, string, string, string> UnreadableBodies() => new()
    {
        { "malformed JSON", """{"type":"t","capability":"c","payload":{""", "payload:", "not valid JSON" },
        { "empty body", "", "body:", "a JSON object" },
        { "null", "null", "body:", "a JSON object" },
        { "an array", "[1,2]", "body:", "expected a JSON object" },
        { "a string for an integer", """{"type":"t","capability":"c","payload":{},"priority":"high"}""", "priority:", "expected an integer" },
        { "a fraction for an integer", """{"type":"t","capability":"c","payload":{},"maxAttempts":1.5}""", "maxAttempts:", "expected an integer" },
        { "an integer out of range", """{"type":"t","capability":"c","payload":{},"priority":2147483648}""", "priority:", "-2147483648 to 2147483647" },
        { "a number for a string", """{"type":5,"capability":"c","payload":{}}""", "type:", "expected a string" },
        { "a string for a number", """{"type":"t","capability":"c","payload":{},"timeoutSeconds":"5"}""", "timeoutSeconds:", "expected a number" },
        { "a duplicate key", """{"type":"t","type":"u","capability":"c","payload":{}}""", "type:", "more than once" },
        { "nesting too deep", """{"type":"t","capability":"c","payload":""" + new string('[', 100) + new string(']', 100) + "}", "payload:", "depth of 64" },
        { "trailing garbage", """{"type":"t","capability":"c","payload":{}} x""", "body:", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(UnreadableBodies))]
    public async Task An_unreadable_submit_names_the_field_and_what_was_wrong(string name, string body, string field, string words)
    {
        var tenant = await Mesh.CreateTenantAsync();
        var response = await tenant.Http.PostAsync("/v1/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await JobCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var detail = problem["detail"]?.GetValue<string>() ?? string.Empty;
        Assert.True(detail.StartsWith(field, StringComparison.Ordinal), $"{name}: '{detail}' does not start with '{field}'");
        Assert.True(detail.Contains(words, StringComparison.Ordinal), $"{name}: '{detail}' does not say '{words}'");
        AssertNoClrNames(detail);
    }

    [Fact]
    public async Task Nested_fields_are_named_by_their_path()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var batch = await tenant.Http.PostAsync("/v1/jobs/batch", JobCalls.Json("""{"jobs":[{"type":"t","capability":"c","payload":{}},{"type":"t","capability":"c","payload":{},"priority":true}]}"""));
        var problem = await JobCalls.AssertProblemAsync(batch, HttpStatusCode.BadRequest);
        Assert.StartsWith("jobs[1].priority: expected an integer", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var tenantBody = await Mesh.Api.Operator.PostAsync("/v1/tenants", JobCalls.Json("""{"id":"nested-path","quotas":{"submitBurst":"lots"}}"""));
        problem = await JobCalls.AssertProblemAsync(tenantBody, HttpStatusCode.BadRequest);
        Assert.StartsWith("quotas.submitBurst: expected an integer", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var kind = await Mesh.Api.Operator.PostAsync("/v1/tenants", JobCalls.Json("""{"id":"nested-kind","kind":"Overlord"}"""));
        problem = await JobCalls.AssertProblemAsync(kind, HttpStatusCode.BadRequest);
        Assert.StartsWith("kind: expected one of Customer, Partner", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadQueries() => new()
    {
        { "/v1/jobs?limit=abc", "limit:", "expected an integer" },
        { "/v1/jobs?limit=1.5", "limit:", "expected an integer" },
        { "/v1/jobs?createdFrom=notadate", "createdFrom:", "expected a date and time" },
        { "/v1/jobs?cursor=not-a-cursor!", "cursor:", "previous page" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public async Task A_query_value_that_cannot_be_read_names_the_parameter(string url, string field, string words)
    {
        var tenant = await Mesh.CreateTenantAsync();
        var problem = await JobCalls.AssertProblemAsync(await tenant.Http.GetAsync(url), HttpStatusCode.BadRequest);
        var detail = problem["detail"]?.GetValue<string>() ?? string.Empty;
        Assert.True(detail.StartsWith(field, StringComparison.Ordinal), $"{url}: '{detail}' does not start with '{field}'");
        Assert.True(detail.Contains(words, StringComparison.Ordinal), $"{url}: '{detail}' does not say '{words}'");
        AssertNoClrNames(detail);
    }

    [Fact]
    public async Task A_json_body_in_a_charset_other_than_utf8_or_with_a_content_encoding_is_415()
    {
        var tenant = await Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("enc");
        foreach (var (contentType, encoding) in new[] { ("application/json; charset=x-unknown", (string?)null), ("application/json; charset=utf-16", null), ("application/json", "gzip"), ("application/json", "br") })
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"type\":\"t\",\"capability\":\"" + capability + "\",\"payload\":{}}"));
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            if (encoding is not null)
            {
                content.Headers.ContentEncoding.Add(encoding);
            }

            var problem = await JobCalls.AssertProblemAsync(await tenant.Http.PostAsync("/v1/jobs", content), HttpStatusCode.UnsupportedMediaType);
            Assert.NotNull(problem["detail"]);
        }

        Assert.Equal(0, await Mesh.CountJobsAsync(tenant));
    }

    private static void AssertNoClrNames(string detail)
    {
        foreach (var clr in new[] { "System.", "MeshOs.", "Nullable", "Int32", "Int64", "Double", "SubmitJobRequest", "parameter \"" })
        {
            Assert.False(detail.Contains(clr, StringComparison.Ordinal), $"'{detail}' names a .NET type or parameter ({clr})");
        }
    }

    private static async Task<(HttpStatusCode Status, string? ContentType, string Body)> SendAsync(HttpClient client, string method, string path, string accept)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Accept.Clear();
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if (method == "POST")
        {
            request.Content = JobCalls.Json("{}");
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var type = response.Content.Headers.ContentType?.MediaType;
        var body = type == "text/event-stream" ? "(an event stream)" : await response.Content.ReadAsStringAsync();
        return (response.StatusCode, type, body);
    }
}
