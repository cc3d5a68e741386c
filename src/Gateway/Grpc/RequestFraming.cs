using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// Checks the framing of unary and server-streaming gRPC requests (exactly one length-prefixed message) before
/// grpc-dotnet reads them. grpc-dotnet answers broken framing as a server fault: Internal for a message cut short,
/// extra data or a compressed flag without an encoding; Unknown, logged as an error, for a flag other than 0 or 1, a
/// length past 2 GiB or a compressed message that does not decompress; and it decompresses without a limit. Here
/// these are the caller's fault: InvalidArgument, or ResourceExhausted past the message size limit (decompressed
/// too). An encoding the server does not support is left to grpc-dotnet, which answers Unimplemented as the gRPC
/// compression spec requires. Streaming requests are checked as they are read (the error mapping interceptor).
/// </summary>
public static class RequestFraming
{
    private const int HeaderSize = 5;

    public static IApplicationBuilder UseGrpcRequestFraming(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Type is MethodType.Unary or MethodType.ServerStreaming
                && IsGrpcContentType(context.Request.ContentType)
                && await CheckAsync(context) is { } refusal)
            {
                Refuse(context.Response, refusal);
                return;
            }

            await next(context);
        });

    /// <summary>The refusal of a request whose framing is broken, or null (the body is left unread for grpc-dotnet).</summary>
    private static async Task<Status?> CheckAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<GrpcServiceOptions>>().Value;
        var limit = options.MaxReceiveMessageSize ?? int.MaxValue;
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            var buffer = result.Buffer;
            var refusal = Frame(buffer, limit, result.IsCompleted, out var compressed);
            if (refusal is null && result.IsCompleted && compressed)
            {
                refusal = Decompressed(buffer.Slice(HeaderSize), context.Request.Headers["grpc-encoding"].ToString(), options, limit);
            }

            // Nothing consumed, so grpc-dotnet reads the same bytes again; everything examined, so the next read waits for
            // more (a completed body returns at once). Examined must never move back: Kestrel would credit the HTTP/2
            // flow-control windows with a negative count and fault the connection (FLOW_CONTROL_ERROR).
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (refusal is not null || result.IsCompleted)
            {
                return refusal;
            }
        }
    }

    /// <summary>What is wrong with the framing seen so far (null: nothing yet); <paramref name="complete"/>: the body ended.</summary>
    private static Status? Frame(in ReadOnlySequence<byte> buffer, int limit, bool complete, out bool compressed)
    {
        compressed = false;
        if (buffer.Length < HeaderSize)
        {
            return complete ? Invalid(buffer.IsEmpty ? "No request message was sent." : "The message header is incomplete.") : null;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        if (header[0] > 1)
        {
            return Invalid($"The compressed flag is {header[0]}; it must be 0 or 1.");
        }

        compressed = header[0] == 1;
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)limit)
        {
            return new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.");
        }

        if (buffer.Length > HeaderSize + length)
        {
            return Invalid("Exactly one request message was expected; more data followed it.");
        }

        return complete && buffer.Length < HeaderSize + length
            ? Invalid($"The message is incomplete: {length:N0} bytes announced, {buffer.Length - HeaderSize:N0} sent.")
            : null;
    }

    /// <summary>Whether a compressed message names its encoding and decompresses within the size limit.</summary>
    private static Status? Decompressed(ReadOnlySequence<byte> message, string encoding, GrpcServiceOptions options, int limit)
    {
        if (encoding.Length == 0 || encoding == "identity")
        {
            return Invalid("The message is compressed, but grpc-encoding names no compression.");
        }

        var provider = options.CompressionProviders.FirstOrDefault(p => string.Equals(p.EncodingName, encoding, StringComparison.Ordinal));
        if (provider is null)
        {
            return null;
        }

        try
        {
            using var decompressed = provider.CreateDecompressionStream(new MemoryStream(message.ToArray(), writable: false));
            var chunk = new byte[81_920];
            long total = 0;
            int read;
            while ((read = decompressed.Read(chunk)) > 0)
            {
                total += read;
                if (total > limit)
                {
                    return new Status(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size once decompressed.");
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return Invalid($"The message does not decompress as {encoding}.");
        }
    }

    /// <summary>grpc-dotnet's test: application/grpc, alone or followed by '+' or ';'. Anything else it answers 415.</summary>
    private static bool IsGrpcContentType(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == "application/grpc".Length || contentType["application/grpc".Length] is '+' or ';');

    /// <summary>A trailers-only gRPC answer (the status in the headers), as grpc-dotnet writes one.</summary>
    private static void Refuse(HttpResponse response, Status status)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(status.Detail);
    }

    private static Status Invalid(string detail) => new(StatusCode.InvalidArgument, detail);
}
