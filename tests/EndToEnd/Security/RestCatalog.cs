using System.Text.Json.Nodes;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>Who an endpoint is for.</summary>
public enum Role
{
    Operator,
    Tenant,

    /// <summary>Operators (every object) and tenants (their own).</summary>
    OperatorOrTenant,

    /// <summary>Agents: the enrollment token (platform agents) or a tenant key (the tenant's own agents).</summary>
    Agent,
}

/// <summary>A value for one body field (dotted path, array indexes as numbers) that the endpoint must refuse.</summary>
public sealed record FieldAttack(string Field, JsonNode? Value, bool Remove = false)
{
    public override string ToString() => Remove ? $"{Field} missing" : $"{Field} = {Describe.Clip(Value?.ToJsonString() ?? "null", 60)}";
}

/// <summary>
/// What the tests know about one REST operation beyond its OpenAPI description: who may call it, a valid body, and
/// values of its fields that are out of its domain (each must be refused on its own, whatever the other fields hold).
/// </summary>
/// <param name="Template">A valid body; the argument makes ids of created objects unique. Null: the operation takes no body.</param>
/// <param name="Invalid">Field values the operation must refuse.</param>
/// <param name="InvalidHeaders">Header values the operation must refuse.</param>
public sealed record RestEndpoint(Role Role, Func<string, JsonObject>? Template, IReadOnlyList<FieldAttack> Invalid,
    IReadOnlyList<KeyValuePair<string, string>>? InvalidHeaders = null);

/// <summary>
/// The catalog of every /v1 operation by operationId. An operation the OpenAPI document lists and the catalog does not
/// fails the fuzz tests: a new endpoint must say who may call it and what its valid and invalid bodies are.
/// </summary>
public static class RestCatalog
{
    public static string Repeat(int length, char c = 'x') => new(c, length);

