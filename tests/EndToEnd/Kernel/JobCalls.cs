using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>The tenant job API over REST, as a client calls it, plus the checks the kernel tests repeat.</summary>
public static class JobCalls
{
    /// <summary>A name no other test uses: capabilities, agent ids and idempotency keys stay private to a test.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static StringContent Json(string json, string mediaType = "application/json") => new(json, Encoding.UTF8, mediaType);

    public static StringContent Json(object body) => Json(JsonSerializer.Serialize(body));

    /// <summary>POST /v1/jobs with <paramref name="body"/> serialized as JSON and an optional Idempotency-Key header.</summary>
    public static async Task<HttpResponseMessage> SubmitAsync(HttpClient client, object body, string? idempotencyHeader = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = Json(body) };
        if (idempotencyHeader is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyHeader);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Submits and expects 201; returns the job.</summary>
    public static async Task<JsonNode> SubmitCreatedAsync(HttpClient client, object body)
    {
        var response = await SubmitAsync(client, body);
        return (await MeshApi.EnsureAsync(response, HttpStatusCode.Created))!;
    }

    public static async Task<JsonNode> GetAsync(HttpClient client, string jobId) =>
        (await MeshApi.EnsureAsync(await client.GetAsync($"/v1/jobs/{jobId}"), HttpStatusCode.OK))!;

    /// <summary>GET /v1/jobs?<paramref name="query"/>, every page; returns the jobs.</summary>
    public static async Task<List<JsonNode>> ListAsync(HttpClient client, string query = "")
    {
        var jobs = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var url = "/v1/jobs?" + query + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = (await MeshApi.EnsureAsync(await client.GetAsync(url), HttpStatusCode.OK))!;
            jobs.AddRange(page["jobs"]!.AsArray().Select(j => j!));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        return jobs;
    }

    /// <summary>Polls the job until <paramref name="done"/> holds; fails with the last state when it does not in time.</summary>
    public static async Task<JsonNode> WaitForAsync(HttpClient client, string jobId, Func<JsonNode, bool> done, TimeSpan timeout, string what)
    {
        var job = await Eventually.WaitAsync(() => GetAsync(client, jobId), done, timeout, TimeSpan.FromMilliseconds(50));
        Assert.True(done(job), $"Job {jobId} did not reach '{what}' within {timeout.TotalSeconds:0} s; last seen: {job.ToJsonString()}");
        return job;
    }

    public static Task<JsonNode> WaitForStatusAsync(HttpClient client, string jobId, string status, TimeSpan timeout) =>
        WaitForAsync(client, jobId, j => Status(j) == status, timeout, status);

    public static string Status(JsonNode job) => job["status"]!.GetValue<string>();

    public static string Id(JsonNode job) => job["id"]!.GetValue<string>();

    /// <summary>Asserts a problem-details answer with the status; returns its body.</summary>
    public static async Task<JsonNode> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!;
        Assert.Equal((int)status, body["status"]!.GetValue<int>());
        return body;
    }

    /// <summary>
    /// Follows GET /v1/jobs/{id}/events (server-sent events) and yields each job it carries with the event's id, until
    /// the server ends the stream.
    /// </summary>
    public static async IAsyncEnumerable<(string EventId, JsonNode Job)> EventsAsync(HttpClient client, string jobId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        string? eventName = null, eventId = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    Assert.Equal("job", eventName);
                    yield return (eventId!, JsonNode.Parse(data.ToString())!);
                }

                eventName = eventId = null;
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                eventName = line[6..].Trim();
            }
            else if (line.StartsWith("id:", StringComparison.Ordinal))
            {
                eventId = line[3..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line[5..].TrimStart());
            }
        }
    }

    /// <summary>Asserts two JSON documents are equal as JSON (whitespace and property order aside).</summary>
    public static void AssertJsonEqual(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"Expected JSON {expected}, got {actual}");

    public static void AssertJsonEqual(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"Expected JSON {expected}, got {actual?.ToJsonString() ?? "null"}");
}
