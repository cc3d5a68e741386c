using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Cost;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Cost;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Cost, the gRPC adapter of <see cref="CostService"/> (REST: /v1/cost).</summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[BindServiceMethod(typeof(CostGrpcService), nameof(BindService))]
internal sealed class CostGrpcService(CostService costs) : MeshOs.Grpc.V1.Cost.CostBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Cost.CostBase service) =>
        MeshOs.Grpc.V1.Cost.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<CostReport> GetReport(CostReportRequest request, ServerCallContext context)
    {
        var report = await costs.GetReportAsync(context.Caller(), new CostFilter(request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"),
            Text(request.Period), Text(request.GroupBy), Text(request.Interval), Text(request.Tenant), Text(request.Pool), Text(request.Agent),
            Text(request.Capability), Text(request.Idle)));
        var proto = new CostReport
        {
            Currency = report.Currency, From = Timestamp.FromDateTimeOffset(report.From), To = Timestamp.FromDateTimeOffset(report.To),
            GroupBy = report.GroupBy.ToString(), Interval = report.Interval.ToString(), IdlePolicy = report.Idle.ToString(),
            Allocated = Amount(report.Allocated), IdleTotal = Amount(report.IdleTotal), UnsharedIdle = Amount(report.UnsharedIdle),
            Usage = Amount(report.Usage), AgentCost = Amount(report.AgentCost), Total = Amount(report.Total),
        };
        proto.Lines.AddRange(report.Lines.Select(l => new CostLine
        {
            Key = l.Key, Bucket = l.Bucket is { } b ? Timestamp.FromDateTimeOffset(b) : null, Allocated = Amount(l.Allocated), Idle = Amount(l.Idle),
            IdleShare = Amount(l.IdleShare), Usage = Amount(l.Usage), Total = Amount(l.Total), AgentMs = l.AgentMs,
        }));
        return proto;
    }

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<CostKpi> GetKpi(CostKpiRequest request, ServerCallContext context)
    {
        var kpi = await costs.GetKpiAsync(context.Caller(), request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"),
            Text(request.Period), Text(request.Pool), Text(request.Tenant));
        var proto = new CostKpi
        {
            Currency = kpi.Currency, From = Timestamp.FromDateTimeOffset(kpi.From), To = Timestamp.FromDateTimeOffset(kpi.To),
            Pool = kpi.Pool ?? string.Empty, Tenant = kpi.Tenant ?? string.Empty, Cost = Amount(kpi.Cost), AgentHours = Amount(kpi.AgentHours),
            CostPerAgentMonth = kpi.CostPerAgentMonth is { } v ? Amount(v) : string.Empty, Target = Amount(kpi.Target),
        };
        if (kpi.MeetsTarget is { } meets)
        {
            proto.MeetsTarget = meets;
        }

        proto.Trend.AddRange(kpi.Trend.Select(p => new CostKpiPoint
        {
            Month = Timestamp.FromDateTimeOffset(p.Month), Cost = Amount(p.Cost), AgentHours = Amount(p.AgentHours),
            CostPerAgentMonth = p.CostPerAgentMonth is { } c ? Amount(c) : string.Empty,
        }));
        return proto;
    }

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<JobCost> GetJobCost(JobCostRequest request, ServerCallContext context)
    {
        var cost = await costs.GetJobCostAsync(context.Caller(), request.JobId);
        return new JobCost
        {
            JobId = cost.JobId.ToString(), Currency = cost.Currency, Tenant = cost.Tenant, Pool = cost.Pool, Capability = cost.Capability,
            Allocated = Amount(cost.Allocated), Usage = Amount(cost.Usage), Total = Amount(cost.Total), AgentMs = cost.AgentMs,
        };
    }

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<RateCardList> ListRateCards(ListRateCardsRequest request, ServerCallContext context)
    {
        var set = await costs.GetRateCardsAsync(context.Caller());
        var proto = new RateCardList { Currency = set.Currency, Version = set.Version };
        proto.Cards.AddRange(set.Cards.Select(ToProto));
        return proto;
    }

    [OperatorScope(Abstractions.Compliance.OperatorScope.ReadOnly)]
    public override async Task<RateCard> GetRateCard(RateCardRef request, ServerCallContext context) =>
        ToProto(await costs.GetRateCardAsync(context.Caller(), request.CardId));

    public override async Task<RateCard> PutRateCard(RateCard request, ServerCallContext context)
    {
        var spec = new RateCardSpec(request.EffectiveFrom.ToDateTimeOffset("effective_from"), Text(request.Currency),
            [.. request.AgentRates.Select(r => new Domain.AgentRate(r.Pool, Text(r.Runtime), Text(r.Region), Parse(r.HourlyRate, "agent_rates.hourly_rate")))],
            [.. request.UnitPrices.Select(p => new Domain.UnitPrice(p.Unit, Text(p.Model), Parse(p.Price, "unit_prices.price")))],
            Text(request.Note));
        return ToProto(await costs.PutRateCardAsync(context.Caller(), request.Id, spec));
    }

    public override async Task<DeleteRateCardResponse> DeleteRateCard(RateCardRef request, ServerCallContext context)
    {
        await costs.DeleteRateCardAsync(context.Caller(), request.CardId);
        return new DeleteRateCardResponse();
    }

    private static RateCard ToProto(Domain.RateCard card)
    {
        var proto = new RateCard
        {
            Id = card.Id, EffectiveFrom = Timestamp.FromDateTimeOffset(card.EffectiveFrom), Currency = card.Currency, Note = card.Note ?? string.Empty,
            Version = card.Version, UpdatedAt = Timestamp.FromDateTimeOffset(card.UpdatedAt),
        };
        proto.AgentRates.AddRange(card.AgentRates.Select(r => new AgentRate
        {
            Pool = r.Pool, Runtime = r.Runtime ?? string.Empty, Region = r.Region ?? string.Empty, HourlyRate = Amount(r.HourlyRate),
        }));
        proto.UnitPrices.AddRange(card.UnitPrices.Select(p => new UnitPrice { Unit = p.Unit, Model = p.Model ?? string.Empty, Price = Amount(p.Price) }));
        return proto;
    }

    private static string? Text(string value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Amount(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static decimal Parse(string text, string field) =>
        decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw MeshException.Invalid(field, "a non-negative decimal number as text, e.g. \"3.60\".");
}
