using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd;

/// <summary>REST and gRPC clients of one MeshOs process, as operators and tenants use them.</summary>
public sealed class MeshApi : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public MeshApi(Uri httpUrl, Uri grpcUrl)
    {
        HttpUrl = httpUrl;
        GrpcUrl = grpcUrl;
        Operator = Client(MeshProcess.OperatorKey);
        Anonymous = Client(null);
    }

    public MeshApi(MeshProcess process)
        : this(process.HttpUrl, process.GrpcUrl)
    {
    }

    public Uri HttpUrl { get; }

    public Uri GrpcUrl { get; }

    public HttpClient Operator { get; }

    public HttpClient Anonymous { get; }

    /// <summary>An HTTP client that presents <paramref name="apiKey"/> (or nothing).</summary>
    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = HttpUrl, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("x-api-key", apiKey);
        }

        _owned.Add(client);
        return client;
    }

    /// <summary>A gRPC channel to the process (HTTP/2 cleartext).</summary>
    public GrpcChannel Channel()
    {
        var channel = GrpcChannel.ForAddress(GrpcUrl);
        _owned.Add(channel);
        return channel;
    }

    public static Metadata Key(string apiKey) => new() { { "x-api-key", apiKey } };

    /// <summary>Creates a tenant (fresh id unless given) and issues a key; returns both.</summary>
    public async Task<(string TenantId, string Key)> CreateTenantAsync(string? tenantId = null, object? quotas = null, string[]? pools = null)
    {
        tenantId ??= "t" + Guid.NewGuid().ToString("N")[..12];
        var created = await Operator.PostAsJsonAsync("/v1/tenants", new { id = tenantId, name = tenantId, quotas, pools });
        await EnsureAsync(created, HttpStatusCode.Created);
        var issued = await Operator.PostAsJsonAsync($"/v1/tenants/{tenantId}/keys", new { name = "test" });
        await EnsureAsync(issued, HttpStatusCode.Created);
        var body = await issued.Content.ReadFromJsonAsync<JsonObject>();
        return (tenantId, body!["key"]!.GetValue<string>());
    }

    /// <summary>Fails with the response body when the status is not <paramref name="expected"/>.</summary>
    public static async Task<JsonNode?> EnsureAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    public static async Task<JsonNode> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new JsonException("empty body");
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds or the timeout passes; returns the last value.</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            T value;
            try
            {
                value = await read();
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
                continue;
            }

            if (done(value) || DateTime.UtcNow >= deadline)
            {
                return value;
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
        }
    }
}
