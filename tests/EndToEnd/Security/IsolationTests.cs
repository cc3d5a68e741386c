using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Tests.EndToEnd.Kernel;
using MeshOs.Testing;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>What an operation has to do with a tenant's objects, which decides what another tenant's key must get.</summary>
public enum Isolation
{
    /// <summary>Operator only: a tenant key is forbidden (403), whatever it names.</summary>
    Operator,

    /// <summary>Names one of the caller's jobs ({jobId}): another tenant's job is 404, answered exactly as a missing one.</summary>
    TenantJob,

    /// <summary>Names one of the caller's agents ({agentId}): another tenant's agent is 404.</summary>
    TenantAgent,

    /// <summary>
    /// An agent's report about a job ({agentId} and {jobId}): another tenant's agent is 404, and so is another tenant's
    /// job reported on by the caller's own agent, even under the lease's real epoch.
    /// </summary>
    AgentJob,

    /// <summary>
    /// Names no object in its path and acts within the caller's own tenant (listing, submitting, registering): another
    /// tenant's objects never appear in it and cannot be reached or changed through it (checked one by one).
    /// </summary>
    CallerScope,
}

/// <summary>
/// Tenant isolation over the whole API (OWASP API1, broken object level authorization; API5, broken function level
/// authorization): every REST operation the OpenAPI document lists and every gRPC method the descriptors list is
/// classified here, and the class says what a second tenant's key, a tenant key on an operator operation, and a
/// missing or bad key must get. An operation added without a class fails the classification tests. Another tenant's
/// object is answered exactly as a missing one (same status, title and detail but for the id), so no answer tells a
/// tenant that another's job or agent exists, and nothing of the first tenant's changes.
/// </summary>
[Collection(IsolationCollection.Name)]
public sealed class IsolationTests(EmbeddedKernelFixture fixture, ITestOutputHelper output)
{
    /// <summary>Every /v1 operation by operationId.</summary>
    public static IReadOnlyDictionary<string, Isolation> RestClasses { get; } = new Dictionary<string, Isolation>(StringComparer.Ordinal)
    {
        ["CreateTenant"] = Isolation.Operator,
        ["ListTenants"] = Isolation.Operator,
        ["GetTenant"] = Isolation.Operator,
        ["UpdateTenant"] = Isolation.Operator,
        ["DisableTenant"] = Isolation.Operator,
        ["EnableTenant"] = Isolation.Operator,
        ["IssueApiKey"] = Isolation.Operator,
        ["RevokeApiKey"] = Isolation.Operator,
        ["IssueOperatorKey"] = Isolation.Operator,
        ["ReviewOperatorKeys"] = Isolation.Operator,
        ["RevokeOperatorKey"] = Isolation.Operator,
        ["EnrolOperatorKeyMfa"] = Isolation.Operator,
        ["ConfirmOperatorKeyMfa"] = Isolation.Operator,
        ["RemoveOperatorKeyMfa"] = Isolation.Operator,
        ["ListPoolGrants"] = Isolation.CallerScope,
        ["QueryAuditLog"] = Isolation.CallerScope,
        ["ExportAuditLog"] = Isolation.CallerScope,
        ["VerifyAuditLog"] = Isolation.Operator,
        ["GrantPool"] = Isolation.CallerScope,
        ["RevokePoolGrant"] = Isolation.CallerScope,

        ["SubmitJob"] = Isolation.CallerScope,
        ["SubmitJobBatch"] = Isolation.CallerScope,
        ["ListJobs"] = Isolation.CallerScope,
        ["GetJob"] = Isolation.TenantJob,
        ["CancelJob"] = Isolation.TenantJob,
        ["JobEvents"] = Isolation.TenantJob,

        ["ListAgents"] = Isolation.CallerScope,
        ["GetAgent"] = Isolation.TenantAgent,
        ["DrainAgent"] = Isolation.TenantAgent,
        ["DeregisterAgent"] = Isolation.TenantAgent,
        ["QuarantineAgent"] = Isolation.Operator,
        ["ReleaseAgent"] = Isolation.Operator,
        ["RestartAgent"] = Isolation.Operator,

        ["AgentRegister"] = Isolation.CallerScope,
        ["AgentHeartbeat"] = Isolation.TenantAgent,
        ["AgentLease"] = Isolation.TenantAgent,
        ["AgentStartJob"] = Isolation.AgentJob,
        ["AgentCompleteJob"] = Isolation.AgentJob,
        ["AgentFailJob"] = Isolation.AgentJob,
        ["AgentReleaseJob"] = Isolation.AgentJob,

        ["ListIncidents"] = Isolation.Operator,
        ["IncidentReport"] = Isolation.Operator,
        ["OpenIncident"] = Isolation.Operator,
        ["GetIncident"] = Isolation.Operator,
        ["AcknowledgeIncident"] = Isolation.Operator,
        ["AssignIncident"] = Isolation.Operator,
        ["AnnotateIncident"] = Isolation.Operator,
        ["AdvanceIncident"] = Isolation.Operator,
        ["ResolveIncident"] = Isolation.Operator,
        ["AttachPostMortem"] = Isolation.Operator,
        ["HealingReport"] = Isolation.Operator,
        ["ListRemediations"] = Isolation.Operator,

        ["ListCompliancePolicies"] = Isolation.CallerScope,
        ["PutCompliancePolicy"] = Isolation.Operator,
        ["DeleteCompliancePolicy"] = Isolation.Operator,
        ["ListAdvisories"] = Isolation.Operator,
        ["PutAdvisory"] = Isolation.Operator,
        ["DeleteAdvisory"] = Isolation.Operator,
        ["ListFindings"] = Isolation.CallerScope,
        ["WaiveFinding"] = Isolation.Operator,
        ["GetComplianceScore"] = Isolation.CallerScope,
        ["ScanCompliance"] = Isolation.Operator,

        ["ListBudgets"] = Isolation.CallerScope,
        ["PutBudget"] = Isolation.Operator,
        ["DeleteBudget"] = Isolation.Operator,
        ["GetCostReport"] = Isolation.CallerScope,
        ["GetCostKpi"] = Isolation.CallerScope,
        ["GetJobCost"] = Isolation.TenantJob,
        ["ListRateCards"] = Isolation.Operator,
        ["GetRateCard"] = Isolation.Operator,
        ["PutRateCard"] = Isolation.Operator,
        ["DeleteRateCard"] = Isolation.Operator,
        ["ListRecommendations"] = Isolation.Operator,
        ["ApplyRecommendation"] = Isolation.Operator,
        ["DismissRecommendation"] = Isolation.Operator,
        ["GetAutoscalePolicy"] = Isolation.Operator,
        ["GetPoolRouting"] = Isolation.Operator,
        ["PutAutoscalePolicy"] = Isolation.Operator,

        ["GetMeshKpis"] = Isolation.Operator,
        ["GetTenantKpis"] = Isolation.CallerScope,
        ["GetKpiSeries"] = Isolation.CallerScope,
        ["GetSlo"] = Isolation.CallerScope,
        ["GetSlaReport"] = Isolation.CallerScope,
        ["ListMaintenanceWindows"] = Isolation.CallerScope,
        ["GetMaintenanceWindow"] = Isolation.CallerScope,
        ["ScheduleMaintenanceWindow"] = Isolation.Operator,
        ["CancelMaintenanceWindow"] = Isolation.Operator,
    };

