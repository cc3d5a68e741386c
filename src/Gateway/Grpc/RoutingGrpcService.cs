using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Gateway.Auth;
using RoutingService = MeshOs.Gateway.Routing.RoutingService;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Routing, the gRPC adapter of <see cref="RoutingService"/> (REST: /v1/routing).</summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[OperatorScope(MeshOs.Abstractions.Compliance.OperatorScope.ReadOnly)]
[BindServiceMethod(typeof(RoutingGrpcService), nameof(BindService))]
internal sealed class RoutingGrpcService(RoutingService routing) : MeshOs.Grpc.V1.Routing.RoutingBase
{
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Routing.RoutingBase service) =>
        MeshOs.Grpc.V1.Routing.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<PoolRouting> GetPoolRouting(PoolRoutingRequest request, ServerCallContext context)
    {
        var view = await routing.GetPoolAsync(context.Caller(), request.Pool, string.IsNullOrEmpty(request.AgentId) ? null : request.AgentId);
        var proto = new PoolRouting
        {
            Pool = view.Pool,
            Policy = view.Policy,
            WeightFast = view.Weights.Fast,
            WeightCheap = view.Weights.Cheap,
            WeightReliable = view.Weights.Reliable,
            Candidates = view.Candidates,
            ExplorationShare = view.ExplorationShare,
            AdaptiveConcurrency = view.AdaptiveConcurrency,
            LatencyTargetMs = view.LatencyTarget?.TotalMilliseconds ?? 0,
        };
        foreach (var a in view.Agents)
        {
            var s = a.Stats;
            proto.Agents.Add(new AgentRouteStats
            {
                AgentId = s.AgentId,
                Capability = s.Capability,
                Version = s.Version ?? string.Empty,
                Successes = s.Successes,
                Failures = s.Failures,
                SuccessRate = a.SuccessRate,
                LatencyMs = s.LatencyMs,
                TailLatencyMs = a.TailLatencyMs,
                CostPerJob = s.CostPerJob,
                Attempts = s.Attempts,
                UpdatedAt = Timestamp.FromDateTimeOffset(s.UpdatedAt),
                ConcurrencyLimit = a.ConcurrencyLimit ?? 0,
                AdvertisedConcurrency = a.AdvertisedConcurrency ?? 0,
            });
        }

        foreach (var v in view.Versions)
        {
            proto.Versions.Add(new VersionRouteStats
            {
                Capability = v.Capability,
                Version = v.Version,
                Successes = v.Successes,
                Failures = v.Failures,
                SuccessRate = v.SuccessRate,
                LatencyMs = v.LatencyMs,
                Attempts = v.Attempts,
                UpdatedAt = Timestamp.FromDateTimeOffset(v.UpdatedAt),
            });
        }

        return proto;
    }
}
