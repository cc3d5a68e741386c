using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using OperatorKeyFormat = MeshOs.Abstractions.Compliance.OperatorKeyFormat;
using TotpCodes = MeshOs.Abstractions.Compliance.TotpCodes;
using MeshOs.Grpc.V1;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;

namespace MeshOs.Tests.EndToEnd.Security;

/// <summary>
/// Production access with a second factor: operator keys enrol TOTP (REST and gRPC), and the production-mfa policy,
/// switched between audit and enforce through /v1/compliance, checks every production action (an operator call that
/// changes something) at the gateway. One embedded silo of its own: enforce mode must not reach other tests, and the
/// bootstrap key has a TOTP secret here.
/// </summary>
[Collection(ProductionMfaCollection.Name)]
public sealed class ProductionMfaTests(ProductionMfaFixture fixture)
{
    private MeshApi Api => fixture.Mesh.Api;

    [Fact]
    public async Task A_key_enrols_its_own_totp_pending_until_confirmed_and_the_review_and_audit_log_show_its_status_never_the_secret()
    {
        var key = await IssueAsync("ReadOnly");

        // A read-only key enrols itself (not a production action); another read-only key may not enrol it.
        var other = await IssueAsync("ReadOnly");
        var notSelf = await JobCalls.AssertProblemAsync(await other.Http.PostAsync($"/v1/operator-keys/{key.KeyId}/mfa", null), HttpStatusCode.Forbidden);
        Assert.Equal($"Operator key '{other.KeyId}' may enrol only its own second factor; another key's needs a Full key.", Detail(notSelf));

        var enrolment = await MeshApi.EnsureAsync(await key.Http.PostAsync($"/v1/operator-keys/{key.KeyId}/mfa", null), HttpStatusCode.OK);
        var secretText = enrolment!["secret"]!.GetValue<string>();
        Assert.True(TotpCodes.TryParseBase32(secretText, out var secret));
        Assert.Equal($"otpauth://totp/MeshOs:operator-key%20{key.KeyId}?secret={secretText}&issuer=MeshOs&algorithm=SHA1&digits=6&period=30",
            enrolment["uri"]!.GetValue<string>());
        Assert.Equal("Pending", await MfaStatusAsync(key.KeyId));

        var wrong = await JobCalls.AssertProblemAsync(await key.Http.PostAsJsonAsync($"/v1/operator-keys/{key.KeyId}/mfa/confirm", new { code = "12345" }),
            HttpStatusCode.BadRequest);
        Assert.Equal("code: not the current 6-digit code of the pending secret.", Detail(wrong));
        var authenticator = new Authenticator(secret);
        var confirmed = await MeshApi.EnsureAsync(await key.Http.PostAsJsonAsync($"/v1/operator-keys/{key.KeyId}/mfa/confirm",
            new { code = await authenticator.NextCodeAsync() }), HttpStatusCode.OK);
        Assert.Equal("Enabled", confirmed!["mfa"]!.GetValue<string>());
        Assert.Equal("Enabled", await MfaStatusAsync(key.KeyId));
        Assert.Equal("Enabled", await MfaStatusAsync(OperatorKeyFormat.BootstrapKeyId)); // from MeshOs:Gateway:OperatorKeyTotpSecret

        // Enabled: enrolling again is refused until a full key removes it.
        await JobCalls.AssertProblemAsync(await key.Http.PostAsync($"/v1/operator-keys/{key.KeyId}/mfa", null), HttpStatusCode.Conflict);
        await JobCalls.AssertProblemAsync(await key.Http.DeleteAsync($"/v1/operator-keys/{key.KeyId}/mfa"), HttpStatusCode.Forbidden);

        // gRPC alike: the other key enrols itself, the review shows both.
        using var channel = Api.Channel();
        var grpcKeys = new OperatorKeys.OperatorKeysClient(channel);
        var grpcEnrolment = await grpcKeys.EnrolMfaAsync(new OperatorKeyRef { KeyId = other.KeyId }, MeshApi.Key(other.Key));
        Assert.True(TotpCodes.TryParseBase32(grpcEnrolment.Secret, out var otherSecret));
        var badCode = await Assert.ThrowsAsync<RpcException>(() => grpcKeys.ConfirmMfaAsync(
            new ConfirmMfaRequest { KeyId = other.KeyId, Code = "abcdef" }, MeshApi.Key(other.Key)).ResponseAsync);
        Assert.Equal((StatusCode.InvalidArgument, "code: not the current 6-digit code of the pending secret."), (badCode.StatusCode, badCode.Status.Detail));
        var grpcConfirmed = await grpcKeys.ConfirmMfaAsync(
            new ConfirmMfaRequest { KeyId = other.KeyId, Code = await new Authenticator(otherSecret).NextCodeAsync() }, MeshApi.Key(other.Key));
        Assert.Equal(MfaStatus.Enabled, grpcConfirmed.Mfa);
        var review = await grpcKeys.ReviewAsync(new ReviewOperatorKeysRequest(), MeshApi.Key(other.Key));
        Assert.Equal(MfaStatus.Enabled, review.Keys.Single(r => r.Key.KeyId == key.KeyId).Key.Mfa);
        var removed = await grpcKeys.RemoveMfaAsync(new OperatorKeyRef { KeyId = other.KeyId }, await fixture.BootstrapMetadataAsync());
        Assert.Equal(MfaStatus.None, removed.Mfa);

        // The audit log has each step, under the key that made it, and never a secret.
        var entries = await AuditAsync($"target=operator-key/{key.KeyId}");
        Assert.Equal(["operator-keys.mfa.confirm:Refused", "operator-keys.mfa.confirm:Succeeded", "operator-keys.mfa.enrol:Refused",
                "operator-keys.mfa.enrol:Refused", "operator-keys.mfa.enrol:Succeeded"],
            entries.Select(e => e!["draft"]!["action"]!.GetValue<string>() + ":" + e["draft"]!["outcome"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        var everything = (await Api.Operator.GetStringAsync("/v1/audit?limit=1000")) + await Api.Operator.GetStringAsync("/v1/operator-keys");
        Assert.DoesNotContain(secretText, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(grpcEnrolment.Secret, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enforced_a_production_action_without_a_valid_code_is_refused_naming_the_policy_and_changes_nothing_and_with_one_it_goes_ahead()
    {
        var key = await IssueWithTotpAsync("Full");
        var noMfa = await IssueAsync("TenantAdmin");
        var (_, tenantKey) = await Api.CreateTenantAsync(); // before enforcing: the bootstrap key without a code
        await SetModeAsync("Enforce");
        try
        {
            // No code: 403 naming the policy, nothing created, audited as auth.mfa-required.
            var tenantId = "mfa-" + Guid.NewGuid().ToString("N")[..8];
            var missing = await JobCalls.AssertProblemAsync(await key.Http.PostAsJsonAsync("/v1/tenants", new { id = tenantId }), HttpStatusCode.Forbidden);
            Assert.Equal($"Refused by policy 'production-mfa' (enforce): Production action POST /v1/tenants by operator key '{key.KeyId}' "
                + "without a second factor (no X-MeshOs-Otp code).", Detail(missing));
            await JobCalls.AssertProblemAsync(await Api.Operator.GetAsync($"/v1/tenants/{tenantId}"), HttpStatusCode.NotFound);

            // A wrong code, and a key without TOTP: refused, audited as auth.mfa-invalid.
            var wrong = await JobCalls.AssertProblemAsync(await SendAsync(key, HttpMethod.Post, "/v1/tenants", new { id = tenantId }, key.Authenticator!.WrongCode()),
                HttpStatusCode.Forbidden);
            Assert.EndsWith("with an X-MeshOs-Otp code that is not the key's current TOTP code.", Detail(wrong), StringComparison.Ordinal);
            var unenrolled = await JobCalls.AssertProblemAsync(await SendAsync(noMfa, HttpMethod.Post, "/v1/tenants", new { id = tenantId }, "123456"),
                HttpStatusCode.Forbidden);
            Assert.EndsWith("but the key has no TOTP enabled (enrol with POST /v1/operator-keys/{id}/mfa).", Detail(unenrolled), StringComparison.Ordinal);
            await JobCalls.AssertProblemAsync(await Api.Operator.GetAsync($"/v1/tenants/{tenantId}"), HttpStatusCode.NotFound);

            // The current code: created. The same code again: a replay, refused.
            var code = await key.Authenticator.NextCodeAsync();
            await MeshApi.EnsureAsync(await SendAsync(key, HttpMethod.Post, "/v1/tenants", new { id = tenantId }, code), HttpStatusCode.Created);
            var replayed = await JobCalls.AssertProblemAsync(await SendAsync(key, HttpMethod.Post, "/v1/tenants", new { id = tenantId + "-2" }, code),
                HttpStatusCode.Forbidden);
            Assert.EndsWith("with an X-MeshOs-Otp code that was already used (one code per call: wait for the next).", Detail(replayed), StringComparison.Ordinal);
            await JobCalls.AssertProblemAsync(await Api.Operator.GetAsync($"/v1/tenants/{tenantId}-2"), HttpStatusCode.NotFound);

            // Not production actions: reads, a key enrolling its own TOTP, and anything a tenant key does.
            await MeshApi.EnsureAsync(await key.Http.GetAsync("/v1/tenants"), HttpStatusCode.OK);
            await MeshApi.EnsureAsync(await noMfa.Http.PostAsync($"/v1/operator-keys/{noMfa.KeyId}/mfa", null), HttpStatusCode.OK);
            using (var tenant = Api.Client(tenantKey))
            {
                await JobCalls.SubmitCreatedAsync(tenant, new { type = "mfa", capability = JobCalls.Unique("mfa"), payload = new { n = 1 } });
            }

            // gRPC: the code travels in x-meshos-otp metadata; without it PermissionDenied naming the policy.
            using var channel = Api.Channel();
            var fleet = new Fleet.FleetClient(channel);
            var denied = await Assert.ThrowsAsync<RpcException>(() => fleet.DrainAsync(new AgentAction { AgentId = "no-such-agent" }, MeshApi.Key(key.Key)).ResponseAsync);
            Assert.Equal((StatusCode.PermissionDenied, $"Refused by policy 'production-mfa' (enforce): Production action POST /meshos.v1.Fleet/Drain by operator key '{key.KeyId}' "
                + "without a second factor (no X-MeshOs-Otp code)."), (denied.StatusCode, denied.Status.Detail));
            code = await key.Authenticator.NextCodeAsync();
            var passed = await Assert.ThrowsAsync<RpcException>(() => fleet.DrainAsync(new AgentAction { AgentId = "no-such-agent" },
                new Metadata { { "x-api-key", key.Key }, { "x-meshos-otp", code } }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, passed.StatusCode); // past the gate: the agent is unknown

            // Each refusal is in the audit log under the key, with its own action.
            var required = await AuditAsync($"action=auth.mfa-required&actor={key.KeyId}");
            Assert.Equal(["endpoint/POST /meshos.v1.Fleet/Drain", "endpoint/POST /v1/tenants"],
                required.Select(e => e!["draft"]!["target"]!.GetValue<string>()).Order(StringComparer.Ordinal));
            Assert.All(required, e => Assert.Equal(("Refused", "PermissionDenied"), (e!["draft"]!["outcome"]!.GetValue<string>(), e["draft"]!["errorCode"]!.GetValue<string>())));
            Assert.Equal(2, (await AuditAsync($"action=auth.mfa-invalid&actor={key.KeyId}")).Count);
            Assert.Single(await AuditAsync($"action=auth.mfa-invalid&actor={noMfa.KeyId}"));
        }
        finally
        {
            await SetModeAsync("Audit", await fixture.BootstrapCodeAsync());
        }
    }

    [Fact]
    public async Task In_audit_mode_a_production_action_without_a_code_goes_ahead_and_becomes_a_finding_on_the_key_that_a_valid_code_resolves()
    {
        var key = await IssueWithTotpAsync("TenantAdmin");
        await MeshApi.EnsureAsync(await key.Http.PostAsJsonAsync("/v1/tenants", new { id = "mfa-audit-" + Guid.NewGuid().ToString("N")[..8] }),
            HttpStatusCode.Created);

        var open = await Eventually.WaitAsync(() => FindingAsync(key.KeyId), f => f?["state"]?.GetValue<string>() == "Open", TimeSpan.FromSeconds(30));
        Assert.Equal(("Open", "Fail", "Critical"), (open?["state"]?.GetValue<string>(), open?["lastOutcome"]?.GetValue<string>(), open?["severity"]?.GetValue<string>()));
        Assert.StartsWith($"Production action POST /v1/tenants by operator key '{key.KeyId}' without a second factor", open!["message"]!.GetValue<string>(),
            StringComparison.Ordinal);

        await MeshApi.EnsureAsync(await SendAsync(key, HttpMethod.Post, "/v1/tenants", new { id = "mfa-audit-" + Guid.NewGuid().ToString("N")[..8] },
            await key.Authenticator!.NextCodeAsync()), HttpStatusCode.Created);
        var resolved = await Eventually.WaitAsync(() => FindingAsync(key.KeyId), f => f?["state"]?.GetValue<string>() == "Resolved", TimeSpan.FromSeconds(30));
        Assert.Equal(("Resolved", "Pass"), (resolved?["state"]?.GetValue<string>(), resolved?["lastOutcome"]?.GetValue<string>()));
    }

    private async Task<JsonNode?> FindingAsync(string keyId)
    {
        var page = await MeshApi.EnsureAsync(await Api.Operator.GetAsync($"/v1/compliance/findings?policy=production-mfa&subject=operator-key/{keyId}"),
            HttpStatusCode.OK);
        return page!["findings"]!.AsArray().SingleOrDefault();
    }

    private async Task SetModeAsync(string mode, string? code = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/compliance/policies/production-mfa")
        {
            Content = JsonContent.Create(new { rule = "production-mfa", mode, severity = "Critical" }),
        };
        if (code is not null)
        {
            request.Headers.Add("X-MeshOs-Otp", code);
        }

        await MeshApi.EnsureAsync(await Api.Operator.SendAsync(request), HttpStatusCode.OK);
    }

    private static async Task<HttpResponseMessage> SendAsync(ScopedKey key, HttpMethod method, string path, object body, string code)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("X-MeshOs-Otp", code);
        return await key.Http.SendAsync(request);
    }

    private async Task<ScopedKey> IssueAsync(string scope)
    {
        var issued = await MeshApi.EnsureAsync(
            await Api.Operator.PostAsJsonAsync("/v1/operator-keys", new { name = scope + " key", owner = "mfa-e2e", scope }), HttpStatusCode.Created);
        var key = issued!["key"]!.GetValue<string>();
        return new ScopedKey(issued["keyId"]!.GetValue<string>(), key, Api.Client(key), null);
    }

    /// <summary>A key with TOTP enabled (issued and enrolled while production-mfa audits).</summary>
    private async Task<ScopedKey> IssueWithTotpAsync(string scope)
    {
        var key = await IssueAsync(scope);
        var enrolment = await MeshApi.EnsureAsync(await key.Http.PostAsync($"/v1/operator-keys/{key.KeyId}/mfa", null), HttpStatusCode.OK);
        Assert.True(TotpCodes.TryParseBase32(enrolment!["secret"]!.GetValue<string>(), out var secret));
        var authenticator = new Authenticator(secret);
        await MeshApi.EnsureAsync(await key.Http.PostAsJsonAsync($"/v1/operator-keys/{key.KeyId}/mfa/confirm", new { code = await authenticator.NextCodeAsync() }),
            HttpStatusCode.OK);
        return key with { Authenticator = authenticator };
    }

    private async Task<string?> MfaStatusAsync(string keyId) =>
        (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/operator-keys"), HttpStatusCode.OK))!["keys"]!.AsArray()
            .Single(r => r!["key"]!["keyId"]!.GetValue<string>() == keyId)!["key"]!["mfa"]!.GetValue<string>();

    private async Task<JsonArray> AuditAsync(string query) =>
        (await MeshApi.EnsureAsync(await Api.Operator.GetAsync("/v1/audit?" + query), HttpStatusCode.OK))!["entries"]!.AsArray();

    private static string Detail(JsonNode problem) => problem["detail"]!.GetValue<string>();

    private sealed record ScopedKey(string KeyId, string Key, HttpClient Http, Authenticator? Authenticator);
}

/// <summary>
/// What an authenticator app does for a test: the code of the next time step this test has not used yet (codes are
/// accepted once, and one step ahead of now), waiting for the clock when both the current and the next were used.
/// </summary>
public sealed class Authenticator(byte[] secret)
{
    private readonly Lock _gate = new();
    private long _lastStep;

    public async Task<string> NextCodeAsync()
    {
        while (true)
        {
            if (TryNext(out var code))
            {
                return code;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>A 6-digit code that is none of the codes accepted now.</summary>
    public string WrongCode()
    {
        var now = DateTimeOffset.UtcNow;
        var valid = new[] { -2, -1, 0, 1, 2 }.Select(k => TotpCodes.CodeAt(secret, now.AddSeconds(k * TotpCodes.StepSeconds))).ToHashSet();
        return Enumerable.Range(0, 10).Select(d => new string((char)('0' + d), 6)).First(c => !valid.Contains(c));
    }

    private bool TryNext(out string code)
    {
        lock (_gate)
        {
            var current = TotpCodes.StepAt(DateTimeOffset.UtcNow);
            var step = Math.Max(_lastStep + 1, current);
            if (step > current + 1)
            {
                code = string.Empty;
                return false;
            }

            _lastStep = step;
            code = TotpCodes.CodeAt(secret, DateTimeOffset.FromUnixTimeSeconds(step * TotpCodes.StepSeconds));
            return true;
        }
    }
}

/// <summary>An embedded silo whose bootstrap key has a TOTP secret from configuration.</summary>
public sealed class ProductionMfaFixture : IAsyncLifetime
{
    /// <summary>The bootstrap key's TOTP secret (MeshOs:Gateway:OperatorKeyTotpSecret), 160 bits.</summary>
    public const string BootstrapTotpSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    private readonly Authenticator _bootstrap = new(TotpCodes.TryParseBase32(BootstrapTotpSecret, out var secret) ? secret : throw new InvalidOperationException());

    public KernelMesh Mesh { get; private set; } = null!;

    public async Task InitializeAsync() => Mesh = await KernelMesh.StartAsync(settings: new Dictionary<string, string>
    {
        ["MeshOs:Gateway:OperatorKeyTotpSecret"] = BootstrapTotpSecret,
    });

    /// <summary>The bootstrap key's next code.</summary>
    public Task<string> BootstrapCodeAsync() => _bootstrap.NextCodeAsync();

    /// <summary>gRPC metadata with the bootstrap key and its next code.</summary>
    public async Task<Metadata> BootstrapMetadataAsync() => new() { { "x-api-key", MeshProcess.OperatorKey }, { "x-meshos-otp", await BootstrapCodeAsync() } };

    public async Task DisposeAsync()
    {
        if (Mesh is not null)
        {
            await Mesh.DisposeAsync();
        }
    }
}

/// <summary>Production MFA: a silo of its own (enforce mode and the bootstrap key's secret reach no other test).</summary>
[CollectionDefinition(Name)]
public sealed class ProductionMfaCollection : ICollectionFixture<ProductionMfaFixture>
{
    public const string Name = "security production mfa";
}
