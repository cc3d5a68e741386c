using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Cost;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Cost;
using Scope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Budgets, the gRPC adapter of <see cref="BudgetsService"/> (REST: /v1/tenants/{tenantId}/budgets).</summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[OperatorScope(Scope.TenantAdmin)]
[BindServiceMethod(typeof(BudgetsGrpcService), nameof(BindService))]
internal sealed class BudgetsGrpcService(BudgetsService budgets) : MeshOs.Grpc.V1.Budgets.BudgetsBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Budgets.BudgetsBase service) =>
        MeshOs.Grpc.V1.Budgets.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(Scope.ReadOnly)]
    public override async Task<BudgetList> ListBudgets(ListBudgetsRequest request, ServerCallContext context)
    {
        var list = new BudgetList();
        list.Budgets.AddRange((await budgets.ListAsync(context.Caller(), request.TenantId)).Select(ToProto));
        return list;
    }

    [Authorize(Policy = MeshRoles.OperatorPolicy)]
    public override async Task<MeshOs.Grpc.V1.BudgetStatus> PutBudget(MeshOs.Grpc.V1.PutBudgetRequest request, ServerCallContext context)
    {
        decimal? limit = string.IsNullOrEmpty(request.Limit) ? null
            : decimal.TryParse(request.Limit, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) ? amount
            : throw MeshException.Invalid("limit", "a decimal amount as text, e.g. \"250.00\".");
        Domain.BudgetPeriod? period = request.Period switch
        {
            MeshOs.Grpc.V1.BudgetPeriod.Unspecified => null,
            MeshOs.Grpc.V1.BudgetPeriod.Monthly => Domain.BudgetPeriod.Monthly,
            MeshOs.Grpc.V1.BudgetPeriod.Custom => Domain.BudgetPeriod.Custom,
            _ => throw MeshException.Invalid("period", $"unknown period {(int)request.Period}."),
        };
        var input = new BudgetInput(limit, string.IsNullOrEmpty(request.Currency) ? null : request.Currency, period,
            request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"), [.. request.AlertPercents], request.HardLimit,
            request.Pool, request.Capability);
        return ToProto(await budgets.PutAsync(context.Caller(), request.TenantId, request.Name, input));
    }

    [Authorize(Policy = MeshRoles.OperatorPolicy)]
    public override async Task<DeleteBudgetResponse> DeleteBudget(BudgetRef request, ServerCallContext context)
    {
        await budgets.DeleteAsync(context.Caller(), request.TenantId, request.Name);
        return new DeleteBudgetResponse();
    }

    private static MeshOs.Grpc.V1.BudgetStatus ToProto(Domain.BudgetStatus s)
    {
        var proto = new MeshOs.Grpc.V1.BudgetStatus
        {
            Name = s.Spec.Name,
            Limit = Text(s.Spec.Limit),
            Currency = s.Spec.Currency,
            Period = s.Spec.Period == Domain.BudgetPeriod.Custom ? MeshOs.Grpc.V1.BudgetPeriod.Custom : MeshOs.Grpc.V1.BudgetPeriod.Monthly,
            HardLimit = s.Spec.HardLimit,
            Pool = s.Spec.Pool ?? string.Empty,
            Capability = s.Spec.Capability ?? string.Empty,
            PeriodStart = Timestamp.FromDateTimeOffset(s.PeriodStart),
            PeriodEnd = Timestamp.FromDateTimeOffset(s.PeriodEnd),
            Spent = Text(s.Spent),
            Percent = Text(s.Percent),
            State = s.State switch
            {
                Domain.BudgetState.Ok => MeshOs.Grpc.V1.BudgetState.Ok,
                Domain.BudgetState.Warning => MeshOs.Grpc.V1.BudgetState.Warning,
                _ => MeshOs.Grpc.V1.BudgetState.Exceeded,
            },
            Forecast = Text(s.Forecast),
            RunsOutAt = s.RunsOutAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
        };
        proto.AlertPercents.AddRange(s.Spec.AlertPercents);
        proto.AlertsSent.AddRange(s.AlertsSent);
        return proto;
    }

    private static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
