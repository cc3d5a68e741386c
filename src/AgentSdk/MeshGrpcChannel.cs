using System.Net.Http;
using Grpc.Net.Client;

namespace MeshOs.AgentSdk;

/// <summary>Builds the gRPC channel agents connect through; one channel can serve every agent of a process.</summary>
public static class MeshGrpcChannel
{
    /// <summary>
    /// A channel to <paramref name="endpoint"/> for long-lived agent streams: more HTTP/2 connections are opened when a
    /// server's stream limit is reached (Kestrel allows 100 streams per connection by default), and keep-alive pings
    /// notice a dead connection in seconds instead of waiting for TCP.
    /// </summary>
    public static GrpcChannel Create(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        return GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }
}
