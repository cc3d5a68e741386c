using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MeshOs.Grpc.V1;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// One RPC of meshos.v1: who may call it, a valid request stream aimed at the fuzz world (one message for unary and
/// server-streaming calls), and changes to that request that the RPC must refuse, each on its own.
/// </summary>
/// <param name="Template">A fresh valid request stream. Never sent as it is by a caller allowed to make it.</param>
/// <param name="Invalid">Changes to the request the RPC must refuse whatever else the request holds.</param>
public sealed record GrpcMethod(string Service, string Name, MethodType Kind, Role Role, Func<List<IMessage>> Template, IReadOnlyList<MessageAttack> Invalid)
{
    public string Path => $"/{Service}/{Name}";

    public bool IsStreamingRequest => Kind is MethodType.ClientStreaming or MethodType.DuplexStreaming;

    public override string ToString() => $"{Service}/{Name}";
}

/// <summary>A change to a request stream; <paramref name="Alone"/>: it reshapes the stream, so it is never combined.</summary>
public sealed record MessageAttack(string Field, string Detail, Action<List<IMessage>> Apply, bool Alone = false)
{
    public override string ToString() => $"{Field} = {Describe.Clip(Detail, 80)}";
}

/// <summary>
/// Every RPC of meshos.v1 (checked against the services' descriptors, so a new RPC fails the fuzz test until it is
/// described here), with valid requests and field attacks: empty, malformed, foreign and unknown ids, strings past
/// their limits or outside their alphabets, unknown enum numbers, negative and enormous numbers, durations and
/// timestamps out of range or not normalized.
/// </summary>
public static class GrpcCatalog
{
    private static readonly string[] LongStrings = [new('x', 101), new('x', 257), new('x', 100_000)];

