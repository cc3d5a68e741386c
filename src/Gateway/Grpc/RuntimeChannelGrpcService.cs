using System.Collections.Immutable;
using Grpc.Core;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
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
            await runtime.AttachAsync(observer, [.. hello.AgentIds], [.. hello.ScalablePools]);
            LogConnected(logger, owner, hello.RuntimeId, hello.AgentIds.Count);
            while (await requestStream.MoveNext(ct))
            {
                var message = requestStream.Current;
                switch (message.BodyCase)
                {
                    case RuntimeMessage.BodyOneofCase.Hello:
                        var again = Checked(message.Hello);
                        await runtime.AttachAsync(observer, [.. again.AgentIds], [.. again.ScalablePools]);
                        break;
                    case RuntimeMessage.BodyOneofCase.Report when !string.IsNullOrEmpty(message.Report.OrderId):
                        var report = CheckedReport(message.Report);
                        await runtime.ReportScaleAsync(new ScaleReport(report.OrderId, string.Empty, [.. report.StartedAgentIds], [.. report.StoppedAgentIds], report.Detail));
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
            : hello.ScalablePools.Count > 100 || hello.ScalablePools.Any(p => string.IsNullOrEmpty(p) || p.Length > 200)
                ? throw new RpcException(new Status(StatusCode.InvalidArgument, "scalable_pools: at most 100 pool names of 1–200 characters."))
                : hello;

    /// <summary>A scale report names at most an order's worth of agents, and short text.</summary>
    private static RuntimeReport CheckedReport(RuntimeReport report) =>
        report.OrderId.Length > 128 || report.StartedAgentIds.Count > 10_000 || report.StoppedAgentIds.Count > 10_000 || report.Detail.Length > 1024
            ? throw new RpcException(new Status(StatusCode.InvalidArgument, "report: order_id ≤ 128 characters, at most 10,000 agent ids each, detail ≤ 1,024 characters."))
            : report;

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

        public Task OnScaleAsync(ScaleOrder order)
        {
            var message = new RuntimeOrder
            {
                Action = order.Start > 0 ? "scale-up" : "scale-down",
                Reason = order.Reason,
                OrderId = order.OrderId,
                Pool = order.Pool,
                Capability = order.Capability ?? string.Empty,
                Count = order.Start > 0 ? order.Start : order.Stop.Length,
            };
            message.AgentIds.AddRange(order.Stop);
            Orders.Writer.TryWrite(message);
            return Task.CompletedTask;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Owner}/{Runtime} connected with {Count} agent(s)")]
    private static partial void LogConnected(ILogger logger, string owner, string runtime, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Runtime {Runtime}: detach failed: {Reason}")]
    private static partial void LogDetachFailed(ILogger logger, string runtime, string reason);
}
