using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Kpi;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Kpi;
using Scope = MeshOs.Abstractions.Compliance.OperatorScope;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Kpis, the gRPC adapter of <see cref="KpiService"/> (REST: /v1/kpis, /v1/slo, /v1/sla/reports, /v1/maintenance-windows).</summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[BindServiceMethod(typeof(KpisGrpcService), nameof(BindService))]
internal sealed class KpisGrpcService(KpiService kpis) : Kpis.KpisBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, Kpis.KpisBase service) => Kpis.BindService(StrictRequestBinder.For(binder), service);

    public override async Task<KpiReportReply> GetKpis(KpiQuery request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (from, to, period) = (request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"), Empty(request.Period));
        var report = string.IsNullOrEmpty(request.TenantId) && caller.IsOperator
            ? await kpis.GetMeshKpisAsync(caller, from, to, period)
            : await kpis.GetTenantKpisAsync(caller, string.IsNullOrEmpty(request.TenantId) ? caller.RequireTenant().TenantId : request.TenantId, from, to, period);
        var reply = new KpiReportReply
        {
            Scope = report.Scope,
            TenantId = report.TenantId ?? string.Empty,
            From = Timestamp.FromDateTimeOffset(report.From),
            To = Timestamp.FromDateTimeOffset(report.To),
            Slo = ToProto(report.Slo),
        };
        reply.Kpis.AddRange(report.Kpis.Select(k => new KpiValueReply
        {
            Name = k.Name,
            Value = Text(k.Value),
            Unit = k.Unit,
            Target = Text(k.Target),
            MeetsTarget = k.MeetsTarget is { } m ? (m ? "true" : "false") : string.Empty,
            Source = k.Source,
            MissingReason = k.MissingReason ?? string.Empty,
        }));
        return reply;
    }

    public override async Task<SloStatusReply> GetSlo(KpiQuery request, ServerCallContext context) =>
        ToProto(await kpis.GetSloAsync(context.Caller(), Empty(request.TenantId), request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"), Empty(request.Period)));

    public override async Task<SlaReportReply> GetSlaReport(SlaReportRequest request, ServerCallContext context)
    {
        var r = await kpis.GetSlaReportAsync(context.Caller(), request.TenantId, request.Month);
        var reply = new SlaReportReply
        {
            TenantId = r.TenantId,
            Month = r.Month,
            From = Timestamp.FromDateTimeOffset(r.From),
            To = Timestamp.FromDateTimeOffset(r.To),
            Final = r.Final,
            TotalMinutes = r.TotalMinutes,
            ExcludedMinutes = r.ExcludedMinutes,
            ValidMinutes = r.ValidMinutes,
            BadMinutes = r.BadMinutes,
            GoodMinutes = r.GoodMinutes,
            AvailabilityPercent = Text(r.AvailabilityPercent),
            TargetPercent = Text(r.TargetPercent),
            Band = r.Band.Describe(),
            CreditPercent = r.Band.CreditPercent,
            Bill = Text(r.Bill),
            BillSource = r.BillSource ?? string.Empty,
            Currency = r.Currency ?? string.Empty,
            Credit = Text(r.Credit),
        };
        reply.MaintenanceWindows.AddRange(r.MaintenanceWindows.Select(ToProto));
        return reply;
    }

    public override async Task<MaintenanceWindowList> ListMaintenanceWindows(ListMaintenanceWindowsRequest request, ServerCallContext context)
    {
        var list = new MaintenanceWindowList();
        list.Windows.AddRange((await kpis.ListMaintenanceAsync(context.Caller(), request.From.ToDateTimeOffset("from"), request.To.ToDateTimeOffset("to"),
            request.IncludeCancelled)).Select(ToProto));
        return list;
    }

    [Authorize(Policy = MeshRoles.OperatorPolicy)]
    [OperatorScope(Scope.IncidentResponder)]
    public override async Task<MaintenanceWindowReply> ScheduleMaintenanceWindow(ScheduleMaintenanceWindowRequest request, ServerCallContext context) =>
        ToProto(await kpis.ScheduleMaintenanceAsync(context.Caller(), new MaintenanceInput(Empty(request.Kind), request.Start.ToDateTimeOffset("start"),
            request.End.ToDateTimeOffset("end"), Empty(request.Title), Empty(request.Reason))));

    [Authorize(Policy = MeshRoles.OperatorPolicy)]
    [OperatorScope(Scope.IncidentResponder)]
    public override async Task<MaintenanceWindowReply> CancelMaintenanceWindow(MaintenanceWindowRef request, ServerCallContext context) =>
        ToProto(await kpis.CancelMaintenanceAsync(context.Caller(), request.Id));

    private static SloStatusReply ToProto(Domain.SloStatus s) => new()
    {
        Scope = s.Scope,
        From = Timestamp.FromDateTimeOffset(s.From),
        To = Timestamp.FromDateTimeOffset(s.To),
        AvailabilityTarget = Text(s.AvailabilityTarget),
        Windows = s.Windows,
        WindowsMet = s.WindowsMet,
        Adherence = Text(s.Adherence),
        ValidMinutes = s.ValidMinutes,
        BadMinutes = s.BadMinutes,
        AllowedBadMinutes = Text(s.AllowedBadMinutes),
        BudgetRemaining = Text(s.BudgetRemaining),
        Burn5M = s.Burn?.FiveMinutes is { } five ? five.ToString("R", CultureInfo.InvariantCulture) : string.Empty,
        Burn1H = s.Burn?.OneHour is { } hour ? hour.ToString("R", CultureInfo.InvariantCulture) : string.Empty,
        FastBurn = s.Burn?.FastBurn ?? false,
    };

    private static MaintenanceWindowReply ToProto(Domain.MaintenanceWindow w) => new()
    {
        Id = w.Id,
        Kind = w.Kind.ToString(),
        Start = Timestamp.FromDateTimeOffset(w.Start),
        End = Timestamp.FromDateTimeOffset(w.End),
        Title = w.Title,
        Reason = w.Reason ?? string.Empty,
        CreatedBy = w.CreatedBy ?? string.Empty,
        AnnouncedAt = w.AnnouncedAt is { } a ? Timestamp.FromDateTimeOffset(a) : null,
        CancelledAt = w.CancelledAt is { } c ? Timestamp.FromDateTimeOffset(c) : null,
    };

    private static string? Empty(string text) => string.IsNullOrEmpty(text) ? null : text;

    private static string Text(decimal? value) => value?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
}
