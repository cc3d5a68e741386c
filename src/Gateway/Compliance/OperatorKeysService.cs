using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;

namespace MeshOs.Gateway.Compliance;

/// <summary>
/// Operator keys with scopes (least privilege), once for every transport: issue, revoke, TOTP enrolment, and the access
/// review that lists every key with its scope, owner, last use and MFA status for the quarterly review. Issuing,
/// revoking and removing a key's TOTP need a <see cref="OperatorScope.Full"/> key (the scope gate's default for
/// changes); a key enrols and confirms its own TOTP whatever its scope, a full key any key's. All are audited (never
/// the secret or a code); a revocation takes effect on this gateway at once and on the others within
/// <c>MeshOs:Gateway:KeyCacheDuration</c>.
/// </summary>
public sealed class OperatorKeysService(IGrainFactory grains, OperatorKeyCache cache, Mutations mutations, SecondFactors factors)
{
    private IOperatorKeysGrain Keys => grains.GetGrain<IOperatorKeysGrain>(0);

    public Task<IssuedOperatorKey> IssueAsync(MeshCaller caller, string? name, string? owner, OperatorScope scope)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.IssueOperatorKey, MeshTargets.OperatorKey("new"), ChangeSummaries.IssueOperatorKey(name, owner, scope.ToString()), async () =>
        {
            var issued = await Keys.IssueAsync(name ?? string.Empty, owner ?? string.Empty, scope);
            cache.Invalidate();
            return issued;
        });
    }

    public Task<OperatorKeyInfo> RevokeAsync(MeshCaller caller, string keyId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.RevokeOperatorKey, MeshTargets.OperatorKey(keyId), ChangeSummaries.RevokeKey(keyId), async () =>
        {
            var revoked = await Keys.RevokeAsync(keyId);
            cache.Invalidate();
            return revoked;
        });
    }

    /// <summary>The access review; the bootstrap key's MFA status is this gateway's configuration's.</summary>
    public async Task<AccessReview> ReviewAsync(MeshCaller caller)
    {
        caller.RequireOperator();
        var review = await Keys.ReviewAsync();
        return review with
        {
            Keys = [.. review.Keys.Select(r => r.Key.KeyId == OperatorKeyFormat.BootstrapKeyId ? r with { Key = r.Key with { Mfa = factors.BootstrapStatus } } : r)],
        };
    }

    /// <summary>Starts TOTP enrolment of <paramref name="keyId"/> (its own key, or any with a full key): the secret is in this answer only.</summary>
    public Task<MfaEnrolment> EnrolMfaAsync(MeshCaller caller, string keyId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.EnrolOperatorKeyMfa, MeshTargets.OperatorKey(keyId), ChangeSummaries.RevokeKey(keyId), () =>
        {
            RequireSelfOrFull(caller, keyId);
            return Keys.BeginMfaAsync(keyId);
        });
    }

    /// <summary>Enables the pending TOTP secret of <paramref name="keyId"/> with its current code.</summary>
    public Task<OperatorKeyInfo> ConfirmMfaAsync(MeshCaller caller, string keyId, string? code)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.ConfirmOperatorKeyMfa, MeshTargets.OperatorKey(keyId), ChangeSummaries.RevokeKey(keyId), () =>
        {
            if (string.IsNullOrEmpty(code) || code.Length > ProductionMfa.MaxCodeLength)
            {
                throw MeshException.Invalid("code", "required: the authenticator's current 6-digit code.");
            }

            RequireSelfOrFull(caller, keyId);
            return Keys.ConfirmMfaAsync(keyId, code);
        });
    }

    /// <summary>Removes the TOTP secret of <paramref name="keyId"/> (a full key; a production action, so it needs the caller's own second factor where enforced).</summary>
    public Task<OperatorKeyInfo> RemoveMfaAsync(MeshCaller caller, string keyId)
    {
        caller.RequireOperator();
        return mutations.RunAsync(caller, MeshActions.RemoveOperatorKeyMfa, MeshTargets.OperatorKey(keyId), ChangeSummaries.RevokeKey(keyId), () =>
        {
            NotBootstrap(keyId);
            return Keys.RemoveMfaAsync(keyId);
        });
    }

    private static void RequireSelfOrFull(MeshCaller caller, string keyId)
    {
        NotBootstrap(keyId);
        if (caller.KeyId != keyId && caller.OperatorScope != OperatorScope.Full)
        {
            throw new MeshException(MeshErrorCode.PermissionDenied,
                $"Operator key '{caller.KeyId}' may enrol only its own second factor; another key's needs a Full key.");
        }
    }

    private static void NotBootstrap(string keyId)
    {
        if (keyId == OperatorKeyFormat.BootstrapKeyId)
        {
            throw MeshException.Precondition("The bootstrap key's second factor is set in configuration (MeshOs:Gateway:OperatorKeyTotpSecret), not through the API.");
        }
    }
}
