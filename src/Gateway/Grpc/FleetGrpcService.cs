using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions.Agents;
using MeshOs.Gateway.Agents;
using MeshOs.Gateway.Auth;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using QuarantineRequest = MeshOs.Grpc.V1.QuarantineRequest;
using OperatorScope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>
/// meshos.v1.Fleet, the gRPC adapter of <see cref="AgentsService"/>'s operator calls: look at an agent, quarantine,
/// release, drain and restart it (the same calls as REST /v1/agents). An empty reason means the default.
/// </summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[OperatorScope(OperatorScope.IncidentResponder)]
[BindServiceMethod(typeof(FleetGrpcService), nameof(BindService))]
internal sealed class FleetGrpcService(AgentsService agents) : Fleet.FleetBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, Fleet.FleetBase service) => Fleet.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(OperatorScope.ReadOnly)]
    public override async Task<AgentStatus> GetAgent(AgentRef request, ServerCallContext context) =>
        ToProto(await agents.GetAsync(context.Caller(), request.AgentId));

    public override async Task<AgentStatus> Quarantine(QuarantineRequest request, ServerCallContext context) =>
        ToProto(await agents.QuarantineAsync(context.Caller(), request.AgentId, request.Reason, request.Probation.ToTimeSpan("probationMinutes")));

    public override async Task<AgentStatus> Release(AgentAction request, ServerCallContext context) =>
        ToProto(await agents.ReleaseAsync(context.Caller(), request.AgentId, request.Reason));

    public override async Task<AgentStatus> Drain(AgentAction request, ServerCallContext context) =>
        ToProto(await agents.DrainAsync(context.Caller(), request.AgentId, request.Reason));

    public override async Task<RestartReply> Restart(AgentAction request, ServerCallContext context)
    {
        var path = await agents.RestartAsync(context.Caller(), request.AgentId, request.Reason);
        return new RestartReply { AgentId = request.AgentId, Path = path == RestartPath.Runtime ? "runtime" : "command" };
    }

    private static AgentStatus ToProto(AgentInfo a)
    {
        var status = new AgentStatus
        {
            AgentId = a.Registration.AgentId,
            Owner = a.Registration.Owner,
            Pool = a.Registration.Pool,
            State = a.State.ToString(),
            StateReason = a.StateReason,
            Quarantined = a.Quarantined,
            Connected = a.Connected,
            InFlight = a.InFlight,
            Version = a.Registration.Version,
            Region = a.Registration.Region,
        };
        status.Certifications.AddRange(a.Registration.Certifications.IsDefault ? [] : a.Registration.Certifications);
        if (a.ProbationUntil is { } until)
        {
            status.ProbationUntil = Timestamp.FromDateTimeOffset(until);
        }

        return status;
    }
}
