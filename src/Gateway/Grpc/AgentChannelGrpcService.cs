using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Agents;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Dispatch;
using MeshOs.Gateway.Errors;
using MeshOs.Grpc.V1;
using JobResult = MeshOs.Abstractions.Jobs.JobResult;
using Microsoft.AspNetCore.Authorization;
using AgentState = MeshOs.Abstractions.Agents.AgentState;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.AgentChannel/Connect, the streaming adapter of <see cref="AgentProtocolService"/>: one bidirectional stream
/// per agent. Reports go to the jobs through <see cref="AgentStreamReports"/> (in order per job, concurrently across
/// jobs); heartbeats run concurrently too, so one slow grain call does not hold up the stream.
/// </summary>
[Authorize(Policy = MeshRoles.AgentPolicy)]
[BindServiceMethod(typeof(AgentChannelGrpcService), nameof(BindService))]
internal sealed partial class AgentChannelGrpcService(
    IGrainFactory grains,
    DispatchHub hub,
    AgentProtocolService protocol,
    StartReports starts,
    ILogger<AgentChannelGrpcService> logger) : AgentChannel.AgentChannelBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, AgentChannel.AgentChannelBase service) =>
        AgentChannel.BindService(StrictRequestBinder.For(binder), service);

    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<MeshMessage> responseStream, ServerCallContext context)
    {
        var caller = context.Caller();
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.BodyCase != AgentMessage.BodyOneofCase.Register)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be register."));
        }

        var r = requestStream.Current.Register;
        var registration = AgentProtocolService.Registration(caller,
            new RegisterInput(r.AgentId, r.Pool, r.Capabilities, r.MaxConcurrency, r.Version, r.Region, r.CostPerHour, r.RuntimeId, r.Certifications));
        var owner = registration.Owner;
        var agent = grains.GetGrain<IAgentGrain>(registration.AgentId);
        var session = new StreamAgentSession(registration, AgentState.Registering, hub);
        var observer = grains.CreateObjectReference<IAgentChannelObserver>(session);
        using var writerStop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = session.WriteLoopAsync(responseStream, writerStop.Token);
        AgentStreamReports? reports = null;
        try
        {
            var (handle, registered) = await protocol.RegisterAsync(caller, registration, observer);
            reports = new AgentStreamReports(handle, session, protocol, starts);
            session.State = registered.Agent.State;
            session.Send(new MeshMessage
            {
                Registered = new Registered
                {
                    AgentId = registration.AgentId,
                    Owner = owner,
                    State = registered.Agent.State.ToProto(),
                    HeartbeatInterval = Duration.FromTimeSpan(registered.HeartbeatInterval),
                    LeaseDuration = Duration.FromTimeSpan(registered.LeaseDuration),
                },
            });
            hub.Attach(session);
            LogConnected(logger, registration.AgentId, owner, registration.Pool);

            while (await requestStream.MoveNext(ct))
            {
                var message = requestStream.Current;
                switch (message.BodyCase)
                {
                    case AgentMessage.BodyOneofCase.Heartbeat:
                        _ = HeartbeatAsync(handle, session, message.Heartbeat);
                        break;
                    case AgentMessage.BodyOneofCase.LeaseRequest:
                        hub.SetCredits(session, Math.Clamp(message.LeaseRequest.Slots, 0, registration.MaxConcurrency));
                        break;
                    case AgentMessage.BodyOneofCase.Started:
                        reports.Started(JobIdOf(message.Started.JobId), message.Started.Epoch);
                        break;
                    case AgentMessage.BodyOneofCase.Result:
                        var result = message.Result;
                        reports.Result(JobIdOf(result.JobId), result.Epoch, () => ToResult(result));
                        break;
                    case AgentMessage.BodyOneofCase.Released:
                        var released = message.Released;
                        reports.Released(JobIdOf(released.JobId), released.Epoch, released.Reason);
                        break;
                    case AgentMessage.BodyOneofCase.Register:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, "register may be sent only once per stream."));
                    default:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, "Unknown message."));
                }
            }
        }
        finally
        {
            hub.Detach(session);
            if (reports is not null)
            {
                await reports.DrainAsync().ContinueWith(_ => { }, TaskScheduler.Default);
            }

            session.Complete();
            await writerStop.CancelAsync();
            await writer.ContinueWith(_ => { }, TaskScheduler.Default);
            try
            {
                await agent.DisconnectAsync(observer);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogDisconnectFailed(logger, registration.AgentId, ex);
            }

            grains.DeleteObjectReference<IAgentChannelObserver>(observer);
            LogDisconnected(logger, registration.AgentId);
        }
    }

    private async Task HeartbeatAsync(AgentHandle agent, StreamAgentSession session, Heartbeat heartbeat)
    {
        try
        {
            var ack = await protocol.HeartbeatAsync(agent, new HeartbeatInput(
                heartbeat.Load, AgentInputs.Leases(heartbeat.InFlight.Select(l => (l.JobId, l.Epoch))), heartbeat.Metrics));
            var reply = new MeshOs.Grpc.V1.HeartbeatAck { State = ack.State.ToProto() };
            reply.Revoked.AddRange(ack.RevokedLeases.Select(l => l.ToProto()));
            session.Send(new MeshMessage { HeartbeatAck = reply });
            foreach (var command in ack.Commands)
            {
                session.Send(new MeshMessage { Command = command.ToProto() });
            }

            hub.SetState(session, ack.State);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogHeartbeatFailed(logger, session.AgentId, ex);
        }
    }

    private static Guid JobIdOf(string text) =>
        Guid.TryParse(text, out var jobId) ? jobId : throw new RpcException(new Status(StatusCode.InvalidArgument, "job_id is not a UUID."));

    private static JobResult ToResult(MeshOs.Grpc.V1.JobResult result) =>
        AgentInputs.Result(result.Succeeded, result.ResultJson, result.Error, result.Retryable, result.TokensIn, result.TokensOut, result.Cost,
            result.Metered.Count == 0 ? null : [.. result.Metered.Select(m => new Abstractions.Cost.MeteredUsage(m.Unit,
                decimal.TryParse(m.Quantity, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var q)
                    ? q : throw MeshException.Invalid("metered.quantity", "a non-negative decimal number as text, e.g. \"1250\"."),
                string.IsNullOrEmpty(m.Model) ? null : m.Model))]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} connected (owner {Owner}, pool {Pool})")]
    private static partial void LogConnected(ILogger logger, string agentId, string owner, string pool);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId} disconnected")]
    private static partial void LogDisconnected(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: heartbeat failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, string agentId, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: disconnect notice failed")]
    private static partial void LogDisconnectFailed(ILogger logger, string agentId, Exception exception);
}