    public static IReadOnlyDictionary<string, RestEndpoint> For(FuzzWorld w)
    {
        var submit = SubmitAttacks();
        return new Dictionary<string, RestEndpoint>(StringComparer.Ordinal)
        {
            // Tenants (operator)
            ["CreateTenant"] = new(Role.Operator, s => new JsonObject
            {
                ["id"] = $"fz-{s}",
                ["name"] = "fuzz",
                ["kind"] = "Customer",
                ["quotas"] = new JsonObject { ["maxConcurrentJobs"] = 10, ["submitsPerSecond"] = 10, ["submitBurst"] = 10, ["maxPayloadBytes"] = 1024, ["maxQueuedJobs"] = 10 },
                ["pools"] = new JsonArray("platform"),
            },
            [
                .. Values("id", null, "", "UPPER", "-lead", Repeat(64), "a b", "ä", "../x", "a\u0000b", Repeat(100_000), "platform"),
                new FieldAttack("id", null, Remove: true),
                .. TenantSettingAttacks(),
            ]),
            ["ListTenants"] = new(Role.Operator, null, []),
            ["GetTenant"] = new(Role.Operator, null, []),
            ["UpdateTenant"] = new(Role.Operator, _ => new JsonObject { ["name"] = "fuzz" }, TenantSettingAttacks()),
            ["DisableTenant"] = new(Role.Operator, null, []),
            ["EnableTenant"] = new(Role.Operator, null, []),
            ["IssueApiKey"] = new(Role.Operator, _ => new JsonObject { ["name"] = "fuzz" }, Values("name", "", "   ", Repeat(101), Repeat(100_000))),
            ["RevokeApiKey"] = new(Role.Operator, null, []),

            // Operator keys (operator)
            ["IssueOperatorKey"] = new(Role.Operator, _ => new JsonObject { ["name"] = "fuzz", ["owner"] = "fuzz", ["scope"] = "ReadOnly" },
            [
                .. Values("name", null, "", "   ", Repeat(101), Repeat(100_000), 5),
                .. Values("owner", null, "", "   ", Repeat(201), Repeat(100_000), true),
                .. Values("scope", null, "", "Root", 0, new JsonArray("Full")),
            ]),
            ["ReviewOperatorKeys"] = new(Role.Operator, null, []),
            ["RevokeOperatorKey"] = new(Role.Operator, null, []),
            ["EnrolOperatorKeyMfa"] = new(Role.Operator, null, []),
            ["ConfirmOperatorKeyMfa"] = new(Role.Operator, _ => new JsonObject { ["code"] = "123456" }, Values("code", null, "", Repeat(17), Repeat(100_000), 123456)),
            ["RemoveOperatorKeyMfa"] = new(Role.Operator, null, []),

            // Compliance (tenants read their own; operators change)
            ["ListCompliancePolicies"] = new(Role.OperatorOrTenant, null, []),
            ["PutCompliancePolicy"] = new(Role.Operator, _ => new JsonObject
            {
                ["rule"] = "data-residency",
                ["mode"] = "Audit",
                ["severity"] = "Low",
                ["scope"] = new JsonObject { ["kind"] = "pool", ["name"] = FuzzWorld.CompliancePool },
            },
            [
                .. Values("rule", null, "", "nope", 5),
                .. Values("mode", null, "Block", 1),
                .. Values("severity", null, "Extreme", 2),
                .. Values("scope", new JsonObject { ["kind"] = "galaxy" }, new JsonObject { ["kind"] = "mesh", ["name"] = "x" },
                    new JsonObject { ["kind"] = "tenant" }, new JsonObject { ["kind"] = "pool", ["name"] = Repeat(101) }),
                .. Values("settings", new JsonObject { ["maxUnusedDays"] = "30" }, new JsonObject { ["x"] = "1" }),
                .. Values("enabled", "yes"),
            ]),
            ["DeleteCompliancePolicy"] = new(Role.Operator, null, []),
            ["ListAdvisories"] = new(Role.Operator, null, []),
            ["PutAdvisory"] = new(Role.Operator, _ => new JsonObject { ["cvss"] = 1.0, ["fixedIn"] = "0.0.1", ["summary"] = "fuzz" },
            [
                .. Values("cvss", null, -0.1, 10.1, "high"),
                .. Values("fixedIn", null, "", "latest", Repeat(3_000)),
                .. Values("introducedIn", "9.9.9", "x"),
                .. Values("publishedAt", "yesterday", 5),
                .. Values("summary", Repeat(501)),
            ]),
            ["DeleteAdvisory"] = new(Role.Operator, null, []),
            ["ListFindings"] = new(Role.OperatorOrTenant, null, []),
            ["WaiveFinding"] = new(Role.Operator, _ => new JsonObject
            {
                ["policyId"] = FuzzWorld.CompliancePolicyId,
                ["subject"] = "agent/fz-nobody",
                ["reason"] = "fuzz",
                ["until"] = DateTimeOffset.UtcNow.AddDays(1).ToString("O"),
            },
            [
                .. Values("policyId", null, "", Repeat(257)),
                .. Values("subject", null, "", Repeat(257)),
                .. Values("until", null, "soon", DateTimeOffset.UtcNow.AddDays(-1).ToString("O"), DateTimeOffset.UtcNow.AddDays(400).ToString("O")),
            ]),
            ["GetComplianceScore"] = new(Role.OperatorOrTenant, null, []),
            ["ScanCompliance"] = new(Role.Operator, null, []),

            // Budgets (tenants read their own; operators change)
            ["ListBudgets"] = new(Role.OperatorOrTenant, null, []),
            ["PutBudget"] = new(Role.Operator, _ => new JsonObject
            {
                ["limit"] = 1000.5m,
                ["currency"] = "USD",
                ["alertPercents"] = new JsonArray(50, 100),
                ["pool"] = FuzzWorld.CompliancePool,
            },
            [
                .. Values("limit", null, 0, -1, 1e13, 0.0000001, "lots"),
                .. Values("currency", null, "", "EUR", "usd", Repeat(300)),
                .. Values("period", "Weekly", 9),
                .. Values("from", "soon", DateTimeOffset.UtcNow.ToString("O")),
                .. Values("alertPercents", new JsonArray(100, 50), new JsonArray(0), new JsonArray(1_001), new JsonArray(80, 80), "80"),
                .. Values("pool", "", Repeat(101)),
                .. Values("capability", "", Repeat(101)),
            ]),
            ["DeleteBudget"] = new(Role.Operator, null, []),
            // Cost (tenants read their own; operators read all and set rate cards)
            ["GetCostReport"] = new(Role.OperatorOrTenant, null, []),
            ["GetCostKpi"] = new(Role.OperatorOrTenant, null, []),
            ["GetJobCost"] = new(Role.OperatorOrTenant, null, []),
            ["ListRateCards"] = new(Role.Operator, null, []),
            ["GetRateCard"] = new(Role.Operator, null, []),
            ["PutRateCard"] = new(Role.Operator, _ => FuzzWorld.RateCardBody(),
            [
                .. Values("effectiveFrom", null, "soon", "2001-01-01T00:00:00Z", 5),
                new FieldAttack("effectiveFrom", null, Remove: true),
                .. Values("currency", "", "EUR", "usd", 840, Repeat(300)),
                .. Values("agentRates", "x", new JsonArray(1), new JsonArray((JsonNode?)null),
                    new JsonArray(new JsonObject { ["pool"] = "", ["hourlyRate"] = 1 }),
                    new JsonArray(new JsonObject { ["pool"] = FuzzWorld.CompliancePool, ["hourlyRate"] = -1 }),
                    new JsonArray(new JsonObject { ["pool"] = FuzzWorld.CompliancePool, ["hourlyRate"] = 1e30 }),
                    new JsonArray(new JsonObject { ["pool"] = FuzzWorld.CompliancePool, ["hourlyRate"] = "cheap" }),
                    new JsonArray([.. Enumerable.Range(0, 201).Select(_ => (JsonNode)new JsonObject { ["pool"] = "*", ["hourlyRate"] = 1 })])),
                .. Values("unitPrices", "x", new JsonArray(new JsonObject { ["unit"] = "Tokens In", ["price"] = 1 }),
                    new JsonArray(new JsonObject { ["unit"] = "tokens_in", ["price"] = -0.1 }),
                    new JsonArray(new JsonObject { ["unit"] = "t", ["price"] = 1 }, new JsonObject { ["unit"] = "t", ["price"] = 2 })),
                .. Values("note", Repeat(501), 5),
            ]),
            ["DeleteRateCard"] = new(Role.Operator, null, []),
            // KPIs, SLOs, SLA reports (tenants read their own; the mesh's are operators'); maintenance windows (everyone reads, operators change)
            // Adaptive routing (operators read)
            ["GetPoolRouting"] = new(Role.Operator, null, []),

            ["GetMeshKpis"] = new(Role.Operator, null, []),
            ["GetTenantKpis"] = new(Role.OperatorOrTenant, null, []),
            ["GetKpiSeries"] = new(Role.OperatorOrTenant, null, []),
            ["GetSlo"] = new(Role.OperatorOrTenant, null, []),
            ["GetSlaReport"] = new(Role.OperatorOrTenant, null, []),
            ["ListMaintenanceWindows"] = new(Role.OperatorOrTenant, null, []),
            ["GetMaintenanceWindow"] = new(Role.OperatorOrTenant, null, []),
            ["ScheduleMaintenanceWindow"] = new(Role.Operator, _ => FuzzWorld.MaintenanceBody(),
            [
                .. Values("kind", null, "", "Recurring", "Sometimes", "1"),
                new FieldAttack("kind", null, Remove: true),
                .. Values("start", "2001-01-01T00:00:00Z", "notadate", "2099-01-01T00:00:30Z"),
                new FieldAttack("start", null, Remove: true),
                .. Values("end", "2001-01-01T00:00:00Z", "notadate"),
                new FieldAttack("end", null, Remove: true),
                .. Values("title", null, "", "   ", Repeat(201)),
                new FieldAttack("title", null, Remove: true),
                .. Values("reason", Repeat(2001)),
            ]),
            ["CancelMaintenanceWindow"] = new(Role.Operator, null, []),

            // Cost recommendations and autoscale policies (operators)
            ["ListRecommendations"] = new(Role.Operator, null, []),
            ["ApplyRecommendation"] = new(Role.Operator, null, []),
            ["DismissRecommendation"] = new(Role.Operator, _ => new JsonObject { ["reason"] = "fuzz" },
            [
                .. Values("reason", null, "", "   ", Repeat(501), 5),
            ]),
            ["GetAutoscalePolicy"] = new(Role.Operator, null, []),
            ["PutAutoscalePolicy"] = new(Role.Operator, _ => new JsonObject
            {
                ["pool"] = FuzzWorld.CompliancePool,
                ["enabled"] = false,
                ["minAgents"] = 0,
                ["maxAgents"] = 4,
                ["cooldownSeconds"] = 60,
            },
            [
                .. Values("pool", null, "", "UPPER", "a b", Repeat(101)),
                .. Values("enabled", null, "yes"),
                .. Values("minAgents", null, -1, 5, 100_001, "x"),
                .. Values("maxAgents", null, 0, 100_001),
                .. Values("cooldownSeconds", null, -1, 604_801),
            ]),

            ["ListPoolGrants"] = new(Role.OperatorOrTenant, null, []),
            ["GrantPool"] = new(Role.OperatorOrTenant, _ => new JsonObject { ["grantee"] = "platform", ["pool"] = w.Tenant.Id + "/fuzz" }, GrantAttacks(w)),
            ["RevokePoolGrant"] = new(Role.OperatorOrTenant, _ => new JsonObject { ["grantee"] = "platform", ["pool"] = w.Tenant.Id + "/fuzz" }, GrantAttacks(w)),

            // Jobs (tenant)
            ["SubmitJob"] = new(Role.Tenant, _ => ValidSubmit(), submit,
                [new("Idempotency-Key", Repeat(201, 'k')), new("Idempotency-Key", "\u007f")]),
            ["SubmitJobBatch"] = new(Role.Tenant, _ => new JsonObject { ["jobs"] = new JsonArray(ValidSubmit()) },
            [
                .. Values("jobs", null, new JsonArray(), new JsonArray([.. Enumerable.Range(0, 501).Select(_ => (JsonNode)ValidSubmit())]),
                    new JsonArray((JsonNode?)null)),
                new FieldAttack("jobs", null, Remove: true),
                .. submit.Select(a => a with { Field = "jobs.0." + a.Field }),
            ]),
            ["ListJobs"] = new(Role.Tenant, null, []),
            ["GetJob"] = new(Role.OperatorOrTenant, null, []),
            ["CancelJob"] = new(Role.Tenant, _ => new JsonObject { ["reason"] = "fuzz" }, Values("reason", Repeat(501), Repeat(100_000))),
            ["JobEvents"] = new(Role.Tenant, null, []),

            // Agents
            ["ListAgents"] = new(Role.OperatorOrTenant, null, []),
            ["GetAgent"] = new(Role.OperatorOrTenant, null, []),
            ["DrainAgent"] = new(Role.OperatorOrTenant, _ => new JsonObject { ["reason"] = "fuzz" }, Values("reason", Repeat(100_000))),
            ["DeregisterAgent"] = new(Role.OperatorOrTenant, null, []),
            ["QuarantineAgent"] = new(Role.Operator, _ => new JsonObject { ["reason"] = "fuzz", ["probationMinutes"] = 1 },
            [
                .. Values("probationMinutes", -1, 43_201, 1e308, -1e308),
                .. Values("reason", Repeat(100_000)),
            ]),
            ["ReleaseAgent"] = new(Role.Operator, _ => new JsonObject { ["reason"] = "fuzz" }, Values("reason", Repeat(100_000))),
            ["RestartAgent"] = new(Role.Operator, _ => new JsonObject { ["reason"] = "fuzz" }, Values("reason", Repeat(100_000))),

            // Agent protocol (a tenant key acts for the tenant's own agents)
            ["AgentRegister"] = new(Role.Agent, s => new JsonObject
            {
                ["agentId"] = $"fz-new-{s}",
                ["pool"] = w.Tenant.Id,
                ["capabilities"] = new JsonArray(w.AgentCapability),
                ["maxConcurrency"] = 1,
                ["version"] = "v1",
                ["region"] = "local",
                ["costPerHour"] = 0.5,
            },
            [
                .. Values("agentId", null, "", "a b", Repeat(129), "ä", "a\u0000b"),
                .. Values("pool", "platform", w.Other.Id, "UPPER", Repeat(101)),
                .. Values("capabilities", null, new JsonArray(), new JsonArray("UP"), new JsonArray((JsonNode?)null),
                    new JsonArray([.. Enumerable.Range(0, 65).Select(i => (JsonNode)$"c{i}")])),
                .. Values("maxConcurrency", 0, -1, 10_001),
                .. Values("version", Repeat(65)),
                .. Values("region", Repeat(65)),
                .. Values("costPerHour", -1, 1_000_001, 1e308),
                .. Values("runtimeId", Repeat(129), "a b"),
            ]),
            ["AgentHeartbeat"] = new(Role.Agent, _ => new JsonObject { ["load"] = 0.5 },
            [
                .. Values("load", -1, 1_001, 1e308),
                .. Values("inFlight", new JsonArray(new JsonObject { ["jobId"] = "not-a-uuid", ["epoch"] = 1 }),
                    new JsonArray(new JsonObject { ["jobId"] = null, ["epoch"] = 1 })),
                .. Values("metrics", new JsonObject([.. Enumerable.Range(0, 65).Select(i => KeyValuePair.Create($"m{i}", (JsonNode?)1))]),
                    new JsonObject { [Repeat(101)] = 1 }),
            ]),
            ["AgentLease"] = new(Role.Agent, _ => new JsonObject { ["slots"] = 1, ["waitSeconds"] = 0 },
            [
                .. Values("slots", 0, -1, 2, int.MaxValue),
                .. Values("waitSeconds", -1, 61, 1e308),
            ]),
            ["AgentStartJob"] = new(Role.Agent, _ => new JsonObject { ["epoch"] = 1 }, Values("epoch", -1, long.MinValue)),
            ["AgentCompleteJob"] = new(Role.Agent, _ => new JsonObject { ["epoch"] = 1, ["result"] = new JsonObject(), ["tokensIn"] = 0, ["tokensOut"] = 0, ["cost"] = 0 },
            [
                .. Values("tokensIn", -1),
                .. Values("tokensOut", -1),
                .. Values("cost", -1),
                .. Values("epoch", -1),
            ]),
            ["AgentFailJob"] = new(Role.Agent, _ => new JsonObject { ["epoch"] = 1, ["error"] = "e", ["retryable"] = false, ["tokensIn"] = 0, ["tokensOut"] = 0, ["cost"] = 0 },
            [
                .. Values("tokensIn", -1),
                .. Values("cost", -1),
                .. Values("epoch", 0, -1),
            ]),
            ["AgentReleaseJob"] = new(Role.Agent, _ => new JsonObject { ["epoch"] = 1, ["reason"] = "fuzz" }, Values("epoch", -1)),

            // Incidents and healing (operator)
            ["ListIncidents"] = new(Role.Operator, null, []),
            ["IncidentReport"] = new(Role.Operator, null, []),
            ["OpenIncident"] = new(Role.Operator, s => new JsonObject
            {
                ["severity"] = "P3",
                ["title"] = "fuzz",
                ["detail"] = "d",
                ["dedupKey"] = $"fz-{s}",
                ["actor"] = "fuzzer",
            },
            [
                .. Values("severity", null, "P9", "Critical", 9, -1),
                new FieldAttack("severity", null, Remove: true),
                .. Values("title", null, "", "   ", Repeat(501)),
                .. Values("detail", Repeat(4_001)),
                .. Values("dedupKey", "", Repeat(201)),
                .. Values("actor", "", Repeat(201)),
            ]),
            ["GetIncident"] = new(Role.Operator, null, []),
            ["AcknowledgeIncident"] = new(Role.Operator, _ => new JsonObject { ["actor"] = "fuzzer" }, Values("actor", "", Repeat(201))),
            ["AssignIncident"] = new(Role.Operator, _ => new JsonObject { ["commander"] = "alice", ["actor"] = "fuzzer" },
            [
                .. Values("commander", null, "", "   ", Repeat(201)),
                .. Values("actor", "", Repeat(201)),
            ]),
            ["AnnotateIncident"] = new(Role.Operator, _ => new JsonObject { ["message"] = "m", ["actor"] = "fuzzer" },
            [
                .. Values("message", null, "", Repeat(4_001)),
                .. Values("actor", "", Repeat(201)),
            ]),
            ["AdvanceIncident"] = new(Role.Operator, _ => new JsonObject { ["state"] = "Investigating", ["actor"] = "fuzzer" },
            [
                .. Values("state", null, "Resolved", "Detected", "PostMortem", "Exploded", 99),
                .. Values("actor", "", Repeat(201)),
            ]),
            ["ResolveIncident"] = new(Role.Operator, _ => new JsonObject { ["resolution"] = "r", ["actor"] = "fuzzer" },
            [
                .. Values("resolution", "", Repeat(4_001)),
                .. Values("actor", "", Repeat(201)),
            ]),
            ["AttachPostMortem"] = new(Role.Operator, _ => new JsonObject { ["summary"] = "s", ["rootCause"] = "r", ["actionItems"] = new JsonArray("a"), ["author"] = "fuzzer" },
            [
                .. Values("summary", null, "", Repeat(20_001)),
                .. Values("rootCause", null, "", Repeat(20_001)),
                .. Values("actionItems", new JsonArray(""), new JsonArray(Repeat(1_001)), new JsonArray([.. Enumerable.Range(0, 101).Select(i => (JsonNode)$"a{i}")])),
                .. Values("author", "", Repeat(201)),
            ]),
            ["HealingReport"] = new(Role.Operator, null, []),
            ["ListRemediations"] = new(Role.Operator, null, []),

            // Audit log
            ["QueryAuditLog"] = new(Role.OperatorOrTenant, null, []),
            ["ExportAuditLog"] = new(Role.OperatorOrTenant, null, []),
            ["VerifyAuditLog"] = new(Role.Operator, null, []),
        };
    }

