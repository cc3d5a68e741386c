using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Abstractions.Compliance;

/// <summary>
/// The operator keys of the mesh, each with a scope (least privilege), an owner and its use, for authentication and
/// the quarterly access review. Key: 0 (one per cluster). Keys are stored as hashes only.
/// </summary>
[Alias("meshos.IOperatorKeysGrain")]
public interface IOperatorKeysGrain : IGrainWithIntegerKey
{
    /// <summary>Issues a key; its secret is in the answer only. Invalid for a bad name or owner, Exhausted past the limit.</summary>
    [Alias("Issue")]
    Task<IssuedOperatorKey> IssueAsync(string name, string owner, OperatorScope scope);

    /// <summary>Revokes a key at once (idempotent); NotFound for an unknown id.</summary>
    [Alias("Revoke")]
    Task<OperatorKeyInfo> RevokeAsync(string keyId);

    /// <summary>The key's holder when the id and the secret's hash match an active key; null otherwise.</summary>
    [Alias("Authenticate")]
    Task<OperatorKeyHolder?> AuthenticateAsync(string keyId, ImmutableArray<byte> secretHash);

    /// <summary>Notes that a key was used at <paramref name="at"/> for a call needing <paramref name="scope"/> (gateways report at most once a minute per key and scope).</summary>
    [Alias("RecordUse")]
    Task RecordUseAsync(string keyId, OperatorScope scope, DateTimeOffset at);

    /// <summary>
    /// The access review: every key, active and revoked, in the order issued (the bootstrap key first once it was used),
    /// with its use and what the key-hygiene policy finds wrong with it.
    /// </summary>
    [Alias("Review")]
    Task<AccessReview> ReviewAsync();

    /// <summary>
    /// Starts (or restarts) TOTP enrolment of an active key: a new secret, pending until a code from it is confirmed. The
    /// secret is in this answer only; afterwards it never leaves the grain. NotFound for an unknown key,
    /// FailedPrecondition for a revoked key or one whose TOTP is already enabled (remove it first).
    /// </summary>
    [Alias("BeginMfa")]
    Task<MfaEnrolment> BeginMfaAsync(string keyId);

    /// <summary>
    /// Enables the pending secret when <paramref name="code"/> is its current code (the code's step then counts as used).
    /// Invalid (field <c>code</c>) for a wrong or used code, FailedPrecondition when nothing is pending, NotFound for an unknown key.
    /// </summary>
    [Alias("ConfirmMfa")]
    Task<OperatorKeyInfo> ConfirmMfaAsync(string keyId, string code);

    /// <summary>Removes the key's TOTP secret, enabled or pending (idempotent); NotFound for an unknown key.</summary>
    [Alias("RemoveMfa")]
    Task<OperatorKeyInfo> RemoveMfaAsync(string keyId);

    /// <summary>
    /// Checks a code against the key's enabled secret (<see cref="TotpCodes.Verify"/>); an accepted code's step is stored
    /// before the answer, so no gateway accepts that code (or an older one) again. NotEnrolled for an unknown or revoked key.
    /// </summary>
    [Alias("VerifyMfa")]
    Task<TotpCheck> VerifyMfaAsync(string keyId, string? code);

    /// <summary>
    /// For the bootstrap key, whose secret is in the gateways' configuration: true when <paramref name="step"/> is later
    /// than the last step accepted for it (and now is the last), false for a replay.
    /// </summary>
    [Alias("ClaimBootstrapMfaStep")]
    Task<bool> ClaimBootstrapMfaStepAsync(long step);
}

/// <summary>A TOTP secret handed out for enrolment, shown once: <see cref="Secret"/> in base32 and as an <c>otpauth://</c> URI.</summary>
[GenerateSerializer, Immutable, Alias("meshos.MfaEnrolment")]
public sealed record MfaEnrolment(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Secret,
    [property: Id(2)] string Uri);

/// <summary>One row of the access review.</summary>
/// <param name="Hygiene">What the key-hygiene policy finds wrong with an active key (unused, past rotation, broader than its use); null when nothing.</param>
[GenerateSerializer, Immutable, Alias("meshos.AccessReviewRow")]
public sealed record AccessReviewRow(
    [property: Id(0)] OperatorKeyInfo Key,
    [property: Id(1)] string? Hygiene);

/// <summary>The access review as of <see cref="At"/>.</summary>
[GenerateSerializer, Immutable, Alias("meshos.AccessReview")]
public sealed record AccessReview(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] ImmutableArray<AccessReviewRow> Keys);

/// <summary>Who presented an operator key: the key's id, its scope and its owner.</summary>
[GenerateSerializer, Immutable, Alias("meshos.OperatorKeyHolder")]
public sealed record OperatorKeyHolder(
    [property: Id(0)] string KeyId,
    [property: Id(1)] OperatorScope Scope,
    [property: Id(2)] string Owner);

/// <summary>One operator key as the access review shows it.</summary>
/// <param name="UsedScopes">The scopes the calls made with it needed (what it was used for, against what it may do).</param>
/// <param name="Mfa">Whether the key has a second factor (never the secret itself).</param>
[GenerateSerializer, Immutable, Alias("meshos.OperatorKeyInfo")]
public sealed record OperatorKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Owner,
    [property: Id(3)] OperatorScope Scope,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset? RevokedAt,
    [property: Id(6)] DateTimeOffset? LastUsedAt,
    [property: Id(7)] ImmutableArray<OperatorScope> UsedScopes,
    [property: Id(8)] MfaStatus Mfa = MfaStatus.None);

/// <summary>A freshly issued operator key. <see cref="Key"/> is shown once and never stored.</summary>
[GenerateSerializer, Immutable, Alias("meshos.IssuedOperatorKey")]
public sealed record IssuedOperatorKey(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string Key,
    [property: Id(2)] OperatorKeyInfo Info);

/// <summary>
/// Operator keys read <c>mko.{keyId}.{secret}</c>: 12 hex digits of id, 43 characters of base64url secret. Tenant keys
/// (<c>mk.{tenant}.{keyId}.{secret}</c>) never parse as one. The key the configuration sets
/// (<c>MeshOs:Gateway:OperatorKey</c>) is the bootstrap key, id <see cref="BootstrapKeyId"/>, scope full.
/// </summary>
public static class OperatorKeyFormat
{
    public const string Prefix = "mko";

    /// <summary>The id under which the configured (bootstrap) operator key is audited and reviewed.</summary>
    public const string BootstrapKeyId = "operator";

    /// <summary>Makes a new key; returns the full key (shown once), its id and the hash to store.</summary>
    public static (string Key, string KeyId, byte[] Hash) Create()
    {
        var (keyId, secret) = ApiKeyFormat.NewIdAndSecret();
        return ($"{Prefix}.{keyId}.{secret}", keyId, ApiKeyFormat.Hash(secret));
    }

    /// <summary>Splits a presented key; false when it is not of this shape.</summary>
    public static bool TryParse(string? key, [NotNullWhen(true)] out string? keyId, [NotNullWhen(true)] out string? secret)
    {
        keyId = secret = null;
        if (key is null || key.Length > 200)
        {
            return false;
        }

        var parts = key.Split('.');
        if (parts.Length != 3 || parts[0] != Prefix || parts[1].Length != 12 || !parts[1].All(char.IsAsciiHexDigitLower) || parts[2].Length < 20)
        {
            return false;
        }

        (keyId, secret) = (parts[1], parts[2]);
        return true;
    }
}
