using System.Net;
using System.Net.Http.Json;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Cost;

/// <summary>
/// Budgets end to end, one silo on a private PostgreSQL (budgets are grain storage): an operator sets a tenant's budget,
/// the tenant reads its own (never another's), bad budgets are refused naming the field, every change is in the audit
/// log where the tenant sees it; the same over gRPC.
/// </summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class BudgetsApiTests(PostgresKernelFixture fixture)
{
    private MeshApi Api => fixture.Mesh.Api;

    [Fact]
    public async Task An_operator_sets_a_budget_the_tenant_reads_its_own_and_the_change_is_audited()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var other = await fixture.Mesh.CreateTenantAsync();
        var put = (await MeshApi.EnsureAsync(await Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}/budgets/monthly",
            new { limit = 250.00m, currency = "USD", hardLimit = true, alertPercents = new[] { 50, 90, 100 } }), HttpStatusCode.OK))!;
        Assert.Equal(("monthly", 250m, "Ok", 0m), (put["spec"]!["name"]!.GetValue<string>(), put["spec"]!["limit"]!.GetValue<decimal>(),
            put["state"]!.GetValue<string>(), put["spent"]!.GetValue<decimal>()));
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero), put["periodStart"]!.GetValue<DateTimeOffset>());

        var listed = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/budgets"), HttpStatusCode.OK))!.AsArray();
        Assert.Equal([50, 90, 100], listed.Single()!["spec"]!["alertPercents"]!.AsArray().Select(p => p!.GetValue<int>()));
        await JobCalls.AssertProblemAsync(await other.Http.GetAsync($"/v1/tenants/{tenant.Id}/budgets"), HttpStatusCode.NotFound);
        await JobCalls.AssertProblemAsync(await tenant.Http.PutAsJsonAsync($"/v1/tenants/{tenant.Id}/budgets/mine", new { limit = 1, currency = "USD" }),
            HttpStatusCode.Forbidden);

        var audit = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/audit?action=budgets.put"), HttpStatusCode.OK))!["entries"]!.AsArray();
        var entry = Assert.Single(audit);
        Assert.Equal(($"tenant/{tenant.Id}/budget/monthly", "operator", "succeeded"), (entry!["draft"]!["target"]!.GetValue<string>(),
            entry["draft"]!["actor"]!["kind"]!.GetValue<string>(), entry["draft"]!["outcome"]!.GetValue<string>().ToLowerInvariant()));

        Assert.Equal(HttpStatusCode.NoContent, (await Api.Operator.DeleteAsync($"/v1/tenants/{tenant.Id}/budgets/monthly")).StatusCode);
        await JobCalls.AssertProblemAsync(await Api.Operator.DeleteAsync($"/v1/tenants/{tenant.Id}/budgets/monthly"), HttpStatusCode.NotFound);
        Assert.Empty((await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/budgets"), HttpStatusCode.OK))!.AsArray());
    }

    [Fact]
    public async Task Once_spend_reaches_a_hard_limit_new_submits_are_refused_with_402_and_accepted_jobs_still_finish()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var capability = JobCalls.Unique("budget");
        await MeshApi.EnsureAsync(await Api.Operator.PutAsJsonAsync($"/v1/tenants/{tenant.Id}/budgets/cap",
            new { limit = 0.3m, currency = "USD", hardLimit = true }), HttpStatusCode.OK);
        await using var agent = new RestAgent(RestAgent.EnrollmentClient(Api), JobCalls.Unique("budget-agent"));
        await agent.RegisterOkAsync(capability);
        agent.StartHeartbeats();

        // One job reports a cost of 0.30: the limit, exactly. A second job is accepted before the spend is read.
        var first = JobCalls.Id(await JobCalls.SubmitCreatedAsync(tenant.Http, new { type = "t", capability, payload = new { n = 1 } }));
        var lease = await agent.LeaseOneAsync(TimeSpan.FromSeconds(30));
        var epoch = lease["epoch"]!.GetValue<long>();
        Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(first, epoch)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(first, epoch, """{"ok":true}""", cost: 0.3m)).StatusCode);

        // The cost shard applies the attempt, the budget reads the spend, the gateway's cache expires: then submits are
        // refused. A job accepted before that is not dropped: it runs to the end (at no cost) before the next submit.
        // The queue's admission may also turn a submit away for a moment (429: the first job waited for the agent's first
        // poll); such a refusal wrote nothing, and the submit is made again, as a client would after Retry-After.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        HttpResponseMessage answer;
        while (true)
        {
            answer = await JobCalls.SubmitAsync(tenant.Http, new { type = "t", capability, payload = new { n = 2 } });
            if (DateTime.UtcNow > deadline || answer.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.TooManyRequests))
            {
                break;
            }

            if (answer.StatusCode == HttpStatusCode.Created)
            {
                var jobId = JobCalls.Id((await answer.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonNode>())!);
                var next = await agent.LeaseOneAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(jobId, next["jobId"]!.GetValue<string>());
                Assert.Equal(HttpStatusCode.NoContent, (await agent.StartAsync(jobId, next["epoch"]!.GetValue<long>())).StatusCode);
                Assert.Equal(HttpStatusCode.NoContent, (await agent.CompleteAsync(jobId, next["epoch"]!.GetValue<long>(), """{"ok":true}""")).StatusCode);
                Assert.Equal("Succeeded", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, jobId)));
            }

            await Task.Delay(200);
        }

        var problem = await JobCalls.AssertProblemAsync(answer, HttpStatusCode.PaymentRequired);
        Assert.Equal(("urn:meshos:problem:budget-exceeded", "cap"), (problem["type"]!.GetValue<string>(), problem["budget"]!.GetValue<string>()));
        Assert.Contains("0.30 of 0.30 USD", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        RpcException rpc;
        do
        {
            rpc = await Assert.ThrowsAsync<RpcException>(() => new Jobs.JobsClient(Api.Channel()).SubmitAsync(
                new SubmitJobRequest { Type = "t", Capability = capability, PayloadJson = "{}" }, MeshApi.Key(tenant.Key)).ResponseAsync);
        }
        while (rpc.StatusCode == StatusCode.ResourceExhausted && DateTime.UtcNow < deadline); // the queue's admission, as above
        Assert.Equal(StatusCode.FailedPrecondition, rpc.StatusCode);
        Assert.Equal("Succeeded", JobCalls.Status(await JobCalls.GetAsync(tenant.Http, first)));

        var status = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/budgets"), HttpStatusCode.OK))!.AsArray().Single()!;
        Assert.Equal(("Exceeded", 0.3m), (status["state"]!.GetValue<string>(), status["spent"]!.GetValue<decimal>()));
        Assert.Equal([80, 100], status["alertsSent"]!.AsArray().Select(p => p!.GetValue<int>()));
        var audit = (await MeshApi.EnsureAsync(await tenant.Http.GetAsync("/v1/audit?action=jobs.submit&limit=1000"), HttpStatusCode.OK))!["entries"]!.AsArray();
        Assert.Contains(audit, e => e!["draft"]!["errorCode"]?.GetValue<string>() == "BudgetExceeded");
    }

    [Theory]
    [InlineData("""{"limit": 10, "currency": "EUR"}""", "currency")]
    [InlineData("""{"limit": 0, "currency": "USD"}""", "limit")]
    [InlineData("""{"limit": 10, "currency": "USD", "alertPercents": [90, 80]}""", "alertPercents")]
    [InlineData("""{"limit": 10, "currency": "USD", "period": "Custom", "from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"}""", "to")]
    [InlineData("""{"currency": "USD"}""", "limit")]
    public async Task A_bad_budget_is_refused_naming_the_field_and_nothing_is_stored(string body, string field)
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();

        var problem = await JobCalls.AssertProblemAsync(await Api.Operator.PutAsync($"/v1/tenants/{tenant.Id}/budgets/b",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);

        Assert.Contains(field, problem["detail"]?.GetValue<string>() ?? problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty((await MeshApi.EnsureAsync(await tenant.Http.GetAsync($"/v1/tenants/{tenant.Id}/budgets"), HttpStatusCode.OK))!.AsArray());
    }

    [Fact]
    public async Task Over_grpc_an_operator_sets_budgets_and_a_tenant_lists_its_own()
    {
        var tenant = await fixture.Mesh.CreateTenantAsync();
        var client = new Budgets.BudgetsClient(Api.Channel());
        var set = await client.PutBudgetAsync(new PutBudgetRequest { TenantId = tenant.Id, Name = "gpu", Limit = "99.5", Currency = "USD", Pool = "gpu" },
            MeshApi.Key(MeshProcess.OperatorKey));
        Assert.Equal(("gpu", "99.5", BudgetState.Ok, "gpu"), (set.Name, set.Limit, set.State, set.Pool));

        var own = await client.ListBudgetsAsync(new ListBudgetsRequest { TenantId = tenant.Id }, MeshApi.Key(tenant.Key));
        Assert.Equal(["gpu"], own.Budgets.Select(b => b.Name));
        var bad = await Assert.ThrowsAsync<RpcException>(() => client.PutBudgetAsync(
            new PutBudgetRequest { TenantId = tenant.Id, Name = "x", Limit = "lots", Currency = "USD" }, MeshApi.Key(MeshProcess.OperatorKey)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.PutBudgetAsync(
            new PutBudgetRequest { TenantId = JobCalls.Unique("nobody"), Name = "x", Limit = "1", Currency = "USD" }, MeshApi.Key(MeshProcess.OperatorKey)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var denied = await Assert.ThrowsAsync<RpcException>(() => client.PutBudgetAsync(
            new PutBudgetRequest { TenantId = tenant.Id, Name = "x", Limit = "1", Currency = "USD" }, MeshApi.Key(tenant.Key)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }
}