    /// <summary>
    /// Values a query parameter must refuse (400), or, when <c>Free</c>, odd values it may accept (a free-text filter).
    /// </summary>
    public static (string[] Values, bool Free) QueryAttacks(string operationId, string parameter)
    {
        string[] numbers = ["0", "-1", "2147483648", "ten", "1.5", "-2147483649"];
        string[] dates = ["notadate", "2030-13-45T00:00:00Z", "99999-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1e20"];
        string[] odd = ["'; DROP TABLE meshos_jobs; --", "\u202Eevil", "%00", "🙂", Repeat(3_000), "platform"];
        return (operationId, parameter) switch
        {
            ("ListJobs", "limit") or ("ListIncidents", "limit") => ([.. numbers, "501"], false),
            ("ListAgents", "limit") or ("ListTenants", "limit") => ([.. numbers, "1001"], false),
            ("ListRemediations", "limit") => ([.. numbers, "10001"], false),
            ("QueryAuditLog", "limit") => ([.. numbers, "1001"], false),
            ("QueryAuditLog", "cursor") => (["not-a-cursor!", "-5", "0"], false),
            ("QueryAuditLog" or "ExportAuditLog", "actor" or "tenant" or "action" or "target") => ([Repeat(257)], false),
            ("VerifyAuditLog", "from" or "to") => (["0", "-1", "x"], false),
            ("QueryAuditLog" or "ExportAuditLog", "from") => (dates, false),
            ("ListFindings", "limit") => ([.. numbers, "1001"], false),
            ("ListFindings", "state") => (["Exploded", "99", "-1", "Open,Resolved"], false),
            ("ListFindings" or "GetComplianceScore", "tenant") or ("ListFindings", "policy") => ([Repeat(257)], false),
            ("GetCostReport" or "GetCostKpi", "from") => (dates, false),
            ("GetCostReport" or "GetCostKpi", "period") => (["week", "Day;", "1", Repeat(257)], false),
            ("GetCostReport", "groupBy") => (["job", "1", "-1", "Tenant,Pool", Repeat(257)], false),
            ("GetCostReport", "interval") => (["week", "7", "Day,Hour"], false),
            ("GetCostReport", "idle") => (["shared", "3", "Even,Separate"], false),
            ("GetCostReport" or "GetCostKpi", "tenant" or "pool") or ("GetCostReport", "agent" or "capability") => ([Repeat(257)], false),
            ("ListRecommendations", "pool") => ([Repeat(257)], false),
            ("ListRecommendations", "kind") => (["Sideways", "1", "-1", "ScaleDown,ScaleUp"], false),
            ("ListRecommendations", "status") => (["Closed", "9", "Open,Applied"], false),
            ("GetAutoscalePolicy", "pool") => (["UPPER", "a b", Repeat(101)], false),
            ("GetPoolRouting", "pool") => (["UPPER", "a b", Repeat(101)], false),
            ("GetPoolRouting", "agentId") => ([Repeat(201)], false),
            ("HealingReport", "recent") => (["-1", "-2147483648", "2147483648", "x"], false),
            ("ListJobs", "status") => (["Exploded", "99", "3", "-1", "Leased,Running", ""], false),
            ("ListJobs", "cursor") => (["not-a-cursor!", "AAAA", Repeat(101, 'c')], false),
            ("ListJobs", "type") => ([Repeat(101, 't')], false),
            ("ListIncidents", "severity") => (["P9", "9", "-1", "Critical", "P0,P1"], false),
            ("ListIncidents", "state") => (["Exploded", "99", "Detected,Resolved"], false),
            ("ListIncidents", "open") => (["maybe", "2", "yes"], false),
            ("GetMeshKpis" or "GetTenantKpis" or "GetSlo" or "GetKpiSeries" or "ListMaintenanceWindows", "from") => (dates, false),
            ("GetMeshKpis" or "GetTenantKpis" or "GetSlo", "period") => (["week", "Day;", "1", Repeat(257)], false),
            ("GetSlo" or "GetKpiSeries", "tenant") => ([Repeat(257)], false),
            ("GetKpiSeries", "resolution") => (["1w", "1", "1h;", "60", Repeat(257)], false),
            ("ListMaintenanceWindows", "includeCancelled") => (["maybe", "2", "yes"], false),
            (_, "createdFrom" or "createdTo" or "detectedFrom" or "detectedTo" or "to") => (dates, false),
            ("IncidentReport", "from") => ([.. dates, "2999-01-01T00:00:00Z"], false),
            (_, "cursor" or "owner" or "subject") => (odd, true),
            _ => throw new InvalidOperationException(
                $"Query parameter '{parameter}' of {operationId} is not in the catalog: add what it must refuse to RestCatalog.QueryAttacks."),
        };
    }