    public static IReadOnlyList<GrpcMethod> For(FuzzWorld w)
    {
        var submitAttacks = SubmitAttacks(w);
        var jobIds = ForeignJobIds(w);
        var incidentIds = UnknownIncidentIds();
        var agentIds = UnknownAgentIds();
        var catalog = new List<GrpcMethod>
        {
            // Jobs (tenant)
            Unary("Jobs", "Submit", Role.Tenant, () => ValidSubmit(), submitAttacks),
            Unary("Jobs", "SubmitBatch", Role.Tenant, () => new SubmitJobBatchRequest { Jobs = { ValidSubmit(), ValidSubmit() } },
            [
                // The shape of the batch as a whole: alone, as another attack would poison (or empty) these entries.
                Field<SubmitJobBatchRequest>.On("jobs", "none", m => m.Jobs.Clear(), alone: true),
                Field<SubmitJobBatchRequest>.On("jobs", "501 valid jobs", m => Replace(m.Jobs, Enumerable.Range(0, 501).Select(_ => ValidSubmit())), alone: true),
                // A batch answers OK with one refusal per entry: every entry carries the attack.
                .. submitAttacks.Select(a => new MessageAttack("jobs.*." + a.Field, a.Detail, stream =>
                {
                    var batch = (SubmitJobBatchRequest)stream[0];
                    foreach (var job in batch.Jobs)
                    {
                        List<IMessage> one = [job];
                        a.Apply(one);
                    }
                })),
            ]),
            // Get: the operator reads any job too (audited as jobs.read).
            Unary("Jobs", "Get", Role.OperatorOrTenant, () => new GetJobRequest { JobId = w.JobId }, Field<GetJobRequest>.Values("job_id", jobIds, (m, v) => m.JobId = v)),
            Unary("Jobs", "List", Role.Tenant, () => new ListJobsRequest { Limit = 10 },
            [
                .. Field<ListJobsRequest>.Values("status", [8, 42, -1, int.MaxValue, int.MinValue], (m, v) => m.Status = (MeshOs.Grpc.V1.JobStatus)v),
                .. Field<ListJobsRequest>.Values("type", LongStrings, (m, v) => m.Type = v),
                .. Field<ListJobsRequest>.Values("created_from", BadTimestamps(), (m, v) => m.CreatedFrom = v),
                .. Field<ListJobsRequest>.Values("created_to", BadTimestamps(), (m, v) => m.CreatedTo = v),
                Field<ListJobsRequest>.On("created_from", "after created_to", m =>
                {
                    m.CreatedFrom = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
                    m.CreatedTo = Timestamp.FromDateTimeOffset(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
                }),
                .. Field<ListJobsRequest>.Values("cursor", ["not-a-cursor!", "AAAA", new string('A', 101), "////", "%00", "🙂"], (m, v) => m.Cursor = v),
                .. Field<ListJobsRequest>.Values("limit", [-1, 501, int.MinValue, int.MaxValue], (m, v) => m.Limit = v),
            ]),
            Unary("Jobs", "Cancel", Role.Tenant, () => new CancelJobRequest { JobId = w.JobId, Reason = "fuzz" },
            [
                .. Field<CancelJobRequest>.Values("job_id", jobIds, (m, v) => m.JobId = v),
                .. Field<CancelJobRequest>.Values("reason", [new string('r', 501), new string('r', 100_000)], (m, v) => m.Reason = v),
            ]),
            new("meshos.v1.Jobs", "Watch", MethodType.ServerStreaming, Role.Tenant, () => [new WatchJobRequest { JobId = w.JobId }],
                Field<WatchJobRequest>.Values("job_id", jobIds, (m, v) => m.JobId = v)),

            // Incidents (operator)
            Unary("Incidents", "List", Role.Operator, () => new ListIncidentsRequest { Limit = 10 },
            [
                .. Field<ListIncidentsRequest>.Values("severity", [4, 99, -1, int.MinValue], (m, v) => m.Severity = (Severity)v),
                .. Field<ListIncidentsRequest>.Values("stage", [6, 99, -1, int.MaxValue], (m, v) => m.Stage = (IncidentStage)v),
                .. Field<ListIncidentsRequest>.Values("detected_from", BadTimestamps(), (m, v) => m.DetectedFrom = v),
                .. Field<ListIncidentsRequest>.Values("detected_to", BadTimestamps(), (m, v) => m.DetectedTo = v),
                .. Field<ListIncidentsRequest>.Values("limit", [-1, 501, int.MinValue, int.MaxValue], (m, v) => m.Limit = v),
            ]),
            Unary("Incidents", "Get", Role.Operator, () => new IncidentRef { IncidentId = w.IncidentId },
                Field<IncidentRef>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v)),
            Unary("Incidents", "Open", Role.Operator, () => new OpenIncidentRequest
            {
                Severity = Severity.P3,
                Title = "fuzz",
                Detail = "d",
                DedupKey = "fz-never-opened",
                Actor = "fuzzer",
            },
            [
                .. Field<OpenIncidentRequest>.Values("severity", [4, 99, -1, int.MaxValue], (m, v) => m.Severity = (Severity)v),
                .. Field<OpenIncidentRequest>.Values("title", ["", "   ", "\t\n", new string('t', 501), new string('t', 100_000)], (m, v) => m.Title = v),
                .. Field<OpenIncidentRequest>.Values("detail", [new string('d', 4_001)], (m, v) => m.Detail = v),
                .. Field<OpenIncidentRequest>.Values("dedup_key", ["  ", new string('k', 201)], (m, v) => m.DedupKey = v),
                .. Field<OpenIncidentRequest>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "Acknowledge", Role.Operator, () => new IncidentAction { IncidentId = w.IncidentId, Actor = "fuzzer" },
            [
                .. Field<IncidentAction>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<IncidentAction>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "Assign", Role.Operator, () => new AssignIncidentRequest { IncidentId = w.IncidentId, Commander = "alice", Actor = "fuzzer" },
            [
                .. Field<AssignIncidentRequest>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<AssignIncidentRequest>.Values("commander", ["", "   ", new string('c', 201)], (m, v) => m.Commander = v),
                .. Field<AssignIncidentRequest>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "Annotate", Role.Operator, () => new AnnotateIncidentRequest { IncidentId = w.IncidentId, Message = "m", Actor = "fuzzer" },
            [
                .. Field<AnnotateIncidentRequest>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<AnnotateIncidentRequest>.Values("message", ["", "  ", new string('m', 4_001)], (m, v) => m.Message = v),
                .. Field<AnnotateIncidentRequest>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "Advance", Role.Operator, () => new AdvanceIncidentRequest
            {
                IncidentId = w.IncidentId,
                Stage = IncidentStage.Investigating,
                Note = "n",
                Actor = "fuzzer",
            },
            [
                .. Field<AdvanceIncidentRequest>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<AdvanceIncidentRequest>.Values("stage", [0, 1, 4, 5, 6, 99, -1], (m, v) => m.Stage = (IncidentStage)v),
                .. Field<AdvanceIncidentRequest>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "Resolve", Role.Operator, () => new ResolveIncidentRequest { IncidentId = w.IncidentId, Resolution = "r", Actor = "fuzzer" },
            [
                .. Field<ResolveIncidentRequest>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<ResolveIncidentRequest>.Values("resolution", [new string('r', 4_001), new string('r', 100_000)], (m, v) => m.Resolution = v),
                .. Field<ResolveIncidentRequest>.Actors((m, v) => m.Actor = v),
            ]),
            Unary("Incidents", "AttachPostMortem", Role.Operator, () => new PostMortemRequest
            {
                IncidentId = w.IncidentId,
                Summary = "s",
                RootCause = "r",
                ActionItems = { "a" },
                Author = "fuzzer",
            },
            [
                .. Field<PostMortemRequest>.Values("incident_id", incidentIds, (m, v) => m.IncidentId = v),
                .. Field<PostMortemRequest>.Values("summary", ["", " ", new string('s', 20_001)], (m, v) => m.Summary = v),
                .. Field<PostMortemRequest>.Values("root_cause", ["", new string('r', 20_001)], (m, v) => m.RootCause = v),
                Field<PostMortemRequest>.On("action_items", "[\"\"]", m => m.ActionItems.Add("")),
                Field<PostMortemRequest>.On("action_items", "an item of 1,001 characters", m => m.ActionItems.Add(new string('a', 1_001))),
                Field<PostMortemRequest>.On("action_items", "101 items", m => Replace(m.ActionItems, Enumerable.Range(0, 101).Select(i => $"a{i}"))),
                .. Field<PostMortemRequest>.Actors((m, v) => m.Author = v),
            ]),
            Unary("Incidents", "Report", Role.Operator, () => new IncidentReportRequest
            {
                From = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-30)),
                To = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            },
            [
                .. Field<IncidentReportRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<IncidentReportRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
                // Attacks on the period as a whole: alone, since each sets both ends.
                Field<IncidentReportRequest>.On("from", "equal to to", m => m.From = m.To.Clone(), alone: true),
                Field<IncidentReportRequest>.On("from", "after to", m => m.From = new Timestamp { Seconds = m.To.Seconds + 1 }, alone: true),
                Field<IncidentReportRequest>.On("to", "the earliest timestamp, from unset", m =>
                {
                    m.From = null;
                    m.To = new Timestamp { Seconds = -62_135_596_800 };
                }, alone: true),
                Field<IncidentReportRequest>.On("from", "the latest timestamp, to unset", m =>
                {
                    m.To = null;
                    m.From = new Timestamp { Seconds = 253_402_300_799, Nanos = 999_999_999 };
                }, alone: true),
            ]),

            // Fleet (operator)
            Unary("Fleet", "GetAgent", Role.Operator, () => new AgentRef { AgentId = w.AgentId }, Field<AgentRef>.Values("agent_id", agentIds, (m, v) => m.AgentId = v)),
            Unary("Fleet", "Quarantine", Role.Operator, () => new QuarantineRequest { AgentId = w.AgentId, Reason = "fuzz", Probation = new Duration { Seconds = 60 } },
            [
                .. Field<QuarantineRequest>.Values("agent_id", agentIds, (m, v) => m.AgentId = v),
                .. Field<QuarantineRequest>.Reasons((m, v) => m.Reason = v),
                .. Field<QuarantineRequest>.Values("probation", BadDurations(maxSeconds: 10 * 86_400), (m, v) => m.Probation = v),
            ]),
            AgentAction("Release", w, agentIds),
            AgentAction("Drain", w, agentIds),
            AgentAction("Restart", w, agentIds),

            // Operator keys (operator)
            Unary("OperatorKeys", "Issue", Role.Operator, () => new IssueOperatorKeyRequest { Name = "fuzz", Owner = "fuzz", Scope = OperatorScope.ReadOnly },
            [
                .. Field<IssueOperatorKeyRequest>.Values("name", new[] { "", "   ", new string('n', 101) }, (m, v) => m.Name = v),
                .. Field<IssueOperatorKeyRequest>.Values("owner", new[] { "", "   ", new string('o', 201) }, (m, v) => m.Owner = v),
                .. Field<IssueOperatorKeyRequest>.Values("scope", new[] { OperatorScope.Unspecified, (OperatorScope)99 }, (m, v) => m.Scope = v),
            ]),
            Unary("OperatorKeys", "Review", Role.Operator, () => new ReviewOperatorKeysRequest(), []),
            Unary("OperatorKeys", "Revoke", Role.Operator, () => new OperatorKeyRef { KeyId = "000000000000" },
                Field<OperatorKeyRef>.Values("key_id", new[] { "", "   ", "../x", new string('k', 10_000) }, (m, v) => m.KeyId = v)),
            Unary("OperatorKeys", "EnrolMfa", Role.Operator, () => new OperatorKeyRef { KeyId = "000000000000" },
                Field<OperatorKeyRef>.Values("key_id", new[] { "", "   ", "../x", "operator", new string('k', 10_000) }, (m, v) => m.KeyId = v)),
            Unary("OperatorKeys", "ConfirmMfa", Role.Operator, () => new ConfirmMfaRequest { KeyId = "000000000000", Code = "123456" },
            [
                .. Field<ConfirmMfaRequest>.Values("key_id", new[] { "", "   ", "../x", "operator", new string('k', 10_000) }, (m, v) => m.KeyId = v),
                .. Field<ConfirmMfaRequest>.Values("code", new[] { "", "12345", "abcdef", new string('1', 10_000) }, (m, v) => m.Code = v),
            ]),
            Unary("OperatorKeys", "RemoveMfa", Role.Operator, () => new OperatorKeyRef { KeyId = "000000000000" },
                Field<OperatorKeyRef>.Values("key_id", new[] { "", "   ", "../x", "operator", new string('k', 10_000) }, (m, v) => m.KeyId = v)),

            // KPIs, SLOs, SLA reports, maintenance windows
            Unary("Kpis", "GetKpis", Role.OperatorOrTenant, () => new KpiQuery(),
            [
                .. Field<KpiQuery>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<KpiQuery>.Values("to", BadTimestamps(), (m, v) => m.To = v),
                .. Field<KpiQuery>.Values("period", new[] { "week", new string('p', 257) }, (m, v) => m.Period = v),
            ]),
            Unary("Kpis", "GetSlo", Role.OperatorOrTenant, () => new KpiQuery(),
            [
                .. Field<KpiQuery>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<KpiQuery>.Values("period", new[] { "week" }, (m, v) => m.Period = v),
            ]),
            Unary("Kpis", "GetSlaReport", Role.OperatorOrTenant, () => new SlaReportRequest
            {
                TenantId = w.Tenant.Id, Month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
            },
                Field<SlaReportRequest>.Values("month", new[] { "", "2026-13", "2026-1", "9999-01", new string('m', 10_000) }, (m, v) => m.Month = v)),
            Unary("Kpis", "ListMaintenanceWindows", Role.OperatorOrTenant, () => new ListMaintenanceWindowsRequest(),
            [
                .. Field<ListMaintenanceWindowsRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<ListMaintenanceWindowsRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
            ]),
            Unary("Kpis", "ScheduleMaintenanceWindow", Role.Operator, ValidMaintenanceWindow,
            [
                .. Field<ScheduleMaintenanceWindowRequest>.Values("kind", new[] { "", "Recurring", "Sometimes" }, (m, v) => m.Kind = v),
                .. Field<ScheduleMaintenanceWindowRequest>.Values("start", BadTimestamps(), (m, v) => m.Start = v),
                .. Field<ScheduleMaintenanceWindowRequest>.Values("start", new[] { Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddYears(40)) }, (m, v) => m.Start = v),
                .. Field<ScheduleMaintenanceWindowRequest>.Values("end", BadTimestamps(), (m, v) => m.End = v),
                .. Field<ScheduleMaintenanceWindowRequest>.Values("title", new[] { "", "   ", new string('t', 201) }, (m, v) => m.Title = v),
                .. Field<ScheduleMaintenanceWindowRequest>.Values("reason", new[] { new string('r', 2001) }, (m, v) => m.Reason = v),
            ]),
            Unary("Kpis", "CancelMaintenanceWindow", Role.Operator, () => new MaintenanceWindowRef { Id = "mw-none" },
                Field<MaintenanceWindowRef>.Values("id", new[] { "", "a b", new string('w', 10_000) }, (m, v) => m.Id = v)),

            // Budgets (tenants read their own; operators change)
            Unary("Budgets", "ListBudgets", Role.OperatorOrTenant, () => new ListBudgetsRequest { TenantId = w.Tenant.Id },
                Field<ListBudgetsRequest>.Values("tenant_id", new[] { "", "a b", new string('t', 10_000) }, (m, v) => m.TenantId = v)),
            Unary("Budgets", "PutBudget", Role.Operator, () => new PutBudgetRequest
            {
                TenantId = w.Tenant.Id, Name = FuzzWorld.BudgetName, Limit = "1000", Currency = "USD", Pool = FuzzWorld.CompliancePool,
            },
            [
                .. Field<PutBudgetRequest>.Values("name", new[] { "", "a b", new string('b', 65) }, (m, v) => m.Name = v),
                .. Field<PutBudgetRequest>.Values("limit", new[] { "", "0", "-1", "lots", "1e3" }, (m, v) => m.Limit = v),
                .. Field<PutBudgetRequest>.Values("currency", new[] { "", "EUR", "usd" }, (m, v) => m.Currency = v),
                .. Field<PutBudgetRequest>.Values("period", new[] { (BudgetPeriod)9 }, (m, v) => m.Period = v),
                .. Field<PutBudgetRequest>.Values("pool", new[] { new string('p', 101) }, (m, v) => m.Pool = v),
                Field<PutBudgetRequest>.On("alert_percents", "[100, 50]", m => m.AlertPercents.Add([100, 50])),
            ]),
            Unary("Budgets", "DeleteBudget", Role.Operator, () => new BudgetRef { TenantId = w.Tenant.Id, Name = "fz-never-set" },
                Field<BudgetRef>.Values("name", new[] { "", "../x", new string('b', 10_000) }, (m, v) => m.Name = v)),

            // Cost recommendations and autoscale policies (operators)
            Unary("Recommendations", "ListRecommendations", Role.Operator, () => new ListRecommendationsRequest(),
            [
                .. Field<ListRecommendationsRequest>.Values("kind", new[] { "Sideways", "0", "ScaleDown,ScaleUp" }, (m, v) => m.Kind = v),
                .. Field<ListRecommendationsRequest>.Values("status", new[] { "Closed", "9" }, (m, v) => m.Status = v),
                .. Field<ListRecommendationsRequest>.Values("pool", new[] { new string('p', 257) }, (m, v) => m.Pool = v),
            ]),
            Unary("Recommendations", "ApplyRecommendation", Role.Operator, () => new RecommendationRef { Id = FuzzWorld.RecommendationId },
                Field<RecommendationRef>.Values("id", new[] { "", "a b", new string('r', 10_000) }, (m, v) => m.Id = v)),
            Unary("Recommendations", "DismissRecommendation", Role.Operator,
                () => new MeshOs.Grpc.V1.DismissRecommendationRequest { Id = FuzzWorld.RecommendationId, Reason = "fuzz" },
            [
                .. Field<MeshOs.Grpc.V1.DismissRecommendationRequest>.Values("id", new[] { "", "a b", new string('r', 10_000) }, (m, v) => m.Id = v),
                .. Field<MeshOs.Grpc.V1.DismissRecommendationRequest>.Values("reason", new[] { "", "   ", new string('r', 501) }, (m, v) => m.Reason = v),
            ]),
            Unary("Routing", "GetPoolRouting", Role.Operator, () => new PoolRoutingRequest { Pool = FuzzWorld.CompliancePool },
            [
                .. Field<PoolRoutingRequest>.Values("pool", new[] { "", "UPPER", new string('p', 101) }, (m, v) => m.Pool = v),
                .. Field<PoolRoutingRequest>.Values("agent_id", new[] { new string('a', 201) }, (m, v) => m.AgentId = v),
            ]),
            Unary("Recommendations", "GetAutoscalePolicy", Role.Operator, () => new AutoscalePolicyRef { Pool = FuzzWorld.CompliancePool },
                Field<AutoscalePolicyRef>.Values("pool", new[] { "", "UPPER", new string('p', 101) }, (m, v) => m.Pool = v)),
            Unary("Recommendations", "PutAutoscalePolicy", Role.Operator,
                () => new AutoscalePolicy { Pool = FuzzWorld.CompliancePool, Enabled = false, MinAgents = 0, MaxAgents = 4, CooldownSeconds = 60 },
            [
                .. Field<AutoscalePolicy>.Values("pool", new[] { "", "UPPER", "a b", new string('p', 101) }, (m, v) => m.Pool = v),
                .. Field<AutoscalePolicy>.Values("min_agents", new[] { -1, 5, 100_001 }, (m, v) => m.MinAgents = v),
                .. Field<AutoscalePolicy>.Values("max_agents", new[] { 0, 100_001 }, (m, v) => m.MaxAgents = v),
                .. Field<AutoscalePolicy>.Values("cooldown_seconds", new[] { -1, 604_801 }, (m, v) => m.CooldownSeconds = v),
            ]),

            // Compliance (tenants read their own; operators change)
            Unary("Compliance", "ListPolicies", Role.OperatorOrTenant, () => new ListPoliciesRequest(), []),
            Unary("Compliance", "PutPolicy", Role.Operator, () => new CompliancePolicy
            {
                Id = FuzzWorld.CompliancePolicyId, Rule = "data-residency", Mode = PolicyMode.Audit, Severity = PolicySeverity.Low,
                ScopeKind = "pool", ScopeName = FuzzWorld.CompliancePool,
            },
            [
                .. Field<CompliancePolicy>.Values("id", new[] { "", "UPPER", "a b", new string('p', 65) }, (m, v) => m.Id = v),
                .. Field<CompliancePolicy>.Values("rule", new[] { "", "nope" }, (m, v) => m.Rule = v),
                .. Field<CompliancePolicy>.Values("mode", new[] { PolicyMode.Unspecified, (PolicyMode)9 }, (m, v) => m.Mode = v),
                .. Field<CompliancePolicy>.Values("severity", new[] { PolicySeverity.Unspecified, (PolicySeverity)9 }, (m, v) => m.Severity = v),
                .. Field<CompliancePolicy>.Values("scope_kind", new[] { "galaxy", "tenant " }, (m, v) => m.ScopeKind = v),
                .. Field<CompliancePolicy>.Values("scope_name", new[] { new string('n', 101) }, (m, v) => m.ScopeName = v),
                Field<CompliancePolicy>.On("settings", "{\"x\": \"1\"}", m => m.Settings["x"] = "1"),
            ]),
            Unary("Compliance", "DeletePolicy", Role.Operator, () => new PolicyRef { PolicyId = "fz-never-set" },
                Field<PolicyRef>.Values("policy_id", new[] { "", "../x", new string('p', 10_000) }, (m, v) => m.PolicyId = v)),
            Unary("Compliance", "PutAdvisory", Role.Operator, () => new VulnerabilityAdvisory { Id = FuzzWorld.AdvisoryId, Cvss = "1.0", FixedIn = "0.0.1", Summary = "fuzz" },
            [
                .. Field<VulnerabilityAdvisory>.Values("id", new[] { "", "a b", new string('a', 65) }, (m, v) => m.Id = v),
                .. Field<VulnerabilityAdvisory>.Values("cvss", new[] { "", "high", "10.1", "-1", "1e3" }, (m, v) => m.Cvss = v),
                .. Field<VulnerabilityAdvisory>.Values("fixed_in", new[] { "", "latest" }, (m, v) => m.FixedIn = v),
                .. Field<VulnerabilityAdvisory>.Values("introduced_in", new[] { "9.9.9", "x" }, (m, v) => m.IntroducedIn = v),
                .. Field<VulnerabilityAdvisory>.Values("published_at", BadTimestamps(), (m, v) => m.PublishedAt = v),
                .. Field<VulnerabilityAdvisory>.Values("summary", new[] { new string('s', 501) }, (m, v) => m.Summary = v),
            ]),
            Unary("Compliance", "DeleteAdvisory", Role.Operator, () => new AdvisoryRef { AdvisoryId = "fz-never-set" },
                Field<AdvisoryRef>.Values("advisory_id", new[] { "", "../x", new string('a', 10_000) }, (m, v) => m.AdvisoryId = v)),
            Unary("Compliance", "ListFindings", Role.OperatorOrTenant, () => new ListFindingsRequest { Limit = 10 },
            [
                .. Field<ListFindingsRequest>.Values("limit", [-1, 1_001, int.MinValue, int.MaxValue], (m, v) => m.Limit = v),
                .. Field<ListFindingsRequest>.Values("state", [4, 99, -1], (m, v) => m.State = (FindingState)v),
                .. Field<ListFindingsRequest>.Values("cursor", new[] { "%%%", new string('c', 257) }, (m, v) => m.Cursor = v),
                .. Field<ListFindingsRequest>.Values("policy_id", new[] { new string('p', 257) }, (m, v) => m.PolicyId = v),
            ]),
            Unary("Compliance", "WaiveFinding", Role.Operator, () => new WaiveFindingRequest
            {
                PolicyId = FuzzWorld.CompliancePolicyId, Subject = "agent/fz-nobody", Reason = "fuzz",
                Until = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
            },
            [
                .. Field<WaiveFindingRequest>.Values("policy_id", new[] { "", new string('p', 257) }, (m, v) => m.PolicyId = v),
                .. Field<WaiveFindingRequest>.Values("subject", new[] { "", new string('s', 257) }, (m, v) => m.Subject = v),
                .. Field<WaiveFindingRequest>.Values("reason", new[] { "", "   " }, (m, v) => m.Reason = v),
                .. Field<WaiveFindingRequest>.Values("until", BadTimestamps(), (m, v) => m.Until = v),
                Field<WaiveFindingRequest>.On("until", "in the past", m => m.Until = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1))),
                Field<WaiveFindingRequest>.On("until", "400 days away", m => m.Until = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(400))),
            ]),
            Unary("Compliance", "GetScore", Role.OperatorOrTenant, () => new GetScoreRequest(),
                Field<GetScoreRequest>.Values("tenant", new[] { new string('t', 257) }, (m, v) => m.Tenant = v)),
            Unary("Compliance", "Scan", Role.Operator, () => new ScanRequest(), []),
            // Cost (tenants read their own; operators read all and set rate cards)
            Unary("Cost", "GetReport", Role.OperatorOrTenant, () => new CostReportRequest(),
            [
                .. Field<CostReportRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<CostReportRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
                .. Field<CostReportRequest>.Values("period", new[] { "week", "1", new string('p', 257) }, (m, v) => m.Period = v),
                .. Field<CostReportRequest>.Values("group_by", new[] { "job", "1", "Tenant,Pool" }, (m, v) => m.GroupBy = v),
                .. Field<CostReportRequest>.Values("interval", new[] { "week", "7" }, (m, v) => m.Interval = v),
                .. Field<CostReportRequest>.Values("idle", new[] { "shared", "3" }, (m, v) => m.Idle = v),
                .. Field<CostReportRequest>.Values("tenant", [w.Other.Id, new string('t', 257)], (m, v) => m.Tenant = v),
                .. Field<CostReportRequest>.Values("pool", new[] { new string('p', 257) }, (m, v) => m.Pool = v),
                .. Field<CostReportRequest>.Values("capability", new[] { new string('c', 257) }, (m, v) => m.Capability = v),
                .. Field<CostReportRequest>.Values("agent", new[] { new string('a', 257) }, (m, v) => m.Agent = v),
            ]),
            Unary("Cost", "GetKpi", Role.OperatorOrTenant, () => new CostKpiRequest(),
            [
                .. Field<CostKpiRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<CostKpiRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
                .. Field<CostKpiRequest>.Values("period", new[] { "week", new string('p', 257) }, (m, v) => m.Period = v),
                .. Field<CostKpiRequest>.Values("tenant", [w.Other.Id, new string('t', 257)], (m, v) => m.Tenant = v),
                .. Field<CostKpiRequest>.Values("pool", new[] { new string('p', 257) }, (m, v) => m.Pool = v),
            ]),
            Unary("Cost", "GetJobCost", Role.OperatorOrTenant, () => new JobCostRequest { JobId = w.JobId },
                Field<JobCostRequest>.Values("job_id", jobIds, (m, v) => m.JobId = v)),
            Unary("Cost", "ListRateCards", Role.Operator, () => new ListRateCardsRequest(), []),
            Unary("Cost", "GetRateCard", Role.Operator, () => new RateCardRef { CardId = FuzzWorld.RateCardId },
                Field<RateCardRef>.Values("card_id", new[] { "", "../x", new string('a', 10_000) }, (m, v) => m.CardId = v)),
            Unary("Cost", "PutRateCard", Role.Operator, ValidRateCard,
            [
                .. Field<RateCard>.Values("id", new[] { "", "UPPER", "a b", new string('c', 65) }, (m, v) => m.Id = v),
                .. Field<RateCard>.Values("effective_from", BadTimestamps(), (m, v) => m.EffectiveFrom = v),
                Field<RateCard>.On("effective_from", "unset", m => m.EffectiveFrom = null),
                Field<RateCard>.On("effective_from", "in the past", m => m.EffectiveFrom = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1))),
                .. Field<RateCard>.Values("currency", new[] { "EUR", "usd", new string('c', 300) }, (m, v) => m.Currency = v),
                Field<RateCard>.On("agent_rates", "a negative rate", m => m.AgentRates[0].HourlyRate = "-1"),
                Field<RateCard>.On("agent_rates", "a rate that is not a number", m => m.AgentRates[0].HourlyRate = "cheap"),
                Field<RateCard>.On("agent_rates", "an empty pool", m => m.AgentRates[0].Pool = ""),
                Field<RateCard>.On("agent_rates", "201 rules", m => Replace(m.AgentRates, Enumerable.Range(0, 201).Select(_ => new AgentRate { Pool = "*", HourlyRate = "1" }))),
                Field<RateCard>.On("unit_prices", "a unit with a space", m => m.UnitPrices[0].Unit = "Tokens In"),
                Field<RateCard>.On("unit_prices", "a price of 1e30", m => m.UnitPrices[0].Price = "1000000000000000000000000000000"),
                .. Field<RateCard>.Values("note", new[] { new string('n', 501) }, (m, v) => m.Note = v),
            ]),
            Unary("Cost", "DeleteRateCard", Role.Operator, () => new RateCardRef { CardId = "fz-never-set" },
                Field<RateCardRef>.Values("card_id", new[] { "", "../x", new string('a', 10_000) }, (m, v) => m.CardId = v)),
            // Audit log (operators, and tenants for their own entries; Verify: operators)
            Unary("Audit", "Query", Role.OperatorOrTenant, () => new AuditQueryRequest { Limit = 10 },
            [
                .. Field<AuditQueryRequest>.Values("actor", [new string('a', 257), new string('a', 100_000)], (m, v) => m.Actor = v),
                .. Field<AuditQueryRequest>.Values("tenant", [w.Other.Id, new string('t', 257)], (m, v) => m.Tenant = v),
                .. Field<AuditQueryRequest>.Values("action", [new string('a', 257)], (m, v) => m.Action = v),
                .. Field<AuditQueryRequest>.Values("target", [new string('t', 257)], (m, v) => m.Target = v),
                .. Field<AuditQueryRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<AuditQueryRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
                Field<AuditQueryRequest>.On("from", "after to", m =>
                {
                    m.From = Timestamp.FromDateTimeOffset(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
                    m.To = Timestamp.FromDateTimeOffset(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
                }, alone: true),
                .. Field<AuditQueryRequest>.Values("cursor", ["not-a-cursor!", "-5", "0", "🙂"], (m, v) => m.Cursor = v),
                .. Field<AuditQueryRequest>.Values("limit", [-1, 1001, int.MinValue, int.MaxValue], (m, v) => m.Limit = v),
            ]),
            new("meshos.v1.Audit", "Export", MethodType.ServerStreaming, Role.OperatorOrTenant, () => [new AuditExportRequest { Action = "fz-none" }],
            [
                .. Field<AuditExportRequest>.Values("actor", [new string('a', 257)], (m, v) => m.Actor = v),
                .. Field<AuditExportRequest>.Values("tenant", [w.Other.Id, new string('t', 257)], (m, v) => m.Tenant = v),
                .. Field<AuditExportRequest>.Values("target", [new string('t', 257)], (m, v) => m.Target = v),
                .. Field<AuditExportRequest>.Values("from", BadTimestamps(), (m, v) => m.From = v),
                .. Field<AuditExportRequest>.Values("to", BadTimestamps(), (m, v) => m.To = v),
            ]),
            Unary("Audit", "Verify", Role.Operator, () => new AuditVerifyRequest(),
            [
                .. Field<AuditVerifyRequest>.Values("from", [0L, -1L, long.MinValue], (m, v) => m.From = v),
                .. Field<AuditVerifyRequest>.Values("to", [0L, -1L, long.MinValue], (m, v) => m.To = v),
            ]),

            // Agent and runtime streams (an agent credential: the enrollment token or a tenant key)
            new("meshos.v1.AgentChannel", "Connect", MethodType.DuplexStreaming, Role.Agent,
                () => [new AgentMessage { Register = ValidRegister(w, "fz-never-registered") }, .. AgentFollowUps(w)], RegisterAttacks(w)),
            new("meshos.v1.RuntimeChannel", "Connect", MethodType.DuplexStreaming, Role.Agent,
                () => [new RuntimeMessage { Hello = new RuntimeHello { RuntimeId = "fz-runtime", AgentIds = { w.AgentId } } }], RuntimeAttacks(w)),
        };

        CheckCoversEveryRpc(catalog);
        return catalog;
    }

    /// <summary>A valid submit: lands on a capability no agent serves (so, accepted, it would sit in the queue).</summary>
    public static SubmitJobRequest ValidSubmit() => new()
    {
        Type = "fuzz",
        Capability = FuzzWorld.IdleCapability,
        PayloadJson = "{\"n\":1}",
        Priority = 5,
        Timeout = new Duration { Seconds = 60 },
        Retry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = new Duration { Seconds = 1 }, MaxBackoff = new Duration { Seconds = 60 }, Multiplier = 2 },
        IdempotencyKey = "fz-never-created",
    };

    /// <summary>A valid registration of a new agent of <see cref="FuzzWorld.Tenant"/>.</summary>
    public static Register ValidRegister(FuzzWorld w, string agentId) => new()
    {
        AgentId = agentId,
        Pool = w.Tenant.Id,
        Capabilities = { w.AgentCapability },
        MaxConcurrency = 1,
        Version = "v1",
        Region = "local",
        CostPerHour = 0.5,
    };

    /// <summary>What a hostile agent sends after its first message: never read once the first is refused.</summary>
    private static IMessage[] AgentFollowUps(FuzzWorld w) =>
    [
        new AgentMessage { Result = new MeshOs.Grpc.V1.JobResult { JobId = w.OtherJobId, Epoch = 1, Succeeded = true, ResultJson = "{}" } },
        new AgentMessage { Released = new JobReleased { JobId = w.JobId, Epoch = 1, Reason = "fuzz" } },
    ];

    private static List<MessageAttack> SubmitAttacks(FuzzWorld w) =>
    [
        .. Field<SubmitJobRequest>.Values("type", ["", "a b", "t\u0000", "é", "\uFFFD", "<script>", "a\nb", .. LongStrings], (m, v) => m.Type = v),
        .. Field<SubmitJobRequest>.Values("capability", ["", "GPU", "c c", "c\u0000", "é", new string('c', 101)], (m, v) => m.Capability = v),
        .. Field<SubmitJobRequest>.Values("pool", [w.Other.Id, "gpu-reserved", "PLATFORM", "../platform", " platform", new string('p', 101)], (m, v) => m.Pool = v),
        .. Field<SubmitJobRequest>.Values("payload_json", ["", " ", "{", "nope", "NaN", "{\"a\":1,}", "[1,", "\"\\u12\"", "01", Deep(65), Deep(5_000),
            "\"" + new string('x', 300 * 1024) + "\""], (m, v) => m.PayloadJson = v),
        .. Field<SubmitJobRequest>.Values("priority", [-1, 10, int.MaxValue, int.MinValue], (m, v) => m.Priority = v),
        .. Field<SubmitJobRequest>.Values("timeout", [new Duration(), new Duration { Nanos = 500_000_000 }, new Duration { Seconds = 86_401 }, .. BadDurations(maxSeconds: 86_400)],
            (m, v) => m.Timeout = v),
        .. Field<SubmitJobRequest>.Values("retry.max_attempts", [-1, 21, int.MaxValue, int.MinValue], (m, v) => m.Retry.MaxAttempts = v),
        .. Field<SubmitJobRequest>.Values("retry.initial_backoff", [new Duration { Seconds = 3_601 }, .. BadDurations(maxSeconds: 3_600)], (m, v) => m.Retry.InitialBackoff = v),
        .. Field<SubmitJobRequest>.Values("retry.max_backoff", [new Duration { Seconds = 86_401 }, .. BadDurations(maxSeconds: 86_400)], (m, v) => m.Retry.MaxBackoff = v),
        Field<SubmitJobRequest>.On("retry", "max_backoff below initial_backoff", m =>
        {
            m.Retry.InitialBackoff = new Duration { Seconds = 100 };
            m.Retry.MaxBackoff = new Duration { Seconds = 10 };
        }),
        .. Field<SubmitJobRequest>.Values("retry.multiplier", [0.5, -1, 11, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue],
            (m, v) => m.Retry.Multiplier = v),
        .. Field<SubmitJobRequest>.Values("idempotency_key", [new string('k', 201), "clé", "a\tb", "k\u0000", "\u007f", "k\u2028"], (m, v) => m.IdempotencyKey = v),
    ];

    private static List<MessageAttack> RegisterAttacks(FuzzWorld w)
    {
        static MessageAttack Reg(string field, string detail, Action<Register> apply) =>
            new("register." + field, detail, stream => apply(((AgentMessage)stream[0]).Register));

        static MessageAttack First(string detail, AgentMessage first) => new("first message", detail, stream => stream[0] = first, Alone: true);

        return
        [
            // Agent ids are 1–128 of ASCII letters, digits and - _ . : / ("../x" is one).
            .. new[] { "", "a b", new string('a', 129), "é", "a\u0000", "a\nb", "a?b", "a%2Fb", "a\\b" }.Select(v => Reg("agent_id", Quote(v), r => r.AgentId = v)),
            Reg("agent_id", "another tenant's agent", r => r.AgentId = w.OtherAgentId),
            .. new[] { "platform", w.Other.Id, "UPPER", new string('p', 101), w.Other.Id + "/x" }.Select(v => Reg("pool", Quote(v), r => r.Pool = v)),
            Reg("capabilities", "none", r => r.Capabilities.Clear()),
            Reg("capabilities", "[\"UP\"]", r => r.Capabilities.Add("UP")),
            Reg("capabilities", "[\"\"]", r => r.Capabilities.Add("")),
            Reg("capabilities", "[\"ok\", \"Not OK\"]", r => r.Capabilities.Add(["ok", "Not OK"])),
            Reg("capabilities", "65 capabilities", r => Replace(r.Capabilities, Enumerable.Range(0, 65).Select(i => $"c{i}"))),
            .. new[] { 0, -1, 10_001, int.MinValue, int.MaxValue }.Select(v => Reg("max_concurrency", $"{v}", r => r.MaxConcurrency = v)),
            Reg("version", "65 characters", r => r.Version = new string('v', 65)),
            Reg("version", "a control character", r => r.Version = "v\u0001"),
            Reg("region", "65 characters", r => r.Region = new string('r', 65)),
            Reg("region", "a line break", r => r.Region = "eu\nwest"),
            .. new[] { -1, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1_000_001, double.MaxValue, -double.Epsilon }
                .Select(v => Reg("cost_per_hour", $"{v}", r => r.CostPerHour = v)),
            .. new[] { new string('r', 129), "a b", "é", "a/b", "a\u0000" }.Select(v => Reg("runtime_id", Quote(v), r => r.RuntimeId = v)),
            First("no message", new AgentMessage()),
            First("a heartbeat", new AgentMessage { Heartbeat = new Heartbeat { Load = 0.5 } }),
            First("a lease request", new AgentMessage { LeaseRequest = new LeaseRequest { Slots = 1 } }),
            First("a start of the world's job", new AgentMessage { Started = new JobStarted { JobId = w.JobId, Epoch = 1 } }),
            First("a result for another tenant's job", new AgentMessage { Result = new MeshOs.Grpc.V1.JobResult { JobId = w.OtherJobId, Epoch = 1, Succeeded = true } }),
            First("a release", new AgentMessage { Released = new JobReleased { JobId = w.JobId, Epoch = long.MaxValue } }),
            new("stream", "no messages at all", stream => stream.Clear(), Alone: true),
        ];
    }

    private static List<MessageAttack> RuntimeAttacks(FuzzWorld w)
    {
        static MessageAttack Hello(string field, string detail, Action<RuntimeHello> apply) =>
            new("hello." + field, detail, stream => apply(((RuntimeMessage)stream[0]).Hello));

        return
        [
            Hello("runtime_id", "empty", h => h.RuntimeId = ""),
            Hello("runtime_id", "129 characters", h => h.RuntimeId = new string('r', 129)),
            Hello("runtime_id", "100,000 characters", h => h.RuntimeId = new string('r', 100_000)),
            Hello("agent_ids", "100,001 ids", h => Replace(h.AgentIds, Enumerable.Range(0, 100_001).Select(i => $"a{i}"))),
            new("first message", "a report", stream => stream[0] = new RuntimeMessage { Report = new RuntimeReport { AgentId = w.AgentId, Restarted = true } }, Alone: true),
            new("first message", "no message", stream => stream[0] = new RuntimeMessage(), Alone: true),
            new("stream", "no messages at all", stream => stream.Clear(), Alone: true),
            new("second hello", "100,001 ids", stream =>
            {
                var hello = new RuntimeHello { RuntimeId = "fz-runtime" };
                hello.AgentIds.Add(Enumerable.Range(0, 100_001).Select(i => $"a{i}"));
                stream.Add(new RuntimeMessage { Hello = hello });
            }, Alone: true),
        ];
    }

    private static GrpcMethod AgentAction(string name, FuzzWorld w, IReadOnlyList<string> agentIds) =>
        Unary("Fleet", name, Role.Operator, () => new AgentAction { AgentId = w.AgentId, Reason = "fuzz" },
        [
            .. Field<AgentAction>.Values("agent_id", agentIds, (m, v) => m.AgentId = v),
            .. Field<AgentAction>.Reasons((m, v) => m.Reason = v),
        ]);

    /// <summary>Job ids the tenant cannot act on: malformed, unknown, another tenant's in several spellings.</summary>
    private static string[] ForeignJobIds(FuzzWorld w) =>
    [
        "", " ", "x", "not-a-uuid", "\u0000", "' OR '1'='1", "../" + w.JobId, w.JobId + "x", new string('a', 10_000), "🙂",
        "00000000-0000-0000-0000-000000000000", "c0ffee00-0000-4000-8000-000000000001",
        w.OtherJobId, w.OtherJobId.ToUpperInvariant(), "{" + w.OtherJobId + "}", w.OtherJobId.Replace("-", "", StringComparison.Ordinal),
    ];

    private static string[] UnknownIncidentIds() =>
        ["", " ", "\u0000", "a b", "inc-20990101-000000-abcdef", "../inc", "%2e%2e", new string('i', 101), new string('i', 100_000), "🙂"];

    private static string[] UnknownAgentIds() =>
        ["", " ", "\u0000", "a b", "nx-agent-never-registered", "é", "a?b", new string('a', 129), new string('a', 100_000), "🙂"];

    private static Timestamp[] BadTimestamps() =>
    [
        new() { Seconds = -62_135_596_801 },
        new() { Seconds = 253_402_300_800 },
        new() { Seconds = long.MaxValue },
        new() { Seconds = long.MinValue },
        new() { Nanos = -1 },
        new() { Nanos = 1_000_000_000 },
        new() { Seconds = 1, Nanos = int.MaxValue },
        new() { Seconds = long.MinValue, Nanos = int.MinValue },
    ];

    /// <summary>Durations that are negative, past <paramref name="maxSeconds"/>, or not normalized.</summary>
    private static Duration[] BadDurations(long maxSeconds) =>
    [
        new() { Seconds = -1 },
        new() { Nanos = -5 },
        new() { Seconds = -5, Nanos = 5 },
        new() { Seconds = 1, Nanos = -1 },
        new() { Seconds = maxSeconds + 1 },
        new() { Seconds = long.MaxValue },
        new() { Seconds = long.MinValue },
        new() { Seconds = 315_576_000_001 },
        new() { Nanos = 1_000_000_000 },
        new() { Seconds = 1, Nanos = 2_000_000_000 },
        new() { Seconds = 60, Nanos = int.MaxValue },
        new() { Seconds = -1, Nanos = int.MinValue },
    ];

    private static GrpcMethod Unary<T>(string service, string name, Role role, Func<T> template, IReadOnlyList<MessageAttack> invalid) where T : IMessage =>
        new($"meshos.v1.{service}", name, MethodType.Unary, role, () => [template()], invalid);

    /// <summary>Attacks on the fields of request message <typeparamref name="T"/>.</summary>
    private static class Field<T> where T : IMessage
    {
        public static MessageAttack[] Values<TValue>(string field, IEnumerable<TValue> values, Action<T, TValue> set) =>
            [.. values.Select(v => On(field, v is string s ? Quote(s) : $"{v}", m => set(m, v)))];

        public static MessageAttack On(string field, string detail, Action<T> apply, bool alone = false) =>
            new(field, detail, stream => apply((T)stream[0]), alone);

        public static MessageAttack[] Actors(Action<T, string> set) => Values("actor", [new string('a', 201), new string('a', 100_000)], set);

        public static MessageAttack[] Reasons(Action<T, string> set) => Values("reason", [new string('r', 501), new string('r', 100_000)], set);
    }

    /// <summary>Sets a list outright: an attack on its size must hold whatever another attack did to it before.</summary>
    private static void Replace<T>(Google.Protobuf.Collections.RepeatedField<T> list, IEnumerable<T> items)
    {
        list.Clear();
        list.Add(items);
    }

    private static string Quote(string value) => value.Length > 60 ? $"{value.Length:N0} × '{value[0]}'" : System.Text.Json.JsonSerializer.Serialize(value);

    private static string Deep(int depth) => new string('[', depth) + new string(']', depth);

    /// <summary>A valid card for the fuzz world's rate card (in force only in 2099).</summary>
    private static RateCard ValidRateCard() => new()
    {
        Id = FuzzWorld.RateCardId, EffectiveFrom = Timestamp.FromDateTimeOffset(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero)), Currency = "USD",
        AgentRates = { new AgentRate { Pool = FuzzWorld.CompliancePool, HourlyRate = "1.5" } },
        UnitPrices = { new UnitPrice { Unit = "tokens_in", Price = "0.000001" } },
        Note = "fuzz",
    };

    /// <summary>A scheduled window that is always valid: 60 days ahead, one hour, whole minutes.</summary>
    private static ScheduleMaintenanceWindowRequest ValidMaintenanceWindow()
    {
        var body = FuzzWorld.MaintenanceBody();
        return new ScheduleMaintenanceWindowRequest
        {
            Kind = "Scheduled", Title = "fuzz target",
            Start = Timestamp.FromDateTimeOffset(body["start"]!.GetValue<DateTimeOffset>()),
            End = Timestamp.FromDateTimeOffset(body["end"]!.GetValue<DateTimeOffset>()),
        };
    }

    /// <summary>Fails when a service of meshos.v1 has an RPC the catalog does not describe.</summary>
    private static void CheckCoversEveryRpc(IReadOnlyList<GrpcMethod> catalog)
    {
        var services = new[]
        {
            JobsReflection.Descriptor, AgentChannelReflection.Descriptor, OperationsReflection.Descriptor, RuntimeChannelReflection.Descriptor,
            ComplianceReflection.Descriptor,
            CostReflection.Descriptor,
            AuditReflection.Descriptor,
            BudgetsReflection.Descriptor,
            RecommendationsReflection.Descriptor,
            KpisReflection.Descriptor,
        }.SelectMany(file => file.Services);
        var missing = services.SelectMany(s => s.Methods.Select(m => $"{s.FullName}/{m.Name}"))
            .Except(catalog.Select(m => m.ToString()), StringComparer.Ordinal)
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException("RPCs missing from GrpcCatalog (say who may call them and what they refuse): " + string.Join(", ", missing));
        }
    }
}
