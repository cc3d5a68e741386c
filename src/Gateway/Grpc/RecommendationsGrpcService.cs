using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Cost;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Cost;
using Scope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Recommendations, the gRPC adapter of <see cref="RecommendationsService"/> (REST: /v1/cost/recommendations, /v1/cost/autoscale).</summary>
[Authorize(Policy = MeshRoles.OperatorPolicy)]
[OperatorScope(Scope.IncidentResponder)]
[BindServiceMethod(typeof(RecommendationsGrpcService), nameof(BindService))]
internal sealed class RecommendationsGrpcService(RecommendationsService recommendations) : MeshOs.Grpc.V1.Recommendations.RecommendationsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Recommendations.RecommendationsBase service) =>
        MeshOs.Grpc.V1.Recommendations.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(Scope.ReadOnly)]
    public override async Task<RecommendationList> ListRecommendations(ListRecommendationsRequest request, ServerCallContext context)
    {
        var list = new RecommendationList();
        list.Recommendations.AddRange((await recommendations.ListAsync(context.Caller(), request.Pool, Empty(request.Kind), Empty(request.Status))).Select(ToProto));
        return list;
    }

    public override async Task<CostRecommendation> ApplyRecommendation(RecommendationRef request, ServerCallContext context) =>
        ToProto(await recommendations.ApplyAsync(context.Caller(), request.Id));

    public override async Task<CostRecommendation> DismissRecommendation(MeshOs.Grpc.V1.DismissRecommendationRequest request, ServerCallContext context) =>
        ToProto(await recommendations.DismissAsync(context.Caller(), request.Id, request.Reason));

    [OperatorScope(Scope.ReadOnly)]
    public override async Task<MeshOs.Grpc.V1.AutoscalePolicy> GetAutoscalePolicy(AutoscalePolicyRef request, ServerCallContext context) =>
        ToProto(await recommendations.GetPolicyAsync(context.Caller(), request.Pool));

    public override async Task<MeshOs.Grpc.V1.AutoscalePolicy> PutAutoscalePolicy(MeshOs.Grpc.V1.AutoscalePolicy request, ServerCallContext context) =>
        ToProto(await recommendations.PutPolicyAsync(context.Caller(),
            new AutoscaleInput(request.Pool, request.Enabled, request.MinAgents, request.MaxAgents, request.CooldownSeconds)));

    private static string? Empty(string text) => string.IsNullOrEmpty(text) ? null : text;

    private static CostRecommendation ToProto(Domain.Recommendation r)
    {
        var e = r.Evidence;
        var proto = new CostRecommendation
        {
            Id = r.Id,
            Kind = r.Kind.ToString(),
            Pool = r.Pool,
            Capability = r.Capability ?? string.Empty,
            AgentsNow = r.AgentsNow,
            Change = r.Change,
            TargetPool = r.TargetPool ?? string.Empty,
            MonthlySaving = Text(r.MonthlySaving),
            Currency = r.Currency,
            Evidence = new MeshOs.Grpc.V1.RecommendationEvidence
            {
                From = Timestamp.FromDateTimeOffset(e.From),
                To = Timestamp.FromDateTimeOffset(e.To),
                BusyMs = e.BusyMs,
                IdleMs = e.IdleMs,
                Utilization = e.Utilization is { } u ? Text(u) : string.Empty,
                Cost = Text(e.Cost),
                HourlyRate = Text(e.HourlyRate),
                Pending = e.Pending ?? -1,
                Summary = e.Summary,
            },
            Status = r.Status.ToString(),
            CreatedAt = Timestamp.FromDateTimeOffset(r.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(r.UpdatedAt),
            Reason = r.Reason ?? string.Empty,
            AppliedBy = r.AppliedBy ?? string.Empty,
        };
        proto.AgentIds.AddRange(r.AgentIds.IsDefault ? [] : r.AgentIds);
        return proto;
    }

    private static MeshOs.Grpc.V1.AutoscalePolicy ToProto(Domain.AutoscalePolicy p) => new()
    {
        Pool = p.Pool,
        Enabled = p.Enabled,
        MinAgents = p.MinAgents,
        MaxAgents = p.MaxAgents,
        CooldownSeconds = (int)p.Cooldown.TotalSeconds,
        LastActionAt = p.LastActionAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
    };

    private static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
