using System.Collections.Immutable;
using System.Security.Cryptography;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace MeshOs.Grains.Compliance;

/// <summary>
/// The operator keys (hashes only), their TOTP secrets and their use. Read on each authentication cache miss of a
/// gateway and on each production action with a second factor (one grain serialises the checks, so a code is accepted
/// once mesh-wide), written when a key is issued or revoked, enrols or uses a second factor, and when a gateway reports
/// a use (at most once a minute per key and scope per gateway).
/// </summary>
internal sealed class OperatorKeysGrain(
    [PersistentState("operator-keys", MeshStorage.GrainStore)] IPersistentState<OperatorKeysState> state,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time) : Grain, IOperatorKeysGrain
{
    /// <summary>Active keys at most: enough for every operator and automation of a mesh, few enough to review.</summary>
    public const int MaxActiveKeys = 200;

    /// <summary>A use this close to the last one recorded is not written again (the review counts days).</summary>
    private static readonly TimeSpan UseResolution = TimeSpan.FromMinutes(1);

    public async Task<IssuedOperatorKey> IssueAsync(string name, string owner, OperatorScope scope)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw MeshException.Invalid("name", "1–100 characters, not all blank.");
        }

        if (string.IsNullOrWhiteSpace(owner) || owner.Length > 200)
        {
            throw MeshException.Invalid("owner", "the person or team accountable for the key, 1–200 characters, not all blank.");
        }

        if (!Enum.IsDefined(scope))
        {
            throw MeshException.Invalid("scope", $"unknown scope {scope}.");
        }

        if (state.State.Keys.Count(k => k.RevokedAt is null) >= MaxActiveKeys)
        {
            throw MeshException.Exhausted($"At most {MaxActiveKeys} operator keys may be active; revoke one first.");
        }

        var (key, keyId, hash) = OperatorKeyFormat.Create();
        var stored = new OperatorKeyState { KeyId = keyId, Name = name.Trim(), Owner = owner.Trim(), Scope = scope, Hash = hash, CreatedAt = time.GetUtcNow() };
        state.State.Keys.Add(stored);
        await state.WriteStateAsync();
        return new IssuedOperatorKey(keyId, key, stored.ToInfo());
    }

    public async Task<OperatorKeyInfo> RevokeAsync(string keyId)
    {
        var key = Find(keyId);
        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow();
            await state.WriteStateAsync();
        }

        return key.ToInfo();
    }

    public Task<OperatorKeyHolder?> AuthenticateAsync(string keyId, ImmutableArray<byte> secretHash)
    {
        var key = state.State.Keys.FirstOrDefault(k => k.KeyId == keyId && k.RevokedAt is null);
        return Task.FromResult(key is not null && CryptographicOperations.FixedTimeEquals(key.Hash, secretHash.AsSpan())
            ? new OperatorKeyHolder(key.KeyId, key.Scope, key.Owner)
            : null);
    }

    public async Task RecordUseAsync(string keyId, OperatorScope scope, DateTimeOffset at)
    {
        var use = keyId == OperatorKeyFormat.BootstrapKeyId
            ? state.State.Bootstrap ??= new OperatorKeyUse { FirstUsedAt = at }
            : state.State.Keys.FirstOrDefault(k => k.KeyId == keyId)?.Use;
        if (use is null)
        {
            return;
        }

        var newScope = !use.Scopes.Contains(scope);
        var later = use.LastUsedAt is not { } last || at - last >= UseResolution;
        if (!newScope && !later)
        {
            return;
        }

        if (newScope)
        {
            use.Scopes.Add(scope);
        }

        if (use.LastUsedAt is not { } previous || at > previous)
        {
            use.LastUsedAt = at;
        }

        await state.WriteStateAsync();
    }

    public async Task<AccessReview> ReviewAsync()
    {
        // The key-hygiene policy in force (the first enabled mesh-wide one by id); none: the review names no problem.
        var set = await GrainFactory.GetGrain<IComplianceGrain>(0).GetPoliciesAsync();
        var policy = set.Covering(PolicyRules.KeyHygiene, null, null).OrderBy(p => p.Id, StringComparer.Ordinal).FirstOrDefault();
        var now = time.GetUtcNow();
        var keys = state.State.Keys.Select(k => k.ToInfo()).ToList();
        if (state.State.Bootstrap is { } bootstrap)
        {
            keys.Insert(0, new OperatorKeyInfo(OperatorKeyFormat.BootstrapKeyId, "bootstrap key (MeshOs:Gateway:OperatorKey)", "configuration",
                OperatorScope.Full, bootstrap.FirstUsedAt, null, bootstrap.LastUsedAt, [.. bootstrap.Scopes.Order()]));
        }

        return new AccessReview(now, [.. keys.Select(k => new AccessReviewRow(k, k.RevokedAt is null && policy is not null ? HygieneOf(policy, k, now) : null))]);
    }

    public async Task<MfaEnrolment> BeginMfaAsync(string keyId)
    {
        var key = Find(keyId);
        if (key.RevokedAt is not null)
        {
            throw MeshException.Precondition($"Operator key '{keyId}' is revoked.");
        }

        if (key.TotpSecret is not null)
        {
            throw MeshException.Precondition($"Operator key '{keyId}' already has TOTP enabled; remove it first (DELETE /v1/operator-keys/{keyId}/mfa).");
        }

        key.PendingTotpSecret = TotpCodes.NewSecret();
        await state.WriteStateAsync();
        return new MfaEnrolment(keyId, TotpCodes.ToBase32(key.PendingTotpSecret), TotpCodes.Uri(key.PendingTotpSecret, $"operator-key {keyId}"));
    }

    public async Task<OperatorKeyInfo> ConfirmMfaAsync(string keyId, string code)
    {
        var key = Find(keyId);
        if (key.PendingTotpSecret is null || key.RevokedAt is not null)
        {
            throw MeshException.Precondition(key.TotpSecret is null
                ? $"Operator key '{keyId}' has no TOTP enrolment pending; start one with POST /v1/operator-keys/{keyId}/mfa."
                : $"Operator key '{keyId}' already has TOTP enabled.");
        }

        var check = TotpCodes.Verify(key.PendingTotpSecret, code, time.GetUtcNow(), key.LastTotpStep);
        if (!check.Accepted)
        {
            throw MeshException.Invalid("code", check.Outcome switch
            {
                TotpOutcome.Missing => "required: the authenticator's current 6-digit code.",
                TotpOutcome.Replayed => "this code was already used; enter the next one.",
                _ => "not the current 6-digit code of the pending secret.",
            });
        }

        (key.TotpSecret, key.PendingTotpSecret, key.LastTotpStep) = (key.PendingTotpSecret, null, check.Step);
        await state.WriteStateAsync();
        return key.ToInfo();
    }

    public async Task<OperatorKeyInfo> RemoveMfaAsync(string keyId)
    {
        var key = Find(keyId);
        if (key.TotpSecret is not null || key.PendingTotpSecret is not null)
        {
            (key.TotpSecret, key.PendingTotpSecret) = (null, null);
            await state.WriteStateAsync();
        }

        return key.ToInfo();
    }

    public async Task<TotpCheck> VerifyMfaAsync(string keyId, string? code)
    {
        var key = state.State.Keys.FirstOrDefault(k => k.KeyId == keyId && k.RevokedAt is null);
        var check = TotpCodes.Verify(key?.TotpSecret, code, time.GetUtcNow(), key?.LastTotpStep ?? 0);
        if (check.Accepted)
        {
            key!.LastTotpStep = check.Step;
            await state.WriteStateAsync();
        }

        return check;
    }

    public async Task<bool> ClaimBootstrapMfaStepAsync(long step)
    {
        if (step <= state.State.BootstrapLastTotpStep)
        {
            return false;
        }

        state.State.BootstrapLastTotpStep = step;
        await state.WriteStateAsync();
        return true;
    }

    private OperatorKeyState Find(string keyId) =>
        state.State.Keys.FirstOrDefault(k => k.KeyId == keyId) ?? throw MeshException.NotFound($"Operator key '{keyId}'");

    private static string? HygieneOf(CompliancePolicy policy, OperatorKeyInfo key, DateTimeOffset now)
    {
        var result = ComplianceRules.KeyHygiene(policy, new OperatorKeyFacts(key.KeyId, key.Scope, key.CreatedAt, key.LastUsedAt, [.. key.UsedScopes]), now);
        return result.Outcome == CheckOutcome.Pass ? null : result.Message;
    }
}

