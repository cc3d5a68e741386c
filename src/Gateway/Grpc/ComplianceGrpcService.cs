using System.Collections.Immutable;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Abstractions;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Compliance;
using MeshOs.Grpc.V1;
using Microsoft.AspNetCore.Authorization;
using Domain = MeshOs.Abstractions.Compliance;

namespace MeshOs.Gateway.Grpc;

/// <summary>meshos.v1.Compliance, the gRPC adapter of <see cref="ComplianceService"/> (REST: /v1/compliance).</summary>
[Authorize(Policy = MeshRoles.OperatorOrTenantPolicy)]
[BindServiceMethod(typeof(ComplianceGrpcService), nameof(BindService))]
internal sealed class ComplianceGrpcService(ComplianceService compliance) : MeshOs.Grpc.V1.Compliance.ComplianceBase
{
    /// <summary>Binds the RPCs with request messages that fail to parse refused as InvalidArgument (<see cref="StrictRequestBinder"/>).</summary>
    public static void BindService(ServiceBinderBase binder, MeshOs.Grpc.V1.Compliance.ComplianceBase service) =>
        MeshOs.Grpc.V1.Compliance.BindService(StrictRequestBinder.For(binder), service);

    [OperatorScope(Domain.OperatorScope.ReadOnly)]
    public override async Task<PolicySet> ListPolicies(ListPoliciesRequest request, ServerCallContext context)
    {
        var set = await compliance.GetPoliciesAsync(context.Caller());
        var proto = new PolicySet { Version = set.Version };
        proto.Policies.AddRange(set.Policies.Select(ToProto));
        proto.Advisories.AddRange(set.Advisories.Select(ToProto));
        return proto;
    }

    public override async Task<CompliancePolicy> PutPolicy(CompliancePolicy request, ServerCallContext context)
    {
        var scope = string.IsNullOrEmpty(request.ScopeKind) || request.ScopeKind == Domain.PolicyScope.MeshKind
            ? (string.IsNullOrEmpty(request.ScopeName) ? Domain.PolicyScope.Mesh : new Domain.PolicyScope(Domain.PolicyScope.MeshKind, request.ScopeName))
            : new Domain.PolicyScope(request.ScopeKind, request.ScopeName);
        var spec = new PolicySpec(request.Rule, ToDomain(request.Mode), ToDomain(request.Severity), scope, request.Settings,
            request.HasEnabled ? request.Enabled : null);
        return ToProto(await compliance.PutPolicyAsync(context.Caller(), request.Id, spec));
    }

    public override async Task<DeletePolicyResponse> DeletePolicy(PolicyRef request, ServerCallContext context)
    {
        await compliance.DeletePolicyAsync(context.Caller(), request.PolicyId);
        return new DeletePolicyResponse();
    }

    public override async Task<VulnerabilityAdvisory> PutAdvisory(VulnerabilityAdvisory request, ServerCallContext context)
    {
        decimal? cvss = string.IsNullOrEmpty(request.Cvss) ? null
            : decimal.TryParse(request.Cvss, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var score) ? score
            : throw MeshException.Invalid("cvss", "a CVSS base score as text, e.g. \"9.8\".");
        var spec = new AdvisorySpec(cvss, request.IntroducedIn, string.IsNullOrEmpty(request.FixedIn) ? null : request.FixedIn,
            request.PublishedAt.ToDateTimeOffset("publishedAt"), string.IsNullOrEmpty(request.Summary) ? null : request.Summary);
        return ToProto(await compliance.PutAdvisoryAsync(context.Caller(), request.Id, spec));
    }

    public override async Task<DeleteAdvisoryResponse> DeleteAdvisory(AdvisoryRef request, ServerCallContext context)
    {
        await compliance.DeleteAdvisoryAsync(context.Caller(), request.AdvisoryId);
        return new DeleteAdvisoryResponse();
    }

    [OperatorScope(Domain.OperatorScope.ReadOnly)]
    public override async Task<FindingPage> ListFindings(ListFindingsRequest request, ServerCallContext context)
    {
        Domain.FindingState? state = request.State switch
        {
            FindingState.Unspecified => null,
            FindingState.Open => Domain.FindingState.Open,
            FindingState.Resolved => Domain.FindingState.Resolved,
            FindingState.Waived => Domain.FindingState.Waived,
            _ => throw MeshException.Invalid("state", $"unknown state {(int)request.State}."),
        };
        var page = await compliance.GetFindingsAsync(context.Caller(), new FindingFilter(request.Tenant, request.PolicyId, state, request.Subject,
            request.Cursor, request.Limit == 0 ? null : request.Limit));
        var proto = new FindingPage { Next = page.Next ?? string.Empty };
        proto.Findings.AddRange(page.Findings.Select(ToProto));
        return proto;
    }

    public override async Task<ComplianceFinding> WaiveFinding(MeshOs.Grpc.V1.WaiveFindingRequest request, ServerCallContext context) =>
        ToProto(await compliance.WaiveAsync(context.Caller(), request.PolicyId, request.Subject, request.Reason, request.Until.ToDateTimeOffset("until")));

