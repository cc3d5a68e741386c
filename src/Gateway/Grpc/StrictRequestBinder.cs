using Google.Protobuf;
using Grpc.Core;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// Binds a service's methods with request deserializers that answer a message that is not valid protobuf (truncated,
/// a wire type that does not exist, bad UTF-8 in a string, groups nested past the recursion limit) with
/// InvalidArgument. grpc-dotnet would answer Unknown and log the caller's garbage as a server error. A service opts in
/// with <c>[BindServiceMethod(typeof(TheService), nameof(BindService))]</c> and a static <c>BindService</c> that passes
/// <see cref="For"/> to the generated binder; the method handlers are found on the service as usual.
/// </summary>
internal sealed class StrictRequestBinder(ServiceBinderBase inner) : ServiceBinderBase
{
    public static ServiceBinderBase For(ServiceBinderBase binder) => new StrictRequestBinder(binder);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class =>
        new(method.Type, method.ServiceName, method.Name, Strict(method.RequestMarshaller), method.ResponseMarshaller);

    private static Marshaller<T> Strict<T>(Marshaller<T> marshaller) => new(marshaller.ContextualSerializer, context =>
    {
        try
        {
            return marshaller.ContextualDeserializer(context);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {typeof(T).Name} message: {ex.Message}"));
        }
    });
}
