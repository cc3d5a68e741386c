using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace MeshOs.Bench.Targets;

/// <summary>A tenant the bench created: its id and API key.</summary>
public sealed record BenchTenant(string TenantId, string ApiKey);

/// <summary>The operator's REST API, as an operator uses it: tenants, agents, status.</summary>
public sealed class MeshOperator : IDisposable
{
    private readonly HttpClient _http;

    public MeshOperator(Uri httpUrl, string operatorKey)
    {
        _http = new HttpClient { BaseAddress = httpUrl, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Add("x-api-key", operatorKey);
    }

    public HttpClient Http => _http;

    /// <summary>
    /// Creates <paramref name="count"/> tenants whose quotas do not limit a benchmark (rate, burst, queued and concurrent
    /// jobs at their maximum), each with one API key.
    /// </summary>
    public async Task<IReadOnlyList<BenchTenant>> CreateTenantsAsync(int count, string prefix)
    {
        var tenants = new List<BenchTenant>();
        for (var i = 0; i < count; i++)
        {
            var id = $"{prefix}-{i:00}";
            var quotas = new { maxConcurrentJobs = 1_000_000, submitsPerSecond = 1_000_000.0, submitBurst = 10_000_000, maxQueuedJobs = 10_000_000 };
            using var created = await _http.PostAsJsonAsync("/v1/tenants", new { id, name = id, quotas });
            await EnsureAsync(created, HttpStatusCode.Created, $"create tenant {id}");
            using var issued = await _http.PostAsJsonAsync($"/v1/tenants/{id}/keys", new { name = "bench" });
            var body = await EnsureAsync(issued, HttpStatusCode.Created, $"issue a key for {id}");
            tenants.Add(new BenchTenant(id, body!["key"]!.GetValue<string>()));
        }

        return tenants;
    }

    /// <summary>The agent's state as the mesh reports it (Healthy, Unresponsive, …), or null when unknown.</summary>
    public async Task<string?> AgentStateAsync(string agentId, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri($"/v1/agents/{Uri.EscapeDataString(agentId)}", UriKind.Relative), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        return body?["state"]?.GetValue<string>();
    }

    /// <summary>GET /status as JSON; null when it does not answer.</summary>
    public async Task<JsonNode?> StatusAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri("/status", UriKind.Relative), cancellationToken);
            return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>True when GET /v1/tenants/{id} answers 200.</summary>
    public async Task<bool> TenantReadableAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri($"/v1/tenants/{tenantId}", UriKind.Relative), cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public void Dispose() => _http.Dispose();

    private static async Task<JsonNode?> EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
        {
            throw new InvalidOperationException($"Could not {what}: {(int)response.StatusCode} {text}");
        }

        return text.Length == 0 ? null : JsonNode.Parse(text);
    }
}