    [OperatorScope(Domain.OperatorScope.ReadOnly)]
    public override async Task<ComplianceReport> GetScore(GetScoreRequest request, ServerCallContext context) =>
        ToProto(await compliance.GetScoreAsync(context.Caller(), request.Tenant));

    public override async Task<ComplianceReport> Scan(ScanRequest request, ServerCallContext context) =>
        ToProto(await compliance.ScanAsync(context.Caller()));

    private static Domain.PolicyMode? ToDomain(PolicyMode mode) => mode switch
    {
        PolicyMode.Unspecified => null,
        PolicyMode.Audit => Domain.PolicyMode.Audit,
        PolicyMode.Enforce => Domain.PolicyMode.Enforce,
        _ => throw MeshException.Invalid("mode", $"unknown mode {(int)mode}."),
    };

    private static Domain.PolicySeverity? ToDomain(PolicySeverity severity) => severity switch
    {
        PolicySeverity.Unspecified => null,
        PolicySeverity.Low => Domain.PolicySeverity.Low,
        PolicySeverity.Medium => Domain.PolicySeverity.Medium,
        PolicySeverity.High => Domain.PolicySeverity.High,
        PolicySeverity.Critical => Domain.PolicySeverity.Critical,
        _ => throw MeshException.Invalid("severity", $"unknown severity {(int)severity}."),
    };

    private static PolicySeverity ToProto(Domain.PolicySeverity severity) => severity switch
    {
        Domain.PolicySeverity.Low => PolicySeverity.Low,
        Domain.PolicySeverity.Medium => PolicySeverity.Medium,
        Domain.PolicySeverity.High => PolicySeverity.High,
        _ => PolicySeverity.Critical,
    };

    private static FindingState ToProto(Domain.FindingState state) => state switch
    {
        Domain.FindingState.Open => FindingState.Open,
        Domain.FindingState.Resolved => FindingState.Resolved,
        _ => FindingState.Waived,
    };

    private static CompliancePolicy ToProto(Domain.CompliancePolicy p)
    {
        var proto = new CompliancePolicy
        {
            Id = p.Id,
            Rule = p.Rule,
            Mode = p.Mode == Domain.PolicyMode.Enforce ? PolicyMode.Enforce : PolicyMode.Audit,
            Severity = ToProto(p.Severity),
            ScopeKind = p.Scope.Kind,
            ScopeName = p.Scope.Name ?? string.Empty,
            Enabled = p.Enabled,
        };
        proto.Settings.Add(p.Settings);
        return proto;
    }

    private static VulnerabilityAdvisory ToProto(Domain.VulnerabilityAdvisory a) => new()
    {
        Id = a.Id,
        Cvss = a.Cvss.ToString("0.0", CultureInfo.InvariantCulture),
        IntroducedIn = a.IntroducedIn ?? string.Empty,
        FixedIn = a.FixedIn,
        PublishedAt = Timestamp.FromDateTimeOffset(a.PublishedAt),
        Summary = a.Summary ?? string.Empty,
    };

    private static ComplianceFinding ToProto(Domain.ComplianceFinding f)
    {
        var proto = new ComplianceFinding
        {
            PolicyId = f.PolicyId,
            Subject = f.Subject,
            TenantId = f.TenantId ?? string.Empty,
            Severity = ToProto(f.Severity),
            State = ToProto(f.State),
            LastOutcome = f.LastOutcome.ToString().ToLowerInvariant(),
            Message = f.Message,
            WaivedUntil = f.WaivedUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
        };
        proto.History.AddRange(f.History.Select(h => new FindingChange
        {
            At = Timestamp.FromDateTimeOffset(h.At), State = ToProto(h.State), Reason = h.Reason, By = h.By,
        }));
        return proto;
    }

    private static ComplianceReport ToProto(Domain.ComplianceReport r)
    {
        var proto = new ComplianceReport
        {
            TenantId = r.TenantId ?? string.Empty,
            At = Timestamp.FromDateTimeOffset(r.At),
            Percent = r.Score.Percent.ToString("0.00", CultureInfo.InvariantCulture),
            MeetsTarget = r.Score.MeetsTarget,
            Passed = r.Score.Passed,
            Failed = r.Score.Failed,
            Warned = r.Score.Warned,
            Errored = r.Score.Errored,
            Skipped = r.Score.Skipped,
            Waived = r.Score.Waived,
            LastScanAt = r.LastScanAt is { } scanned ? Timestamp.FromDateTimeOffset(scanned) : null,
        };
        proto.OpenFindings.Add(r.OpenFindings.ToImmutableSortedDictionary(p => p.Key.ToString().ToLowerInvariant(), p => p.Value));
        proto.History.AddRange(r.History.Select(p => new ScorePoint
        {
            At = Timestamp.FromDateTimeOffset(p.At), Percent = p.Percent.ToString("0.00", CultureInfo.InvariantCulture),
        }));
        return proto;
    }
}
