using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Least privilege for operators: keys issued with a scope, checked on every REST and gRPC endpoint, refusals audited,
/// uses shown in the access review, revocation at once. One silo on a private PostgreSQL (keys live in grain storage).
/// </summary>
[Collection(PostgresKernelCollection.Name)]
public sealed class OperatorScopeTests(PostgresKernelFixture fixture)
{
    private MeshApi Api => fixture.Mesh.Api;

    [Fact]
    public async Task Each_operator_key_does_what_its_scope_allows_and_is_refused_the_rest_with_403_naming_both_scopes_and_audited()
    {
        var readOnly = await IssueAsync("ReadOnly");
        var responder = await IssueAsync("IncidentResponder");
        var admin = await IssueAsync("TenantAdmin");

        // Every scope reads.
        foreach (var key in new[] { readOnly, responder, admin })
        {
            await MeshApi.EnsureAsync(await key.Http.GetAsync("/v1/tenants"), HttpStatusCode.OK);
            await MeshApi.EnsureAsync(await key.Http.GetAsync("/v1/incidents"), HttpStatusCode.OK);
            await MeshApi.EnsureAsync(await key.Http.GetAsync("/v1/operator-keys"), HttpStatusCode.OK);
            await MeshApi.EnsureAsync(await key.Http.PostAsync("/v1/audit/verify", null), HttpStatusCode.OK);
        }

        // Tenants: tenant admins only (and full keys).
        var tenantId = "scoped-" + Guid.NewGuid().ToString("N")[..8];
        await AssertRefusedAsync(readOnly, await readOnly.Http.PostAsJsonAsync("/v1/tenants", new { id = tenantId }), "TenantAdmin");
        await AssertRefusedAsync(responder, await responder.Http.PostAsJsonAsync("/v1/tenants", new { id = tenantId }), "TenantAdmin");
        await MeshApi.EnsureAsync(await admin.Http.PostAsJsonAsync("/v1/tenants", new { id = tenantId }), HttpStatusCode.Created);

        // Incidents: responders only.
        var incident = new { severity = "P3", title = "scope test" };
        await AssertRefusedAsync(admin, await admin.Http.PostAsJsonAsync("/v1/incidents", incident), "IncidentResponder");
        await MeshApi.EnsureAsync(await responder.Http.PostAsJsonAsync("/v1/incidents", incident), HttpStatusCode.Created);

        // Operator keys themselves: full keys only.
        await AssertRefusedAsync(admin, await admin.Http.PostAsJsonAsync("/v1/operator-keys", new { name = "x", owner = "y", scope = "Full" }), "Full");

        // gRPC alike: reads pass the gate (an unknown agent is then NotFound), changes need the scope.
        using var channel = Api.Channel();
        var fleet = new Fleet.FleetClient(channel);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => fleet.GetAgentAsync(new AgentRef { AgentId = "no-such-agent" }, MeshApi.Key(readOnly.Key)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var denied = await Assert.ThrowsAsync<RpcException>(() => fleet.DrainAsync(new AgentAction { AgentId = "no-such-agent" }, MeshApi.Key(readOnly.Key)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal($"Operator key '{readOnly.KeyId}' has scope ReadOnly; this call needs IncidentResponder (or Full).", denied.Status.Detail);
        var drained = await Assert.ThrowsAsync<RpcException>(() => fleet.DrainAsync(new AgentAction { AgentId = "no-such-agent" }, MeshApi.Key(responder.Key)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, drained.StatusCode);

        // Operator keys over gRPC: every scope reviews, only a full key issues; a key issued over gRPC works over REST.
        var grpcKeys = new OperatorKeys.OperatorKeysClient(channel);
        var review = await grpcKeys.ReviewAsync(new ReviewOperatorKeysRequest(), MeshApi.Key(readOnly.Key));
        Assert.Equal(OperatorScope.ReadOnly, review.Keys.Single(r => r.Key.KeyId == readOnly.KeyId).Key.Scope);
        var notFull = await Assert.ThrowsAsync<RpcException>(() => grpcKeys.IssueAsync(
            new IssueOperatorKeyRequest { Name = "n", Owner = "o", Scope = OperatorScope.Full }, MeshApi.Key(admin.Key)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notFull.StatusCode);
        var viaGrpc = await grpcKeys.IssueAsync(new IssueOperatorKeyRequest { Name = "grpc", Owner = "o", Scope = OperatorScope.TenantAdmin },
            MeshApi.Key(MeshProcess.OperatorKey));
        using (var grpcIssued = Api.Client(viaGrpc.Key))
        {
            await MeshApi.EnsureAsync(await grpcIssued.PostAsJsonAsync("/v1/tenants", new { id = tenantId + "-g" }), HttpStatusCode.Created);
        }

        var unspecified = await Assert.ThrowsAsync<RpcException>(() => grpcKeys.IssueAsync(new IssueOperatorKeyRequest { Name = "n", Owner = "o" },
            MeshApi.Key(MeshProcess.OperatorKey)).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, true), (unspecified.StatusCode, unspecified.Status.Detail.StartsWith("scope: ", StringComparison.Ordinal)));

        // Each refusal is in the audit log under the key that was refused.
        var refusals = await AuditAsync($"action=auth.scope-denied&actor={readOnly.KeyId}");
        Assert.Equal(["endpoint/POST /meshos.v1.Fleet/Drain", "endpoint/POST /v1/tenants"],
            refusals.Select(e => e!["draft"]!["target"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(refusals, e => Assert.Equal(("Refused", "PermissionDenied"), (e!["draft"]!["outcome"]!.GetValue<string>(), e["draft"]!["errorCode"]!.GetValue<string>())));
    }

    [Fact]
    public async Task The_access_review_shows_each_keys_scope_owner_and_use_and_a_revoked_key_stops_working_at_once()
    {
        var key = await IssueAsync("Full", owner: "sre-team");
        await MeshApi.EnsureAsync(await key.Http.GetAsync("/v1/tenants"), HttpStatusCode.OK);

        // A full key used only to read is broader than its use: the review says so. Uses are reported without waiting.
        var row = await Eventually.WaitAsync(async () => await ReviewRowAsync(key.KeyId), r => r?["key"]?["lastUsedAt"] is not null,
            TimeSpan.FromSeconds(30));
        Assert.Equal(("sre-team", "Full", "ReadOnly"), (row!["key"]!["owner"]!.GetValue<string>(), row["key"]!["scope"]!.GetValue<string>(),
            string.Join(",", row["key"]!["usedScopes"]!.AsArray().Select(s => s!.GetValue<string>()))));
        Assert.Contains("needed only 'read-only'", row["hygiene"]!.GetValue<string>(), StringComparison.Ordinal);

        var revoked = await MeshApi.EnsureAsync(await Api.Operator.DeleteAsync($"/v1/operator-keys/{key.KeyId}"), HttpStatusCode.OK);
        Assert.NotNull(revoked!["revokedAt"]);
        await JobCalls.AssertProblemAsync(await key.Http.GetAsync("/v1/tenants"), HttpStatusCode.Unauthorized);
        Assert.Null((await ReviewRowAsync(key.KeyId))!["hygiene"]);
        await JobCalls.AssertProblemAsync(await Api.Operator.DeleteAsync("/v1/operator-keys/000000000000"), HttpStatusCode.NotFound);

        var issued = await AuditAsync("action=operator-keys.issue&actor=operator");
        Assert.Contains(issued, e => e!["draft"]!["outcome"]!.GetValue<string>() == "Succeeded");
        var revokes = await AuditAsync($"action=operator-keys.revoke&target=operator-key/{key.KeyId}");
        Assert.Equal(["Succeeded"], revokes.Select(e => e!["draft"]!["outcome"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_operator_key_request_without_a_name_an_owner_or_a_known_scope_is_refused_with_400_and_issues_nothing()
    {
        var before = (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/operator-keys"), HttpStatusCode.OK))!["keys"]!.AsArray().Count;
        object[] bad =
        [
            new { owner = "o", scope = "ReadOnly" },
            new { name = "n", scope = "ReadOnly" },
            new { name = "n", owner = "o" },
            new { name = "n", owner = "o", scope = "Root" },
            new { name = "   ", owner = "o", scope = "ReadOnly" },
            new { name = new string('n', 101), owner = "o", scope = "ReadOnly" },
        ];
        foreach (var body in bad)
        {
            await JobCalls.AssertProblemAsync(await Api.Operator.PostAsJsonAsync("/v1/operator-keys", body), HttpStatusCode.BadRequest);
        }

        Assert.Equal(before, (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/operator-keys"), HttpStatusCode.OK))!["keys"]!.AsArray().Count);
    }

    private async Task<ScopedKey> IssueAsync(string scope, string owner = "e2e")
    {
        var issued = await MeshApi.EnsureAsync(
            await Api.Operator.PostAsJsonAsync("/v1/operator-keys", new { name = scope + " key", owner, scope }), HttpStatusCode.Created);
        var key = issued!["key"]!.GetValue<string>();
        Assert.StartsWith("mko.", key, StringComparison.Ordinal);
        Assert.Equal(scope, issued["info"]!["scope"]!.GetValue<string>());
        return new ScopedKey(issued["keyId"]!.GetValue<string>(), key, Api.Client(key));
    }

    private static async Task AssertRefusedAsync(ScopedKey key, HttpResponseMessage response, string needed)
    {
        var problem = await JobCalls.AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Matches($"^Operator key '{key.KeyId}' has scope [A-Za-z]+; this call needs {needed} \\(or Full\\)\\.$", problem["detail"]!.GetValue<string>());
    }

    private async Task<JsonArray> AuditAsync(string query) =>
        (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/audit?" + query), HttpStatusCode.OK))!["entries"]!.AsArray();

    private async Task<JsonNode?> ReviewRowAsync(string keyId) =>
        (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/operator-keys"), HttpStatusCode.OK))!["keys"]!.AsArray()
            .FirstOrDefault(r => r!["key"]!["keyId"]!.GetValue<string>() == keyId);

    private sealed record ScopedKey(string KeyId, string Key, HttpClient Http);
}