    private static FieldAttack[] GrantAttacks(FuzzWorld w) =>
    [
        .. Values("grantee", null, "", "UPPER", "a b", w.Tenant.Id, Repeat(201)),
        new FieldAttack("grantee", null, Remove: true),
        .. Values("pool", null, "", "platform", w.Other.Id, w.Other.Id + "/x", "UPPER", Repeat(101)),
        new FieldAttack("pool", null, Remove: true),
    ];

    private static JsonObject ValidSubmit() => new()
    {
        ["type"] = "fuzz",
        ["capability"] = FuzzWorld.IdleCapability,
        ["payload"] = new JsonObject { ["note"] = "fuzz" },
    };

    private static FieldAttack[] SubmitAttacks() =>
    [
        .. Values("type", null, "", "a b", Repeat(101), "ä", "a\u0000b", Repeat(100_000)),
        new FieldAttack("type", null, Remove: true),
        .. Values("capability", null, "", "GPU", Repeat(101, 'c'), "a b"),
        .. Values("pool", "not-granted", "UPPER"),
        .. Values("payload", null, Repeat(300_000)),
        new FieldAttack("payload", null, Remove: true),
        .. Values("priority", -1, 10, int.MaxValue, int.MinValue),
        .. Values("timeoutSeconds", 0, 0.5, -1, 86_401, 864_001, 1e308),
        .. Values("maxAttempts", 0, -1, 21, int.MaxValue),
        .. Values("initialBackoffSeconds", -1, 3_601, 1e308),
        .. Values("maxBackoffSeconds", -1, 86_401, 1e308, 0.5),
        .. Values("backoffMultiplier", 0, 0.5, 10.5, -1, 1e308),
        .. Values("idempotencyKey", Repeat(201, 'k'), "ключ", "tab\tkey", "\u0001"),
    ];

    private static FieldAttack[] TenantSettingAttacks() =>
    [
        .. Values("name", "", "   ", Repeat(201)),
        .. Values("kind", "Overlord", 7, -1),
        .. Values("quotas.maxConcurrentJobs", 0, -1, 1_000_001),
        .. Values("quotas.submitsPerSecond", 0, -1, 0.05, 1e7),
        .. Values("quotas.submitBurst", 0, -1, 10_000_001),
        .. Values("quotas.maxPayloadBytes", 1, 4 * 1024 * 1024 + 1, -1),
        .. Values("quotas.maxQueuedJobs", 0, 10_000_001),
        .. Values("pools", new JsonArray(""), new JsonArray("UPPER"), new JsonArray((JsonNode?)null), new JsonArray(Repeat(101, 'p')),
            new JsonArray([.. Enumerable.Range(0, 101).Select(i => (JsonNode)$"p{i}")])),
    ];

    private static FieldAttack[] Values(string field, params JsonNode?[] values) => [.. values.Select(v => new FieldAttack(field, v))];
}
