using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MeshOs.Tests.AgentSdk.Support;

/// <summary>
/// The mesh side of <c>AgentChannel</c>, played by the test: a real gRPC server on 127.0.0.1 (random port, HTTP/2
/// cleartext only) that hands each incoming stream to the test as a <see cref="MeshConnection"/>.
/// </summary>
public sealed class ScriptedMesh : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Channel<MeshConnection> _incoming = Channel.CreateUnbounded<MeshConnection>();
    private readonly ConcurrentQueue<MeshConnection> _all = new();
    private WebApplication? _app;

    public Uri Endpoint { get; private set; } = null!;

    public static async Task<ScriptedMesh> StartAsync()
    {
        var mesh = new ScriptedMesh();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(mesh);
        var app = builder.Build();
        app.MapGrpcService<ScriptedAgentChannel>();
        await app.StartAsync();
        mesh._app = app;
        mesh.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return mesh;
    }

    /// <summary>The next stream an agent opens.</summary>
    public async Task<MeshConnection> NextConnectionAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await _incoming.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>The next stream, or null if none is opened within <paramref name="within"/> (for "nothing happens" checks).</summary>
    public async Task<MeshConnection?> TryNextConnectionAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await _incoming.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    internal void Accept(MeshConnection connection)
    {
        _all.Enqueue(connection);
        _incoming.Writer.TryWrite(connection);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _all)
        {
            connection.Abort();
        }

        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private sealed class ScriptedAgentChannel(ScriptedMesh mesh) : AgentChannel.AgentChannelBase
    {
        public override Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<MeshMessage> responseStream, ServerCallContext context)
        {
            var connection = new MeshConnection(context);
            mesh.Accept(connection);
            return connection.ServeAsync(requestStream, responseStream);
        }
    }
}
