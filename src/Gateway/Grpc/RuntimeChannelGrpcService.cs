using System.Collections.Immutable;
using Grpc.Core;
using MeshOs.Abstractions.Agents;
using MeshOs.Gateway.Auth;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using System.Threading.Channels;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.RuntimeChannel/Connect: a runtime that starts agents receives restart orders for them here. The runtime
/// grain key is scoped by the caller's identity (<c>{owner}/{runtimeId}</c>), so no one can steer another's agents.
/// </summary>
[Authorize(Policy = MeshRoles.AgentPolicy)]
[BindServiceMethod(typeof(RuntimeChannelGrpcService), nameof(BindService))]
internal sealed partial class RuntimeChannelGrpcService(IGrainFactory grains, ILogger<RuntimeChannelGrpcService> logger) : RuntimeChannel.RuntimeChannelBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, RuntimeChannel.RuntimeChannelBase service) =>
        RuntimeChannel.BindService(StrictRequestBinder.For(binder), service);

    public override async Task Connect(IAsyncStreamReader<RuntimeMessage> requestStream, IServerStreamWriter<RuntimeOrder> responseStream, ServerCallContext context)
    {
        var owner = context.Caller().RequireAgentOwner();
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.BodyCase != RuntimeMessage.BodyOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be hello."));
        }

        var hello = Checked(requestStream.Current.Hello);
        var runtime = grains.GetGrain<IRuntimeGrain>($"{owner}/{hello.RuntimeId}");
        var session = new Session();
        var observer = grains.CreateObjectReference<IRuntimeObserver>(session);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = WriteAsync(session, responseStream, stop.Token);
        try
        {
            await runtime.AttachAsync(observer, [.. hello.AgentIds]);
            LogConnected(logger, owner, hello.RuntimeId, hello.AgentIds.Count);
            while (await requestStream.MoveNext(ct))
            {
                var message = requestStream.Current;
                switch (message.BodyCase)
                {
                    case RuntimeMessage.BodyOneofCase.Hello:
                        await runtime.AttachAsync(observer, [.. Checked(message.Hello).AgentIds]);
                        break;
                    case RuntimeMessage.BodyOneofCase.Report:
                        await runtime.ReportAsync(message.Report.AgentId, message.Report.Restarted, message.Report.Detail);
                        break;
                    default:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, "Unknown message."));
                }
            }
        }
        finally
        {
            session.Orders.Writer.TryComplete();
            await stop.CancelAsync();
            await writer.ContinueWith(_ => { }, TaskScheduler.Default);
            try
            {
                await runtime.DetachAsync(observer);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogDetachFailed(logger, hello.RuntimeId, ex.GetBaseException().Message);
            }

            grains.DeleteObjectReference<IRuntimeObserver>(observer);
        }
    }

    /// <summary>Every hello, the first and the ones that replace its list, keeps the same limits.</summary>
    private static RuntimeHello Checked(RuntimeHello hello) =>
        string.IsNullOrEmpty(hello.RuntimeId) || hello.RuntimeId.Length > 128 || hello.AgentIds.Count > 100_000
            ? throw new RpcException(new Status(StatusCode.InvalidArgument, "runtime_id: 1–128 characters; at most 100,000 agent ids."))
            : hello;

    private static async Task WriteAsync(Session session, IServerStreamWriter<RuntimeOrder> stream, CancellationToken ct)
    {
        await foreach (var order in session.Orders.Reader.ReadAllAsync(ct))
        {
            await stream.WriteAsync(order, ct);
        }
    }

    private sealed class Session : IRuntimeObserver
    {
        public Channel<RuntimeOrder> Orders { get; } = Channel.CreateUnbounded<RuntimeOrder>();

        public Task OnRestartAsync(string agentId, string reason)
        {
            Orders.Writer.TryWrite(new RuntimeOrder { AgentId = agentId, Action = "restart", Reason = reason });
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Owner}/{Runtime} connected with {Count} agent(s)")]
    private static partial void LogConnected(ILogger logger, string owner, string runtime, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Runtime {Runtime}: detach failed: {Reason}")]
    private static partial void LogDetachFailed(ILogger logger, string runtime, string reason);
}