[GenerateSerializer, Alias("meshos.OperatorKeysState")]
public sealed class OperatorKeysState
{
    [Id(0)] public List<OperatorKeyState> Keys { get; set; } = [];

    /// <summary>The use of the configured key, from its first use (the configuration does not say when it was set).</summary>
    [Id(1)] public OperatorKeyUse? Bootstrap { get; set; }

    /// <summary>The last TOTP step accepted for the bootstrap key (its secret is in the gateways' configuration, never here).</summary>
    [Id(2)] public long BootstrapLastTotpStep { get; set; }
}

[GenerateSerializer, Alias("meshos.OperatorKeyState")]
public sealed class OperatorKeyState
{
    [Id(0)] public string KeyId { get; set; } = string.Empty;
    [Id(1)] public string Name { get; set; } = string.Empty;
    [Id(2)] public string Owner { get; set; } = string.Empty;
    [Id(3)] public OperatorScope Scope { get; set; }
    [Id(4)] public byte[] Hash { get; set; } = [];
    [Id(5)] public DateTimeOffset CreatedAt { get; set; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; set; }
    [Id(7)] public OperatorKeyUse Use { get; set; } = new();

    /// <summary>The confirmed TOTP secret (a secret: never in an answer, a log or the audit log); null without one.</summary>
    [Id(8)] public byte[]? TotpSecret { get; set; }

    /// <summary>A secret handed out for enrolment and not confirmed yet.</summary>
    [Id(9)] public byte[]? PendingTotpSecret { get; set; }

    /// <summary>The last TOTP step accepted for this key: no code of it or an earlier step is accepted again.</summary>
    [Id(10)] public long LastTotpStep { get; set; }

    public MfaStatus Mfa => TotpSecret is not null ? MfaStatus.Enabled : PendingTotpSecret is not null ? MfaStatus.Pending : MfaStatus.None;

    public OperatorKeyInfo ToInfo() => new(KeyId, Name, Owner, Scope, CreatedAt, RevokedAt, Use.LastUsedAt, [.. Use.Scopes.Order()], Mfa);
}

[GenerateSerializer, Alias("meshos.OperatorKeyUse")]
public sealed class OperatorKeyUse
{
    [Id(0)] public DateTimeOffset FirstUsedAt { get; set; }
    [Id(1)] public DateTimeOffset? LastUsedAt { get; set; }
    [Id(2)] public List<OperatorScope> Scopes { get; set; } = [];
}
