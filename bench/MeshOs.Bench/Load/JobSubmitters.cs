using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Load;

/// <summary>How tenants submit: gRPC (meshos.v1.Jobs/Submit) or REST (POST /v1/jobs).</summary>
public enum SubmitProtocol
{
    Grpc,
    Rest,
}

/// <summary>A submit that was not acknowledged, with the code the protocol gave (gRPC status or HTTP status).</summary>
public sealed class SubmitFailedException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}

/// <summary>Submits one no-op job for a tenant and returns its id once the mesh acknowledged it (durable).</summary>
public interface IJobSubmitter : IDisposable
{
    Task<Guid> SubmitAsync(int tenant, string payloadJson, CancellationToken cancellationToken);

    /// <summary>Submits several jobs in one call (SubmitBatch / POST /v1/jobs/batch): each one's id, or its error code.</summary>
    Task<IReadOnlyList<(Guid? JobId, string? Error)>> SubmitBatchAsync(int tenant, IReadOnlyList<string> payloads, CancellationToken cancellationToken);
}

/// <summary>What every benchmark job looks like.</summary>
public static class BenchJobs
{
    public const string Type = "bench.noop";
    public const string Capability = "bench";

    /// <summary>The payload carries the bench-clock time the submit was due, so an agent can time the dispatch.</summary>
    public static string Payload(long dueTicks) => string.Concat("{\"t\":", dueTicks.ToString(CultureInfo.InvariantCulture), "}");

    /// <summary>The due time of <see cref="Payload"/>, or null for a payload the bench did not write.</summary>
    public static long? DueTicksOf(string payloadJson)
    {
        const string prefix = "{\"t\":";
        if (!payloadJson.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = payloadJson.IndexOf('}', prefix.Length);
        return end > prefix.Length && long.TryParse(payloadJson.AsSpan(prefix.Length, end - prefix.Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks)
            ? ticks
            : null;
    }

    public static IJobSubmitter Create(SubmitProtocol protocol, MeshTarget target, IReadOnlyList<BenchTenant> tenants, string capability = Capability) =>
        protocol == SubmitProtocol.Grpc
            ? new GrpcJobSubmitter(target.Channel, tenants, capability)
            : new RestJobSubmitter(target.HttpUrl, tenants, capability);
}

/// <summary>meshos.v1.Jobs/Submit over the process's shared channel.</summary>
public sealed class GrpcJobSubmitter(GrpcChannel channel, IReadOnlyList<BenchTenant> tenants, string capability) : IJobSubmitter
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly Jobs.JobsClient _client = new(channel);
    private readonly Metadata[] _headers = [.. tenants.Select(t => new Metadata { { "x-api-key", t.ApiKey } })];

    public async Task<Guid> SubmitAsync(int tenant, string payloadJson, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.SubmitAsync(
                new SubmitJobRequest { Type = BenchJobs.Type, Capability = capability, PayloadJson = payloadJson },
                _headers[tenant], DateTime.UtcNow + Deadline, cancellationToken);
            return Guid.Parse(response.Job.JobId);
        }
        catch (RpcException ex)
        {
            throw new SubmitFailedException(ex.StatusCode.ToString(), ex.Status.Detail, ex);
        }
    }

    public async Task<IReadOnlyList<(Guid? JobId, string? Error)>> SubmitBatchAsync(int tenant, IReadOnlyList<string> payloads, CancellationToken cancellationToken)
    {
        var request = new SubmitJobBatchRequest();
        request.Jobs.AddRange(payloads.Select(p => new SubmitJobRequest { Type = BenchJobs.Type, Capability = capability, PayloadJson = p }));
        try
        {
            var response = await _client.SubmitBatchAsync(request, _headers[tenant], DateTime.UtcNow + Deadline, cancellationToken);
            return [.. response.Results.Select(r => r.Job is { } job
                ? ((Guid?)Guid.Parse(job.JobId), (string?)null)
                : (null, ((StatusCode)r.ErrorCode).ToString()))];
        }
        catch (RpcException ex)
        {
            throw new SubmitFailedException(ex.StatusCode.ToString(), ex.Status.Detail, ex);
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>POST /v1/jobs over HTTP/1.1 with pooled connections (no per-server limit).</summary>
public sealed class RestJobSubmitter : IJobSubmitter
{
    private readonly HttpClient _http;
    private readonly string[] _keys;
    private readonly string _bodyStart;

    public RestJobSubmitter(Uri httpUrl, IReadOnlyList<BenchTenant> tenants, string capability)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = httpUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };
        _keys = [.. tenants.Select(t => t.ApiKey)];
        _bodyStart = $"{{\"type\":\"{BenchJobs.Type}\",\"capability\":\"{capability}\",\"payload\":";
    }

    public async Task<IReadOnlyList<(Guid? JobId, string? Error)>> SubmitBatchAsync(int tenant, IReadOnlyList<string> payloads, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs/batch")
        {
            Content = new StringContent("{\"jobs\":[" + string.Join(',', payloads.Select(p => _bodyStart + p + "}")) + "]}",
                Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("x-api-key", _keys[tenant]);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new SubmitFailedException("HttpRequestError", ex.Message, ex);
        }

        using (response)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new SubmitFailedException("HTTP " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), response.ReasonPhrase ?? string.Empty);
            }

            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            return [.. json.RootElement.GetProperty("results").EnumerateArray().Select(r =>
                r.TryGetProperty("job", out var job) && job.ValueKind == JsonValueKind.Object
                    ? ((Guid?)job.GetProperty("id").GetGuid(), (string?)null)
                    : (null, "HTTP " + r.GetProperty("error").GetProperty("status").GetInt32().ToString(CultureInfo.InvariantCulture)))];
        }
    }

    public async Task<Guid> SubmitAsync(int tenant, string payloadJson, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs")
        {
            Content = new StringContent(_bodyStart + payloadJson + "}", Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("x-api-key", _keys[tenant]);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new SubmitFailedException("HttpRequestError", ex.Message, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SubmitFailedException("Timeout", ex.Message, ex);
        }

        using (response)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
            {
                throw new SubmitFailedException("HTTP " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), response.ReasonPhrase ?? string.Empty);
            }

            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            return json.RootElement.GetProperty("id").GetGuid();
        }
    }

    public void Dispose() => _http.Dispose();
}