    /// <summary>How a gRPC method relates to tenants' objects.</summary>
    public enum RpcIsolation
    {
        /// <summary>Operator services: a tenant key is PermissionDenied.</summary>
        Operator,

        /// <summary>Takes a job_id: another tenant's job is NotFound, answered as a missing job.</summary>
        TenantJob,

        /// <summary>Acts within the caller's tenant (submit, list): another tenant's jobs never appear.</summary>
        CallerScope,

        /// <summary>The agent stream: registers an agent and reports on jobs, both under the caller's identity.</summary>
        AgentStream,

        /// <summary>The runtime stream: runtimes are keyed by the caller's identity, so restart orders never cross tenants.</summary>
        RuntimeStream,
    }

    /// <summary>Every gRPC method by full name.</summary>
    public static IReadOnlyDictionary<string, RpcIsolation> RpcClasses { get; } = new Dictionary<string, RpcIsolation>(StringComparer.Ordinal)
    {
        ["meshos.v1.Jobs/Submit"] = RpcIsolation.CallerScope,
        ["meshos.v1.Jobs/SubmitBatch"] = RpcIsolation.CallerScope,
        ["meshos.v1.Jobs/List"] = RpcIsolation.CallerScope,
        ["meshos.v1.Jobs/Get"] = RpcIsolation.TenantJob,
        ["meshos.v1.Jobs/Cancel"] = RpcIsolation.TenantJob,
        ["meshos.v1.Jobs/Watch"] = RpcIsolation.TenantJob,

        ["meshos.v1.AgentChannel/Connect"] = RpcIsolation.AgentStream,
        ["meshos.v1.RuntimeChannel/Connect"] = RpcIsolation.RuntimeStream,

        ["meshos.v1.Incidents/List"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Get"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Open"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Acknowledge"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Assign"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Annotate"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Advance"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Resolve"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/AttachPostMortem"] = RpcIsolation.Operator,
        ["meshos.v1.Incidents/Report"] = RpcIsolation.Operator,
        ["meshos.v1.Fleet/GetAgent"] = RpcIsolation.Operator,
        ["meshos.v1.Fleet/Quarantine"] = RpcIsolation.Operator,
        ["meshos.v1.Fleet/Release"] = RpcIsolation.Operator,
        ["meshos.v1.Fleet/Drain"] = RpcIsolation.Operator,
        ["meshos.v1.Fleet/Restart"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/Issue"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/Review"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/Revoke"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/EnrolMfa"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/ConfirmMfa"] = RpcIsolation.Operator,
        ["meshos.v1.OperatorKeys/RemoveMfa"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/ListPolicies"] = RpcIsolation.CallerScope,
        ["meshos.v1.Compliance/PutPolicy"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/DeletePolicy"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/PutAdvisory"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/DeleteAdvisory"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/ListFindings"] = RpcIsolation.CallerScope,
        ["meshos.v1.Compliance/WaiveFinding"] = RpcIsolation.Operator,
        ["meshos.v1.Compliance/GetScore"] = RpcIsolation.CallerScope,
        ["meshos.v1.Compliance/Scan"] = RpcIsolation.Operator,
        ["meshos.v1.Cost/GetReport"] = RpcIsolation.CallerScope,
        ["meshos.v1.Cost/GetKpi"] = RpcIsolation.CallerScope,
        ["meshos.v1.Cost/GetJobCost"] = RpcIsolation.TenantJob,
        ["meshos.v1.Cost/ListRateCards"] = RpcIsolation.Operator,
        ["meshos.v1.Cost/GetRateCard"] = RpcIsolation.Operator,
        ["meshos.v1.Cost/PutRateCard"] = RpcIsolation.Operator,
        ["meshos.v1.Cost/DeleteRateCard"] = RpcIsolation.Operator,
        ["meshos.v1.Audit/Query"] = RpcIsolation.CallerScope,
        ["meshos.v1.Audit/Export"] = RpcIsolation.CallerScope,
        ["meshos.v1.Audit/Verify"] = RpcIsolation.Operator,
        ["meshos.v1.Budgets/ListBudgets"] = RpcIsolation.CallerScope,
        ["meshos.v1.Routing/GetPoolRouting"] = RpcIsolation.Operator,
        ["meshos.v1.Kpis/GetKpis"] = RpcIsolation.CallerScope,
        ["meshos.v1.Kpis/GetSlo"] = RpcIsolation.CallerScope,
        ["meshos.v1.Kpis/GetSlaReport"] = RpcIsolation.CallerScope,
        ["meshos.v1.Kpis/ListMaintenanceWindows"] = RpcIsolation.CallerScope,
        ["meshos.v1.Kpis/ScheduleMaintenanceWindow"] = RpcIsolation.Operator,
        ["meshos.v1.Kpis/CancelMaintenanceWindow"] = RpcIsolation.Operator,
        ["meshos.v1.Budgets/PutBudget"] = RpcIsolation.Operator,
        ["meshos.v1.Budgets/DeleteBudget"] = RpcIsolation.Operator,
        ["meshos.v1.Recommendations/ListRecommendations"] = RpcIsolation.Operator,
        ["meshos.v1.Recommendations/ApplyRecommendation"] = RpcIsolation.Operator,
        ["meshos.v1.Recommendations/DismissRecommendation"] = RpcIsolation.Operator,
        ["meshos.v1.Recommendations/GetAutoscalePolicy"] = RpcIsolation.Operator,
        ["meshos.v1.Recommendations/PutAutoscalePolicy"] = RpcIsolation.Operator,
    };

    private KernelMesh Mesh => fixture.Mesh;

    [Fact]
    public async Task Every_rest_operation_and_grpc_method_is_classified()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var catalog = RestCatalog.For(w.World);
        var ids = surface.Operations.Select(o => o.OperationId).ToHashSet(StringComparer.Ordinal);

        var unclassified = surface.Operations.Where(o => !RestClasses.ContainsKey(o.OperationId)).Select(o => o.ToString()).ToList();
        Assert.True(unclassified.Count == 0,
            "REST operations without an isolation class (add each to IsolationTests.RestClasses): " + string.Join(", ", unclassified));
        var gone = RestClasses.Keys.Where(id => !ids.Contains(id)).ToList();
        Assert.True(gone.Count == 0, "Classified operations the OpenAPI document no longer lists: " + string.Join(", ", gone));

        foreach (var op in surface.Operations)
        {
            var parameters = op.PathParameters;
            var consistent = RestClasses[op.OperationId] switch
            {
                Isolation.Operator => catalog[op.OperationId].Role == Role.Operator,
                Isolation.TenantJob => parameters.SequenceEqual(["jobId"]) && catalog[op.OperationId].Role is Role.Tenant or Role.OperatorOrTenant,
                Isolation.TenantAgent => parameters.SequenceEqual(["agentId"]) && catalog[op.OperationId].Role is Role.OperatorOrTenant or Role.Agent,
                Isolation.AgentJob => parameters.SequenceEqual(["agentId", "jobId"]) && catalog[op.OperationId].Role == Role.Agent,
                Isolation.CallerScope => !parameters.Contains("jobId") && !parameters.Contains("agentId") && catalog[op.OperationId].Role != Role.Operator,
                _ => false,
            };
            Assert.True(consistent, $"{op}: class {RestClasses[op.OperationId]} does not fit its path ({string.Join(", ", parameters)}) or its role {catalog[op.OperationId].Role}.");
            Assert.True(catalog[op.OperationId].Role != Role.Operator || RestClasses[op.OperationId] == Isolation.Operator, $"{op} is operator-only but not classified so.");
        }

        var methods = RpcSurface.Methods.Select(m => m.FullName).ToHashSet(StringComparer.Ordinal);
        var unclassifiedRpc = methods.Where(m => !RpcClasses.ContainsKey(m)).Order(StringComparer.Ordinal).ToList();
        Assert.True(unclassifiedRpc.Count == 0,
            "gRPC methods without an isolation class (add each to IsolationTests.RpcClasses): " + string.Join(", ", unclassifiedRpc));
        Assert.DoesNotContain(RpcClasses.Keys, m => !methods.Contains(m));
        Assert.All(RpcSurface.Methods.Where(m => RpcClasses[m.FullName] == RpcIsolation.TenantJob),
            m => Assert.NotNull(m.Input.FindFieldByName("job_id")));
        output.WriteLine($"{surface.Operations.Count} REST operations and {methods.Count} gRPC methods, each classified.");
    }

    [Fact]
    public async Task A_second_tenants_key_gets_404_on_every_operation_naming_the_first_tenants_objects_and_changes_nothing()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var catalog = RestCatalog.For(w.World);
        var attacks = surface.Operations.SelectMany(op => AttacksOn(op, catalog[op.OperationId], w)).ToList();
        var http = Mesh.Api.Anonymous;

        var before = await w.SnapshotAsync();
        var logStart = Mesh.Silo.Output.Length;
        var failures = new List<string>();
        foreach (var attack in attacks)
        {
            var reply = await RestCall.SendAsync(http, attack.Operation.Method, attack.Path, attack.Body, IsolationWorld.Key(w.Intruder.Key));
            var missing = await RestCall.SendAsync(http, attack.Operation.Method, attack.MissingPath, attack.Body, IsolationWorld.Key(w.Intruder.Key));
            if (reply.Status != 404 || !reply.IsProblem)
            {
                failures.Add($"{attack}: expected 404 problem details, got {reply}");
            }
            else if (reply.Problem(attack.TargetId) != missing.Problem(attack.MissingId))
            {
                failures.Add($"{attack}: answered otherwise than for a missing object: '{reply.Problem(attack.TargetId)}' vs '{missing.Problem(attack.MissingId)}'");
            }
        }

        var changes = IsolationWorld.Changes(before, await w.SnapshotAsync());

        // The same requests with the owner's credentials reach the objects (whatever the outcome, it is not a 404), so
        // the 404s above come from the isolation, not from a path that names nothing.
        foreach (var attack in attacks.Where(a => a.Owner is not null))
        {
            var reply = await RestCall.SendAsync(http, attack.Operation.Method, attack.Path, attack.Body, attack.Owner!);
            if (reply.Status is 404 or >= 500)
            {
                failures.Add($"{attack} with the owner's credentials: expected to reach the object, got {reply}");
            }
        }

        failures.AddRange(ProcessLog.ErrorsSince(Mesh.Silo, logStart).Select(e => "the silo logged an error: " + e));
        output.WriteLine($"{attacks.Count} requests with another tenant's key over {attacks.Select(a => a.Operation.OperationId).Distinct().Count()} operations.");
        Assert.True(failures.Count == 0 && changes.Count == 0,
            string.Join("\n", failures) + (changes.Count == 0 ? string.Empty : "\nChanged by the intruder:\n  " + string.Join("\n  ", changes)));
    }

