using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MeshOs.Cli.Connection;

/// <summary>A successful answer: its JSON text exactly as the server sent it (empty for 204).</summary>
public sealed record ApiResponse(int Status, string Text)
{
    public JsonElement Json => Text.Length == 0 ? default : JsonDocument.Parse(Text).RootElement;
}

/// <summary>
/// The public REST API over HTTP, as a tenant or an operator: the key goes in <c>x-api-key</c>, an operator's TOTP
/// code in <c>X-MeshOs-Otp</c>. Any answer outside 2xx throws a <see cref="ApiException"/> carrying the problem details.
/// </summary>
public sealed class MeshClient : IDisposable
{
    private readonly HttpClient _http;

    public MeshClient(Uri baseUrl, string? key, string? otp, TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        BaseUrl = baseUrl;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = baseUrl;
        _http.Timeout = timeout;
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("meshctl", typeof(MeshClient).Assembly.GetName().Version?.ToString(3)));
        if (key is not null)
        {
            _http.DefaultRequestHeaders.Add("x-api-key", key);
        }

        if (otp is not null)
        {
            _http.DefaultRequestHeaders.Add("X-MeshOs-Otp", otp);
        }
    }

    public Uri BaseUrl { get; }

    public Task<ApiResponse> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<ApiResponse> PostAsync(string path, JsonNode? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body ?? new JsonObject(), ct);

    public Task<ApiResponse> PutAsync(string path, JsonNode body, CancellationToken ct) => SendAsync(HttpMethod.Put, path, body, ct);

    public Task<ApiResponse> DeleteAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Delete, path, null, ct);

    /// <summary>Sends a request and reads the whole answer; a status outside 2xx throws <see cref="ApiException"/>.</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct, bool acceptAnyStatus = false)
    {
        using var request = Request(method, path, body);
        using var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return response.IsSuccessStatusCode || acceptAnyStatus
            ? new ApiResponse((int)response.StatusCode, text)
            : throw ApiException.From((int)response.StatusCode, response.ReasonPhrase, text);
    }

    /// <summary>Opens a streamed answer (server-sent events, JSON lines); the caller reads and disposes it.</summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(string path, string accept, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Get, path, null);
        request.Headers.Accept.Clear();
        request.Headers.Accept.ParseAdd(accept);
        request.Headers.Accept.ParseAdd("application/problem+json");
        var response = await SendCheckedAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw ApiException.From((int)response.StatusCode, response.ReasonPhrase, await response.Content.ReadAsStringAsync(ct));
        }
    }

    public void Dispose() => _http.Dispose();

    private static HttpRequestMessage Request(HttpMethod method, string path, JsonNode? body)
    {
        var request = new HttpRequestMessage(method, path.TrimStart('/'));
        request.Headers.Accept.ParseAdd("application/json");
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendCheckedAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new CliException(ExitCodes.Unavailable, $"cannot reach {BaseUrl}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Unavailable, $"{BaseUrl} did not answer within {_http.Timeout.TotalSeconds:0} s (--timeout).");
        }
    }
}
