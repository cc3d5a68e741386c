using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>What a gRPC call answered, read off the wire: the HTTP status, the gRPC status and the response messages.</summary>
public sealed record GrpcAnswer(int HttpStatus, string? ContentType, StatusCode? Status, string? Message, IReadOnlyList<byte[]> Messages,
    IReadOnlyDictionary<string, string> Trailers)
{
    public override string ToString() =>
        $"HTTP {HttpStatus} ({ContentType ?? "no content type"}), grpc-status {(Status is { } s ? $"{(int)s} {s}" : "missing")}: {Message}";
}

/// <summary>
/// gRPC spoken by hand over HTTP/2 (prior knowledge, as the gateway's cleartext port expects), so that a test can send
/// what no generated client would: undecodable messages, broken framing, wrong content types, hostile metadata. The
/// whole request stream is sent at once; for a streaming method the server reads it to its end.
/// </summary>
public sealed class GrpcWire : IDisposable
{
    private readonly HttpClient _http;

    public GrpcWire(Uri grpcUrl)
    {
        _http = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
        {
            BaseAddress = grpcUrl,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>One length-prefixed message; <paramref name="declaredLength"/> may lie about its size.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message, bool compressed = false, uint? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), declaredLength ?? (uint)message.Length);
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>The request stream of well-formed messages, one frame each.</summary>
    public static byte[] Frames(params IMessage[] messages) => [.. messages.SelectMany(m => Frame(m.ToByteArray()))];

    /// <summary>Calls <paramref name="method"/> (e.g. <c>/meshos.v1.Jobs/Submit</c>) with <paramref name="body"/> as the request stream.</summary>
    public async Task<GrpcAnswer> CallAsync(string method, byte[] body, IEnumerable<KeyValuePair<string, string>> metadata,
        string? contentType = "application/grpc", TimeSpan? timeout = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, method)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        request.Headers.TryAddWithoutValidation("TE", "trailers");
        foreach (var (name, value) in metadata)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancel.Token);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancel.Token);
        var trailers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.Concat(response.TrailingHeaders))
        {
            trailers[name] = string.Join(",", values);
        }

        StatusCode? status = trailers.TryGetValue("grpc-status", out var code) && int.TryParse(code, out var parsed) ? (StatusCode)parsed : null;
        var message = trailers.TryGetValue("grpc-message", out var text) ? Uri.UnescapeDataString(text) : null;
        return new GrpcAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, status, message, Unframe(bytes), trailers);
    }

    private static List<byte[]> Unframe(byte[] bytes)
    {
        var messages = new List<byte[]>();
        var at = 0;
        while (at + 5 <= bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 1, 4));
            if (at + 5 + length > bytes.Length)
            {
                break;
            }

            messages.Add(bytes.AsSpan(at + 5, length).ToArray());
            at += 5 + length;
        }

        return messages;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Credentials as gRPC metadata.</summary>
public static class GrpcCredentials
{
    public static KeyValuePair<string, string>[] ApiKey(string key) => [new("x-api-key", key)];

    public static KeyValuePair<string, string>[] Enrollment(string token) => [new("x-enrollment-token", token)];

    public static KeyValuePair<string, string>[] None => [];

    /// <summary>The response media type of a gRPC answer, for the assertion messages.</summary>
    public static string Describe(MediaTypeHeaderValue? value) => value?.MediaType ?? "none";
}