    [Fact]
    public async Task Every_operation_refuses_the_wrong_role_with_403_and_changes_nothing()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var catalog = RestCatalog.For(w.World);
        var http = Mesh.Api.Anonymous;

        var before = await w.SnapshotAsync();
        var failures = new List<string>();
        var sent = 0;
        foreach (var op in surface.Operations)
        {
            var endpoint = catalog[op.OperationId];
            (string Who, KeyValuePair<string, string>[] Credentials)[] wrong = endpoint.Role switch
            {
                // The tenant's own tenant, key and agent in the path: a tenant may not manage even itself.
                Role.Operator => [("its own tenant's key", IsolationWorld.Key(w.Victim.Key)), ("another tenant's key", IsolationWorld.Key(w.Intruder.Key)),
                    ("the enrollment token", IsolationWorld.EnrollmentToken)],
                Role.Tenant => [("the operator key", IsolationWorld.Key(MeshProcess.OperatorKey)), ("the enrollment token", IsolationWorld.EnrollmentToken)],
                Role.Agent => [("the operator key", IsolationWorld.Key(MeshProcess.OperatorKey))],
                Role.OperatorOrTenant => [("the enrollment token", IsolationWorld.EnrollmentToken)],
                _ => throw new InvalidOperationException($"{op}: role {endpoint.Role} has no wrong callers listed."),
            };
            foreach (var (who, credentials) in wrong)
            {
                sent++;
                var reply = await RestCall.SendAsync(http, op.Method, PathOf(op, w.World), endpoint.Template?.Invoke("role"), credentials);
                if (reply.Status != 403 || !reply.IsProblem)
                {
                    failures.Add($"{op} with {who}: expected 403 problem details, got {reply}");
                }
            }
        }

