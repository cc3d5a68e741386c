using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>One gRPC method as the generated descriptors describe it.</summary>
public sealed record RpcMethod(string Service, string Name, MessageDescriptor Input, bool ClientStreaming, bool ServerStreaming)
{
    /// <summary>The method's full name, e.g. <c>meshos.v1.Jobs/Get</c>.</summary>
    public string FullName => $"{Service}/{Name}";

    public override string ToString() => FullName;

    /// <summary>A request message with the named string fields set (every other field at its default).</summary>
    public byte[] Request(params (string Field, string Value)[] fields)
    {
        var message = Input.Parser.ParseFrom([]);
        foreach (var (field, value) in fields)
        {
            var descriptor = Input.FindFieldByName(field)
                ?? throw new InvalidOperationException($"{FullName}: its request has no field '{field}'.");
            descriptor.Accessor.SetValue(message, value);
        }

        return message.ToByteArray();
    }
}

/// <summary>What one raw gRPC call answered: its status and the first response message, if any.</summary>
public sealed record RpcReply(StatusCode Status, string Detail, byte[]? First)
{
    public override string ToString() => $"{Status}: {Describe.Clip(Detail, 200)}";
}

/// <summary>
/// The gRPC surface the generated code describes: every method of every service in the MeshOs.Grpc.V1 assembly, found
/// through the file descriptors, so a method added to a .proto is enumerated without a list kept here. Calls are made
/// with byte-array marshallers, so any method can be called the same way.
/// </summary>
public static class RpcSurface
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    public static IReadOnlyList<RpcMethod> Methods { get; } = Load();

    private static List<RpcMethod> Load()
    {
        var files = typeof(MeshOs.Grpc.V1.Jobs).Assembly.GetTypes()
            .Where(t => t.Namespace == "MeshOs.Grpc.V1" && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (FileDescriptor)t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!);
        return [.. files.SelectMany(f => f.Services).SelectMany(s => s.Methods)
            .Select(m => new RpcMethod(m.Service.FullName, m.Name, m.InputType, m.IsClientStreaming, m.IsServerStreaming))
            .OrderBy(m => m.FullName, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Calls <paramref name="method"/> with <paramref name="request"/> (the one message of the request stream) and reads
    /// the first response message; returns the status the call ended with (OK when a message arrived).
    /// </summary>
    public static async Task<RpcReply> CallAsync(GrpcChannel channel, RpcMethod method, byte[] request, Metadata headers)
    {
        var type = (method.ClientStreaming, method.ServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        var definition = new Method<byte[], byte[]>(type, method.Service, method.Name, Bytes, Bytes);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(headers, DateTime.UtcNow.AddSeconds(20));
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    return new RpcReply(StatusCode.OK, string.Empty, await invoker.AsyncUnaryCall(definition, null, options, request).ResponseAsync);
                case MethodType.ServerStreaming:
                {
                    using var call = invoker.AsyncServerStreamingCall(definition, null, options, request);
                    return await FirstAsync(call.ResponseStream);
                }

                case MethodType.ClientStreaming:
                {
                    using var call = invoker.AsyncClientStreamingCall(definition, null, options);
                    await WriteAsync(call.RequestStream, request);
                    return new RpcReply(StatusCode.OK, string.Empty, await call.ResponseAsync);
                }

                default:
                {
                    using var call = invoker.AsyncDuplexStreamingCall(definition, null, options);
                    await WriteAsync(call.RequestStream, request);
                    return await FirstAsync(call.ResponseStream);
                }
            }
        }
        catch (RpcException ex)
        {
            return new RpcReply(ex.StatusCode, ex.Status.Detail, null);
        }
    }

    private static async Task<RpcReply> FirstAsync(IAsyncStreamReader<byte[]> responses) =>
        await responses.MoveNext(CancellationToken.None)
            ? new RpcReply(StatusCode.OK, string.Empty, responses.Current)
            : new RpcReply(StatusCode.OK, "(no message)", null);

    /// <summary>Writes the one request message and ends the request stream; the server may already have refused the call.</summary>
    private static async Task WriteAsync(IClientStreamWriter<byte[]> requests, byte[] request)
    {
        try
        {
            await requests.WriteAsync(request);
            await requests.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
        {
            // The answer (read next) says why.
        }
    }
}
