using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Tests.Cluster.Compliance;

[Collection(MeshClusterCollection.Name)]
public sealed class OperatorKeysClusterTests(MeshClusterFixture fixture)
{
    private IOperatorKeysGrain Keys => fixture.Grains.GetGrain<IOperatorKeysGrain>(0);

    [Fact]
    public async Task An_issued_key_authenticates_with_its_secret_only_until_it_is_revoked()
    {
        var issued = await Keys.IssueAsync("deploy bot", "release-team", OperatorScope.ReleaseManager);
        Assert.True(OperatorKeyFormat.TryParse(issued.Key, out var keyId, out var secret));
        Assert.Equal(issued.KeyId, keyId);

        Assert.Equal(new OperatorKeyHolder(keyId, OperatorScope.ReleaseManager, "release-team"),
            await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret)]));
        Assert.Null(await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret + "x")]));

        var revoked = await Keys.RevokeAsync(keyId);
        Assert.Equal(fixture.Clock.Now, revoked.RevokedAt);
        Assert.Null(await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret)]));
        Assert.Equal(revoked, await Keys.RevokeAsync(keyId));
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => Keys.RevokeAsync("000000000000"))).Code);
    }

    [Fact]
    public async Task A_key_is_refused_without_a_name_or_an_owner()
    {
        foreach (var (name, owner) in new[] { ("", "o"), (" ", "o"), (new string('n', 101), "o"), ("n", ""), ("n", "  "), ("n", new string('o', 201)) })
        {
            Assert.Equal(MeshErrorCode.InvalidArgument, (await Assert.ThrowsAsync<MeshException>(() => Keys.IssueAsync(name, owner, OperatorScope.ReadOnly))).Code);
        }
    }

    [Fact]
    public async Task The_review_shows_each_keys_use_and_the_bootstrap_key_first_once_used()
    {
        var issued = await Keys.IssueAsync("auditor", "compliance", OperatorScope.Full);
        var t0 = fixture.Clock.Now;
        await Keys.RecordUseAsync(issued.KeyId, OperatorScope.ReadOnly, t0);
        await Keys.RecordUseAsync(OperatorKeyFormat.BootstrapKeyId, OperatorScope.TenantAdmin, t0);
        var review = await Keys.ReviewAsync();

        var row = review.Keys.Single(r => r.Key.KeyId == issued.KeyId);
        Assert.Equal(t0, row.Key.LastUsedAt);
        Assert.Equal([OperatorScope.ReadOnly], row.Key.UsedScopes.ToArray());
        Assert.Contains("needed only 'read-only'", row.Hygiene, StringComparison.Ordinal);

        var bootstrap = review.Keys[0];
        Assert.Equal((OperatorKeyFormat.BootstrapKeyId, OperatorScope.Full, "configuration"), (bootstrap.Key.KeyId, bootstrap.Key.Scope, bootstrap.Key.Owner));
        Assert.Contains(OperatorScope.TenantAdmin, bootstrap.Key.UsedScopes);
    }
    [Fact]
    public async Task A_key_enrols_totp_pending_until_confirmed_and_then_each_code_is_accepted_once()
    {
        var issued = await Keys.IssueAsync("on-call", "sre", OperatorScope.IncidentResponder);
        var enrolment = await Keys.BeginMfaAsync(issued.KeyId);
        Assert.True(TotpCodes.TryParseBase32(enrolment.Secret, out var secret));
        Assert.StartsWith($"otpauth://totp/MeshOs:operator-key%20{issued.KeyId}?secret={enrolment.Secret}&", enrolment.Uri, StringComparison.Ordinal);
        Assert.Equal(MfaStatus.Pending, await StatusAsync(issued.KeyId));

        // Pending: no code is a second factor yet, and a wrong code does not confirm.
        var now = fixture.Clock.Now;
        var code = TotpCodes.CodeAt(secret, now);
        Assert.Equal(TotpOutcome.NotEnrolled, (await Keys.VerifyMfaAsync(issued.KeyId, code)).Outcome);
        var wrong = await Assert.ThrowsAsync<MeshException>(() => Keys.ConfirmMfaAsync(issued.KeyId, code == "000000" ? "000001" : "000000"));
        Assert.Equal((MeshErrorCode.InvalidArgument, "code"), (wrong.Code, wrong.Field));

        var confirmed = await Keys.ConfirmMfaAsync(issued.KeyId, code);
        Assert.Equal(MfaStatus.Enabled, confirmed.Mfa);
        Assert.Equal(MfaStatus.Enabled, await StatusAsync(issued.KeyId));

        // The confirming code's step is used; the next step's code (already valid: one step of tolerance) is accepted once.
        Assert.Equal(TotpOutcome.Replayed, (await Keys.VerifyMfaAsync(issued.KeyId, code)).Outcome);
        var next = TotpCodes.CodeAt(secret, now.AddSeconds(TotpCodes.StepSeconds));
        Assert.Equal(new TotpCheck(TotpOutcome.Accepted, TotpCodes.StepAt(now) + 1), await Keys.VerifyMfaAsync(issued.KeyId, next));
        Assert.Equal(TotpOutcome.Replayed, (await Keys.VerifyMfaAsync(issued.KeyId, next)).Outcome);
        Assert.Equal(TotpOutcome.Missing, (await Keys.VerifyMfaAsync(issued.KeyId, null)).Outcome);

        // Enabled: enrolling again is refused until it is removed; removing is idempotent.
        Assert.Equal(MeshErrorCode.FailedPrecondition, (await Assert.ThrowsAsync<MeshException>(() => Keys.BeginMfaAsync(issued.KeyId))).Code);
        Assert.Equal(MfaStatus.None, (await Keys.RemoveMfaAsync(issued.KeyId)).Mfa);
        Assert.Equal(MfaStatus.None, (await Keys.RemoveMfaAsync(issued.KeyId)).Mfa);
        Assert.Equal(TotpOutcome.NotEnrolled, (await Keys.VerifyMfaAsync(issued.KeyId, next)).Outcome);
        Assert.Equal(MeshErrorCode.FailedPrecondition, (await Assert.ThrowsAsync<MeshException>(() => Keys.ConfirmMfaAsync(issued.KeyId, next))).Code);
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => Keys.BeginMfaAsync("000000000000"))).Code);
    }

    [Fact]
    public async Task A_revoked_key_cannot_enrol_and_its_codes_are_no_second_factor()
    {
        var issued = await Keys.IssueAsync("leaver", "sre", OperatorScope.Full);
        var enrolment = await Keys.BeginMfaAsync(issued.KeyId);
        Assert.True(TotpCodes.TryParseBase32(enrolment.Secret, out var secret));
        await Keys.ConfirmMfaAsync(issued.KeyId, TotpCodes.CodeAt(secret, fixture.Clock.Now));
        await Keys.RevokeAsync(issued.KeyId);

        Assert.Equal(TotpOutcome.NotEnrolled,
            (await Keys.VerifyMfaAsync(issued.KeyId, TotpCodes.CodeAt(secret, fixture.Clock.Now.AddSeconds(TotpCodes.StepSeconds)))).Outcome);
        Assert.Equal(MeshErrorCode.FailedPrecondition, (await Assert.ThrowsAsync<MeshException>(() => Keys.BeginMfaAsync(issued.KeyId))).Code);
    }

    [Fact]
    public async Task The_bootstrap_keys_steps_are_claimed_once_and_only_forward()
    {
        var step = TotpCodes.StepAt(fixture.Clock.Now) + 1_000; // ahead of any other test's claim
        Assert.True(await Keys.ClaimBootstrapMfaStepAsync(step));
        Assert.False(await Keys.ClaimBootstrapMfaStepAsync(step));
        Assert.False(await Keys.ClaimBootstrapMfaStepAsync(step - 1));
        Assert.True(await Keys.ClaimBootstrapMfaStepAsync(step + 1));
    }

    private async Task<MfaStatus> StatusAsync(string keyId) => (await Keys.ReviewAsync()).Keys.Single(r => r.Key.KeyId == keyId).Key.Mfa;
}