        var changes = IsolationWorld.Changes(before, await w.SnapshotAsync());
        output.WriteLine($"{sent} requests with the wrong role over {surface.Operations.Count} operations.");
        Assert.True(failures.Count == 0 && changes.Count == 0,
            string.Join("\n", failures) + (changes.Count == 0 ? string.Empty : "\nChanged:\n  " + string.Join("\n  ", changes)));
    }

    [Fact]
    public async Task Every_operation_answers_401_without_a_valid_credential_and_changes_nothing()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var catalog = RestCatalog.For(w.World);
        var http = Mesh.Api.Anonymous;
        var revoked = await w.RevokedKeyAsync();
        (string Who, KeyValuePair<string, string>[] Credentials)[] invalid =
        [
            ("no credentials", []),
            ("a garbage key", IsolationWorld.Key("garbage-key-0123456789")),
            ("a forged key (the tenant's real key id, a wrong secret)", IsolationWorld.Key($"mk.{w.Victim.Id}.{w.World.KeyId}.{new string('A', 43)}")),
            ("a revoked key", IsolationWorld.Key(revoked)),
            ("a wrong enrollment token", [new(CredentialHeaders.EnrollmentTokenHeader, "et_not_the_token")]),
            ("a garbage bearer token", [new("Authorization", "Bearer garbage-key-0123456789")]),
        ];

        var before = await w.SnapshotAsync();
        var failures = new List<string>();
        foreach (var op in surface.Operations)
        {
            foreach (var (who, credentials) in invalid)
            {
                var reply = await RestCall.SendAsync(http, op.Method, PathOf(op, w.World), catalog[op.OperationId].Template?.Invoke("anon"), credentials);
                if (reply.Status != 401 || !reply.IsProblem)
                {
                    failures.Add($"{op} with {who}: expected 401 problem details, got {reply}");
                }
            }
        }

        var changes = IsolationWorld.Changes(before, await w.SnapshotAsync());
        output.WriteLine($"{surface.Operations.Count * invalid.Length} requests without a valid credential over {surface.Operations.Count} operations.");
        Assert.True(failures.Count == 0 && changes.Count == 0,
            string.Join("\n", failures) + (changes.Count == 0 ? string.Empty : "\nChanged:\n  " + string.Join("\n  ", changes)));
    }

    /// <summary>
    /// A tenant's key makes it the owner of its agents, and agents owned by <c>platform</c> serve every pool: a tenant
    /// named <c>platform</c> could run agents that take every tenant's jobs, so no tenant may bear that id.
    /// </summary>
    [Fact]
    public async Task No_tenant_can_take_the_platform_agents_owner_name()
    {
        var problem = await JobCalls.AssertProblemAsync(
            await Mesh.Api.Operator.PostAsJsonAsync("/v1/tenants", new { id = "platform", name = "impostor" }), HttpStatusCode.BadRequest);
        Assert.Contains("platform", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        await JobCalls.AssertProblemAsync(await Mesh.Api.Operator.GetAsync("/v1/tenants/platform"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await Mesh.Api.Client($"mk.platform.000000000000.{new string('A', 43)}").GetAsync("/v1/jobs"), HttpStatusCode.Unauthorized);
    }

    /// <summary>
    /// The operations that name no object act within the caller's tenant. Each has its own check; one classified
    /// <see cref="Isolation.CallerScope"/> without a check fails the test. Agent ids are one namespace for the whole
    /// mesh, so registering another tenant's agent id is a 409 (the id is taken; the answer does not name the owner) and
    /// leaves that agent as it was.
    /// </summary>
    [Fact]
    public async Task Operations_naming_no_object_act_only_within_the_callers_tenant()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var surface = await OpenApiSurface.LoadAsync(Mesh.Api.Anonymous);
        var intruder = w.Intruder;
        var victimJobs = w.VictimJobs.ToHashSet(StringComparer.Ordinal);
        var victimAgent = await w.AgentAsync(w.World.AgentId);
        var platformAgent = await w.AgentAsync(w.PlatformAgent.AgentId);
        var victimBefore = await Task.WhenAll(w.VictimJobs.Select(w.VictimJobStateAsync));

        var checks = new Dictionary<string, Func<Task>>(StringComparer.Ordinal)
        {
            ["ListJobs"] = async () =>
            {
                foreach (var query in new[] { "limit=500", "type=leased", "type=keyed", "status=Leased", "status=Pending&limit=500" })
                {
                    var listed = (await JobCalls.ListAsync(intruder.Http, query)).Select(JobCalls.Id).ToList();
                    Assert.True(!listed.Any(victimJobs.Contains), $"GET /v1/jobs?{query} as the intruder listed the victim's jobs: {string.Join(", ", listed)}");
                }

                Assert.Contains(w.World.OtherJobId, (await JobCalls.ListAsync(intruder.Http, "limit=500")).Select(JobCalls.Id));
            },
            ["SubmitJob"] = async () =>
            {
                // The victim's idempotency key names the intruder's own job, never the victim's.
                var created = await JobCalls.SubmitCreatedAsync(intruder.Http,
                    new { type = "keyed", capability = FuzzWorld.IdleCapability, payload = new { }, idempotencyKey = IsolationWorld.SharedIdempotencyKey });
                Assert.NotEqual(w.KeyedJobId, JobCalls.Id(created));
                var again = await JobCalls.SubmitAsync(intruder.Http, new { type = "keyed", capability = FuzzWorld.IdleCapability, payload = new { } },
                    idempotencyHeader: IsolationWorld.SharedIdempotencyKey);
                Assert.Equal(JobCalls.Id(created), JobCalls.Id((await MeshApi.EnsureAsync(again, HttpStatusCode.OK))!));

                // The victim's own pool is not the intruder's to use.
                await JobCalls.AssertProblemAsync(await JobCalls.SubmitAsync(intruder.Http,
                    new { type = "t", capability = w.World.AgentCapability, pool = w.Victim.Id, payload = new { } }), HttpStatusCode.Forbidden);
            },
            ["SubmitJobBatch"] = async () =>
            {
                var batch = (await MeshApi.EnsureAsync(await intruder.Http.PostAsJsonAsync("/v1/jobs/batch", new
                {
                    jobs = new object[]
                    {
                        new { type = "keyed", capability = FuzzWorld.IdleCapability, payload = new { }, idempotencyKey = IsolationWorld.SharedIdempotencyKey + "-b" },
                        new { type = "keyed", capability = FuzzWorld.IdleCapability, payload = new { }, idempotencyKey = IsolationWorld.SharedIdempotencyKey },
                        new { type = "t", capability = w.World.AgentCapability, pool = w.Victim.Id, payload = new { } },
                    },
                }), HttpStatusCode.OK))!["results"]!.AsArray();
                var ids = batch.Take(2).Select(r => r!["job"]!["id"]!.GetValue<string>()).ToList();
                Assert.DoesNotContain(ids, victimJobs.Contains);
                Assert.Equal(403, batch[2]!["error"]!["status"]!.GetValue<int>());
            },
            ["ListAgents"] = async () =>
            {
                // Its own agents, and read-only the agents of the shared pool listed for it (the platform agent that
                // holds the victim's job can lease the intruder's jobs too; other tests add platform agents of their own).
                string[] everyone = [w.World.OtherAgentId, w.PlatformAgent.AgentId];
                foreach (var (query, expected) in new (string Query, string[] Expected)[]
                {
                    (string.Empty, everyone), ("?limit=1000", everyone), ($"?owner={intruder.Id}", [w.World.OtherAgentId]),
                    ($"?owner={w.Victim.Id}", []), ("?owner=platform", [w.PlatformAgent.AgentId]),
                })
                {
                    var listed = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/agents" + query), HttpStatusCode.OK))!["agents"]!.AsArray()
                        .Select(a => (Id: a!["agentId"]!.GetValue<string>(), Owner: a["owner"]!.GetValue<string>(), Pool: a["pool"]!.GetValue<string>()))
                        .ToList();
                    Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Select(a => a.Id).Where(expected.Contains));
                    Assert.All(listed, a => Assert.True(a.Owner == intruder.Id || (a.Owner == "platform" && a.Pool == "platform"), $"{a} listed to {intruder.Id}"));
                    Assert.DoesNotContain(w.World.AgentId, listed.Select(a => a.Id));
                }
            },
            ["AgentRegister"] = async () =>
            {
                foreach (var taken in new[] { w.World.AgentId, w.PlatformAgent.AgentId })
                {
                    var body = new { agentId = taken, pool = intruder.Id, capabilities = new[] { "steal" }, maxConcurrency = 5, version = "v", region = "r", costPerHour = 0 };
                    var problem = await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync("/v1/agent/register", body), HttpStatusCode.Conflict);
                    Assert.DoesNotContain(w.Victim.Id, problem.ToJsonString(), StringComparison.Ordinal);
                }

                await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync("/v1/agent/register",
                    new { agentId = JobCalls.Unique("iso-slip"), pool = w.Victim.Id, capabilities = new[] { "steal" }, maxConcurrency = 1 }), HttpStatusCode.Forbidden);
                AssertSameAgent(victimAgent, await w.AgentAsync(w.World.AgentId));
                AssertSameAgent(platformAgent, await w.AgentAsync(w.PlatformAgent.AgentId));
            },
            ["ListPoolGrants"] = async () => await JobCalls.AssertProblemAsync(
                await intruder.Http.GetAsync($"/v1/tenants/{w.Victim.Id}/grants"), HttpStatusCode.NotFound),
            ["ListBudgets"] = async () =>
            {
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/tenants/{w.Victim.Id}/budgets"), HttpStatusCode.NotFound);
                Assert.Empty((await MeshApi.EnsureAsync(await intruder.Http.GetAsync($"/v1/tenants/{intruder.Id}/budgets"), HttpStatusCode.OK))!.AsArray());
            },
            ["QueryAuditLog"] = async () =>
            {
                // The intruder reads entries about its own objects only (its own refused attempts on the victim's objects
                // included: their targets are what it sent); naming the victim as the tenant is refused, not answered.
                var page = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/audit?limit=1000"), HttpStatusCode.OK))!["entries"]!.AsArray();
                Assert.All(page, e => Assert.Equal(intruder.Id, e!["draft"]!["tenant"]?.GetValue<string>()));
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/audit?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
            },
            ["ExportAuditLog"] = async () =>
            {
                var lines = (await (await intruder.Http.GetAsync("/v1/audit/export")).Content.ReadAsStringAsync())
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.All(lines, line => Assert.Equal(intruder.Id, System.Text.Json.Nodes.JsonNode.Parse(line)!["draft"]!["tenant"]?.GetValue<string>()));
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/audit/export?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
            },
            ["GrantPool"] = async () =>
            {
                // Consent is the pool owner's: the intruder cannot grant itself (or the platform) the victim's pool.
                foreach (var grantee in new[] { intruder.Id, "platform" })
                {
                    await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/tenants/{w.Victim.Id}/grants",
                        new { grantee, pool = w.Victim.Id }), HttpStatusCode.NotFound);
                    await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/tenants/{intruder.Id}/grants",
                        new { grantee, pool = w.Victim.Id }), HttpStatusCode.BadRequest);
                }

                Assert.Empty((await MeshApi.EnsureAsync(await Mesh.Api.Operator.GetAsync($"/v1/tenants/{w.Victim.Id}/grants"), HttpStatusCode.OK))!.AsArray());
            },
            ["RevokePoolGrant"] = async () => await JobCalls.AssertProblemAsync(await intruder.Http.PostAsJsonAsync($"/v1/tenants/{w.Victim.Id}/grants/revoke",
                new { grantee = "platform", pool = w.Victim.Id }), HttpStatusCode.NotFound),
            ["ListCompliancePolicies"] = async () =>
            {
                // A policy scoped to the victim is the victim's business: the intruder sees mesh-wide policies only, and no advisories.
                var policyId = JobCalls.Unique("iso");
                await MeshApi.EnsureAsync(await Mesh.Api.Operator.PutAsJsonAsync($"/v1/compliance/policies/{policyId}",
                    new { rule = "data-residency", mode = "Audit", severity = "Low", scope = new { kind = "tenant", name = w.Victim.Id } }), HttpStatusCode.OK);
                try
                {
                    var set = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/compliance/policies"), HttpStatusCode.OK))!;
                    Assert.All(set["policies"]!.AsArray(), p => Assert.Equal("mesh", p!["scope"]!["kind"]!.GetValue<string>()));
                    Assert.Empty(set["advisories"]!.AsArray());
                }
                finally
                {
                    await MeshApi.EnsureAsync(await Mesh.Api.Operator.DeleteAsync($"/v1/compliance/policies/{policyId}"), HttpStatusCode.NoContent);
                }
            },
            ["ListFindings"] = async () =>
            {
                var page = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/compliance/findings?limit=1000"), HttpStatusCode.OK))!["findings"]!.AsArray();
                Assert.All(page, f => Assert.Equal(intruder.Id, f!["tenantId"]?.GetValue<string>()));
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/compliance/findings?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
            },
            ["GetComplianceScore"] = async () =>
            {
                var report = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/compliance/score"), HttpStatusCode.OK))!;
                Assert.Equal(intruder.Id, report["tenantId"]!.GetValue<string>());
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/compliance/score?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
            },
            ["GetCostReport"] = async () =>
            {
                // A tenant's report holds its own line only (idle shared or not), and another tenant's is refused.
                foreach (var query in new[] { "", "?groupBy=pool", "?groupBy=capability&idle=even", "?period=month&interval=day" })
                {
                    var report = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/cost/report" + query), HttpStatusCode.OK))!;
                    Assert.All(report["lines"]!.AsArray(), l => Assert.NotEqual(w.Victim.Id, l!["key"]!.GetValue<string>()));
                }

                var own = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/cost/report?idle=proportional"), HttpStatusCode.OK))!;
                Assert.All(own["lines"]!.AsArray(), l => Assert.Equal(intruder.Id, l!["key"]!.GetValue<string>()));
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/cost/report?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync("/v1/cost/report?groupBy=agent"), HttpStatusCode.BadRequest);
            },
            ["GetCostKpi"] = async () =>
            {
                var kpi = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/cost/kpi"), HttpStatusCode.OK))!;
                Assert.Equal(intruder.Id, kpi["tenant"]!.GetValue<string>());
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/cost/kpi?tenant={w.Victim.Id}"), HttpStatusCode.BadRequest);
            },
            ["GetTenantKpis"] = async () =>
            {
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/tenants/{w.Victim.Id}/kpis"), HttpStatusCode.NotFound);
                var own = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync($"/v1/tenants/{intruder.Id}/kpis"), HttpStatusCode.OK))!;
                Assert.Equal("tenant/" + intruder.Id, own["scope"]!.GetValue<string>());
            },
            ["GetKpiSeries"] = async () =>
            {
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/kpis/series?tenant={w.Victim.Id}"), HttpStatusCode.NotFound);
                var rows = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/kpis/series?resolution=1m"), HttpStatusCode.OK))!.AsArray();
                Assert.All(rows, r => Assert.Equal("tenant/" + intruder.Id, r!["scope"]!.GetValue<string>()));
            },
            ["GetSlo"] = async () =>
            {
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/slo?tenant={w.Victim.Id}"), HttpStatusCode.NotFound);
                var slo = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/slo"), HttpStatusCode.OK))!;
                Assert.Equal("tenant/" + intruder.Id, slo["scope"]!.GetValue<string>());
            },
            ["GetSlaReport"] = async () =>
            {
                var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/sla/reports/{w.Victim.Id}/{month}"), HttpStatusCode.NotFound);
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync($"/v1/sla/reports/{w.Victim.Id}/{month}.html"), HttpStatusCode.NotFound);
                var own = (await MeshApi.EnsureAsync(await intruder.Http.GetAsync($"/v1/sla/reports/{intruder.Id}/{month}"), HttpStatusCode.OK))!;
                Assert.Equal(intruder.Id, own["tenantId"]!.GetValue<string>());
            },
            // The calendar is the mesh's, the same for every tenant: nothing of another tenant's is in it.
            ["ListMaintenanceWindows"] = async () =>
                await MeshApi.EnsureAsync(await intruder.Http.GetAsync("/v1/maintenance-windows"), HttpStatusCode.OK),
            ["GetMaintenanceWindow"] = async () =>
                await JobCalls.AssertProblemAsync(await intruder.Http.GetAsync("/v1/maintenance-windows/mw-none"), HttpStatusCode.NotFound),
        };

        var scoped = surface.Operations.Where(o => RestClasses[o.OperationId] == Isolation.CallerScope).Select(o => o.OperationId).ToList();
        var withoutCheck = scoped.Where(id => !checks.ContainsKey(id)).ToList();
        Assert.True(withoutCheck.Count == 0, "Caller-scoped operations without an isolation check here: " + string.Join(", ", withoutCheck));
        foreach (var id in scoped)
        {
            await checks[id]();
        }

        Assert.Equal(victimBefore, await Task.WhenAll(w.VictimJobs.Select(w.VictimJobStateAsync)));
        Assert.Equal(w.VictimJobs.Order(StringComparer.Ordinal), (await JobCalls.ListAsync(w.Victim.Http, "limit=500")).Select(JobCalls.Id).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// gRPC: without a valid key every method is Unauthenticated; a tenant key on the operator services is
    /// PermissionDenied; a job id of another tenant is NotFound on every method taking one, answered as a missing job;
    /// a tenant's agent stream can neither take over another's agent id nor report on another's job; and a tenant's
    /// runtime stream never receives another tenant's restart orders.
    /// </summary>
    [Fact]
    public async Task Every_grpc_method_refuses_other_tenants_and_bad_keys()
    {
        await using var w = await IsolationWorld.CreateAsync(Mesh);
        var channel = Mesh.Api.Channel();
        var intruderKey = MeshApi.Key(w.Intruder.Key);
        var failures = new List<string>();

        // What the intruder may legitimately create (its own jobs and agent) comes first; from the snapshot on, nothing
        // may change.
        await CallerScopedJobsAsync(w, failures);
        using var stream = await IntruderAgentStreamAsync(w, channel, failures);
        var before = await w.SnapshotAsync();
        var logStart = Mesh.Silo.Output.Length;

        foreach (var method in RpcSurface.Methods)
        {
            foreach (var (who, headers) in new[] { ("no key", new Metadata()), ("a garbage key", MeshApi.Key("garbage-key-0123456789")) })
            {
                var reply = await RpcSurface.CallAsync(channel, method, method.Request(), headers);
                if (reply.Status != StatusCode.Unauthenticated)
                {
                    failures.Add($"{method} with {who}: expected Unauthenticated, got {reply}");
                }
            }

            switch (RpcClasses[method.FullName])
            {
                case RpcIsolation.Operator:
                {
                    var reply = await RpcSurface.CallAsync(channel, method, method.Request(), intruderKey);
                    if (reply.Status != StatusCode.PermissionDenied)
                    {
                        failures.Add($"{method} with a tenant key: expected PermissionDenied, got {reply}");
                    }

                    break;
                }

                case RpcIsolation.TenantJob:
                    foreach (var jobId in w.VictimJobs)
                    {
                        var missingId = Guid.NewGuid().ToString();
                        var reply = await RpcSurface.CallAsync(channel, method, method.Request(("job_id", jobId)), intruderKey);
                        var missing = await RpcSurface.CallAsync(channel, method, method.Request(("job_id", missingId)), intruderKey);
                        if (reply.Status != StatusCode.NotFound)
                        {
                            failures.Add($"{method} with another tenant's job {jobId}: expected NotFound, got {reply}");
                        }
                        else if (reply.Detail.Replace(jobId, "{id}", StringComparison.Ordinal) != missing.Detail.Replace(missingId, "{id}", StringComparison.Ordinal))
                        {
                            failures.Add($"{method}: another tenant's job answered otherwise than a missing one: '{reply.Detail}' vs '{missing.Detail}'");
                        }
                    }

                    break;
            }
        }

        // The victim's own key reaches its job (so the NotFound above is the isolation).
        var own = await RpcSurface.CallAsync(channel, RpcSurface.Methods.Single(m => m.FullName == "meshos.v1.Jobs/Get"),
            RpcSurface.Methods.Single(m => m.FullName == "meshos.v1.Jobs/Get").Request(("job_id", w.LeasedJobId)), MeshApi.Key(w.Victim.Key));
        Assert.Equal(StatusCode.OK, own.Status);

        await ReportOnVictimJobsAsync(w, stream, failures);
        var changes = IsolationWorld.Changes(before, await w.SnapshotAsync());
        await RuntimeStreamAsync(w, channel, failures);
        failures.AddRange(ProcessLog.ErrorsSince(Mesh.Silo, logStart).Select(e => "the silo logged an error: " + e));

        Assert.True(failures.Count == 0 && changes.Count == 0,
            string.Join("\n", failures) + (changes.Count == 0 ? string.Empty : "\nChanged by the intruder:\n  " + string.Join("\n  ", changes)));
    }

    private async Task CallerScopedJobsAsync(IsolationWorld w, List<string> failures)
    {
        var jobs = w.Intruder.Jobs;
        var headers = w.Intruder.Headers;
        var listed = await jobs.ListAsync(new ListJobsRequest { Limit = 500 }, headers);
        if (listed.Jobs.Any(j => w.VictimJobs.Contains(j.JobId)))
        {
            failures.Add("meshos.v1.Jobs/List as the intruder listed the victim's jobs");
        }

        var submitted = await jobs.SubmitAsync(new SubmitJobRequest
        {
            Type = "keyed", Capability = FuzzWorld.IdleCapability, PayloadJson = "{}", IdempotencyKey = IsolationWorld.SharedIdempotencyKey + "-grpc",
        }, headers);
        var batch = new SubmitJobBatchRequest();
        batch.Jobs.Add(new SubmitJobRequest { Type = "keyed", Capability = FuzzWorld.IdleCapability, PayloadJson = "{}", IdempotencyKey = IsolationWorld.SharedIdempotencyKey });
        var batched = await jobs.SubmitBatchAsync(batch, headers);
        foreach (var jobId in new[] { submitted.Job.JobId, batched.Results.Single().Job.JobId })
        {
            if (w.VictimJobs.Contains(jobId))
            {
                failures.Add($"A gRPC submit with the victim's idempotency key answered the victim's job {jobId}");
            }
        }
    }

    /// <summary>
    /// The intruder's agent stream: registering another tenant's agent id is refused (AlreadyExists, without naming the
    /// owner) and leaves that agent as it was; then the intruder's own agent registers.
    /// </summary>
    private async Task<AsyncDuplexStreamingCall<AgentMessage, MeshMessage>> IntruderAgentStreamAsync(IsolationWorld w,
        global::Grpc.Net.Client.GrpcChannel channel, List<string> failures)
    {
        var client = new AgentChannel.AgentChannelClient(channel);
        var victimAgent = await w.AgentAsync(w.World.AgentId);
        using (var takeover = client.Connect(w.Intruder.Headers))
        {
            var register = new Register { AgentId = w.World.AgentId, Pool = w.Intruder.Id, MaxConcurrency = 1, Version = "v", Region = "r" };
            register.Capabilities.Add("steal");
            await takeover.RequestStream.WriteAsync(new AgentMessage { Register = register });
            var error = await Assert.ThrowsAsync<RpcException>(() => takeover.ResponseStream.MoveNext(CancellationToken.None));
            if (error.StatusCode != StatusCode.AlreadyExists || error.Status.Detail.Contains(w.Victim.Id, StringComparison.Ordinal))
            {
                failures.Add($"AgentChannel/Connect registering another tenant's agent id: expected AlreadyExists without the owner, got {error.StatusCode}: {error.Status.Detail}");
            }
        }

        AssertSameAgent(victimAgent, await w.AgentAsync(w.World.AgentId));
        var stream = new AgentChannel.AgentChannelClient(channel).Connect(w.Intruder.Headers);
        var own = new Register { AgentId = JobCalls.Unique("iso-stream"), Pool = w.Intruder.Id, MaxConcurrency = 1, Version = "v", Region = "r" };
        own.Capabilities.Add(JobCalls.Unique("iso-cap"));
        await stream.RequestStream.WriteAsync(new AgentMessage { Register = own });
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(MeshMessage.BodyOneofCase.Registered, stream.ResponseStream.Current.BodyCase);
        return stream;
    }

    /// <summary>
    /// The intruder's own streamed agent reports results for the victim's leased job (under the lease's real epoch) and
    /// pending job: each is refused exactly as a result for a job that does not exist.
    /// </summary>
    private static async Task ReportOnVictimJobsAsync(IsolationWorld w, AsyncDuplexStreamingCall<AgentMessage, MeshMessage> stream, List<string> failures)
    {
        var missingId = Guid.NewGuid().ToString();
        var acks = new Dictionary<string, ReportAck>(StringComparer.Ordinal);
        foreach (var jobId in new[] { w.LeasedJobId, w.World.JobId, missingId })
        {
            await stream.RequestStream.WriteAsync(new AgentMessage
            {
                Result = new MeshOs.Grpc.V1.JobResult { JobId = jobId, Epoch = w.LeasedEpoch, Succeeded = true, ResultJson = "{\"stolen\":true}" },
            });
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (acks.Count < 3 && await stream.ResponseStream.MoveNext(timeout.Token))
        {
            if (stream.ResponseStream.Current.ReportAck is { } ack)
            {
                acks[ack.JobId] = ack;
            }
        }

        var expected = acks[missingId].Error.Replace(missingId, "{id}", StringComparison.Ordinal);
        Assert.False(acks[missingId].Accepted);
        foreach (var jobId in new[] { w.LeasedJobId, w.World.JobId })
        {
            var ack = acks[jobId];
            if (ack.Accepted || ack.Error.Replace(jobId, "{id}", StringComparison.Ordinal) != expected)
            {
                failures.Add($"AgentChannel/Connect: a result for another tenant's job {jobId} was answered '{ack.Accepted}: {ack.Error}', a missing job's '{acks[missingId].Error}'");
            }
        }

        await stream.RequestStream.CompleteAsync();
    }

    /// <summary>
    /// Runtimes are keyed by their owner: the intruder's runtime, under the same runtime id and naming the victim's
    /// agent, gets nothing when an operator restarts that agent; the victim's runtime gets the order.
    /// </summary>
    private async Task RuntimeStreamAsync(IsolationWorld w, global::Grpc.Net.Client.GrpcChannel channel, List<string> failures)
    {
        var runtimeId = JobCalls.Unique("iso-rt");
        var agentId = JobCalls.Unique("iso-rt-agent");
        await MeshApi.EnsureAsync(await w.Victim.Http.PostAsJsonAsync("/v1/agent/register", new
        {
            agentId, pool = w.Victim.Id, capabilities = new[] { "rt" }, maxConcurrency = 1, version = "v", region = "r", runtimeId,
        }), HttpStatusCode.OK);

        var client = new RuntimeChannel.RuntimeChannelClient(channel);
        using var intruder = client.Connect(w.Intruder.Headers);
        using var victim = client.Connect(w.Victim.Headers);
        foreach (var call in new[] { intruder, victim })
        {
            var hello = new RuntimeHello { RuntimeId = runtimeId };
            hello.AgentIds.Add(agentId);
            await call.RequestStream.WriteAsync(new RuntimeMessage { Hello = hello });
        }

        // Both hellos are attached once the runtime grains answered; a restart finds the victim's.
        var order = await Eventually.WaitAsync(async () =>
        {
            var restart = (await MeshApi.EnsureAsync(await Mesh.Api.Operator.PostAsJsonAsync($"/v1/agents/{agentId}/restart", new { reason = "iso" }), HttpStatusCode.OK))!;
            return restart["path"]!.ToString();
        }, path => path == "Runtime", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300));

        using var victimWait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.True(await victim.ResponseStream.MoveNext(victimWait.Token), "the victim's runtime got no restart order");
        Assert.Equal(agentId, victim.ResponseStream.Current.AgentId);

        using var intruderWait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            if (await intruder.ResponseStream.MoveNext(intruderWait.Token))
            {
                failures.Add($"RuntimeChannel/Connect: the intruder's runtime received an order for the victim's agent: {intruder.ResponseStream.Current}");
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
        {
            // Nothing came: as it should.
        }

        output.WriteLine($"Restart path for the victim's agent: {order}");
    }

    private static void AssertSameAgent(JsonNode before, JsonNode after)
    {
        foreach (var field in new[] { "owner", "pool", "capabilities", "maxConcurrency", "state" })
        {
            Assert.Equal(before[field]?.ToJsonString(), after[field]?.ToJsonString());
        }
    }

    /// <summary>One request of the intruder at one of the victim's objects, and the same request at a missing one.</summary>
    private sealed record Attack(ApiOperation Operation, string What, string Path, JsonNode? Body, string TargetId, string MissingPath, string MissingId,
        KeyValuePair<string, string>[]? Owner)
    {
        public override string ToString() => $"{Operation.Method} {Path} ({Operation.OperationId}, {What})";
    }

    private static IEnumerable<Attack> AttacksOn(ApiOperation op, RestEndpoint endpoint, IsolationWorld w)
    {
        var body = endpoint.Template?.Invoke("iso");
        if (body is not null && body.ContainsKey("epoch"))
        {
            body["epoch"] = w.LeasedEpoch;
        }

        var victimKey = IsolationWorld.Key(w.Victim.Key);
        var ownAgent = w.World.OtherAgentId;
        switch (RestClasses[op.OperationId])
        {
            case Isolation.TenantJob:
                foreach (var (what, jobId) in new[] { ("a pending job", w.World.JobId), ("a leased job", w.LeasedJobId) })
                {
                    var missing = Guid.NewGuid().ToString();
                    yield return new Attack(op, what, Fill(op, ("jobId", jobId)), body, jobId, Fill(op, ("jobId", missing)), missing, victimKey);
                }

                break;
            case Isolation.TenantAgent:
            {
                var missing = JobCalls.Unique("iso-none");
                yield return new Attack(op, "its own agent", Fill(op, ("agentId", w.World.AgentId)), body, w.World.AgentId,
                    Fill(op, ("agentId", missing)), missing, victimKey);
                break;
            }

            case Isolation.AgentJob:
            {
                var missingAgent = JobCalls.Unique("iso-none");
                yield return new Attack(op, "the victim's agent", Fill(op, ("agentId", w.World.AgentId), ("jobId", w.LeasedJobId)), body, w.World.AgentId,
                    Fill(op, ("agentId", missingAgent), ("jobId", w.LeasedJobId)), missingAgent, null);
                yield return new Attack(op, "the platform agent holding the job", Fill(op, ("agentId", w.PlatformAgent.AgentId), ("jobId", w.LeasedJobId)), body,
                    w.PlatformAgent.AgentId, Fill(op, ("agentId", missingAgent), ("jobId", w.LeasedJobId)), missingAgent, IsolationWorld.EnrollmentToken);
                foreach (var (what, jobId) in new[] { ("its own agent on the victim's leased job, with the lease's epoch", w.LeasedJobId), ("its own agent on the victim's pending job", w.World.JobId) })
                {
                    var missing = Guid.NewGuid().ToString();
                    yield return new Attack(op, what, Fill(op, ("agentId", ownAgent), ("jobId", jobId)), body, jobId,
                        Fill(op, ("agentId", ownAgent), ("jobId", missing)), missing, null);
                }

                break;
            }
        }
    }

    private static string Fill(ApiOperation op, params (string Parameter, string Value)[] values)
    {
        var path = op.Template;
        foreach (var (parameter, value) in values)
        {
            path = path.Replace("{" + parameter + "}", Uri.EscapeDataString(value), StringComparison.Ordinal);
        }

        Assert.DoesNotContain("{", path, StringComparison.Ordinal);
        return path;
    }

    /// <summary>The operation's path with each parameter naming a real object of the victim.</summary>
    private static string PathOf(ApiOperation op, FuzzWorld world) =>
        Fill(op, [.. op.PathParameters.Select(p => (p, world.RealObject(p)
            ?? throw new InvalidOperationException($"{op}: no object of the world for path parameter '{p}'.")))]);
}
