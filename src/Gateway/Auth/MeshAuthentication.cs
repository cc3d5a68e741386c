using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace MeshOs.Gateway.Auth;

/// <summary>The three kinds of caller and the claims that carry them.</summary>
public static class MeshRoles
{
    public const string Scheme = "MeshKey";
    public const string Tenant = "tenant";
    public const string Operator = "operator";
    public const string Agent = "agent";

    public const string TenantPolicy = "tenant";
    public const string OperatorPolicy = "operator";
    public const string AgentPolicy = "agent";
    public const string OperatorOrTenantPolicy = "operator-or-tenant";

    public const string TenantIdClaim = "meshos:tenant";
    public const string AgentOwnerClaim = "meshos:agent-owner";

    /// <summary>Which credential the caller presented: a tenant key's id, <c>operator</c> or <c>enrollment</c>.</summary>
    public const string KeyIdClaim = "meshos:key-id";

    public const string ApiKeyHeader = "x-api-key";
    public const string EnrollmentTokenHeader = "x-enrollment-token";
}

/// <summary>Gateway security settings. Section <c>MeshOs:Gateway</c>.</summary>
public sealed class GatewaySecurityOptions
{
    public const string Section = "MeshOs:Gateway";

    /// <summary>The key operators present (x-api-key or Bearer). Empty: generated at start and printed once.</summary>
    public string OperatorKey { get; set; } = string.Empty;

    /// <summary>
    /// The bootstrap key's TOTP secret (base32, at least 128 bits), its second factor for production actions where
    /// <c>production-mfa</c> is enforced. Empty (the default): the bootstrap key has none and is refused those actions.
    /// </summary>
    public string OperatorKeyTotpSecret { get; set; } = string.Empty;

    /// <summary>The token platform agents present (x-enrollment-token). Empty: generated at start and printed once.</summary>
    public string EnrollmentToken { get; set; } = string.Empty;

    /// <summary>How long a checked tenant key is trusted before it is checked again. Default 2 s.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one check of a tenant key waits for the tenant's grain before the request fails with 503. Default 3 s.</summary>
    public TimeSpan KeyCheckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long past its cache time a key this gateway verified is still accepted when its re-check gets no answer
    /// (the tenant's silo is failing over). Default 30 s; zero turns it off (a request then waits for the check).
    /// </summary>
    public TimeSpan KeyStaleGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Failed authentications per client address and minute before the address is turned away (429). Default 20.</summary>
    public int AuthFailuresPerMinute { get; set; } = 20;
}

/// <summary>
/// Authenticates every request from its key: the configured (bootstrap) operator key, an issued operator key
/// (<c>mko.…</c>, with its scope), the agent enrollment token, or a tenant API key
/// (checked against the tenant grain's stored hash, cached for <see cref="GatewaySecurityOptions.KeyCacheDuration"/>).
/// A tenant key also lets a tenant run its own agents.
/// </summary>
public sealed class MeshKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    TenantKeyCache tenantKeys,
    OperatorKeyCache operatorKeys,
    IOptions<GatewaySecurityOptions> security,
    AuthFailureGuard failures) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var result = await AuthenticateCoreAsync();
        if (result.Failure is { } failure)
        {
            failures.RecordFailure(Context, failure.Message);
        }

        return result;
    }

    private async Task<AuthenticateResult> AuthenticateCoreAsync()
    {
        var enrollment = Request.Headers[MeshRoles.EnrollmentTokenHeader].ToString();
        if (enrollment.Length > 0)
        {
            return SecretEquals(enrollment, security.Value.EnrollmentToken)
                ? Success([new Claim(ClaimTypes.Role, MeshRoles.Agent), new Claim(MeshRoles.AgentOwnerClaim, "platform"), new Claim(MeshRoles.KeyIdClaim, "enrollment")])
                : AuthenticateResult.Fail("The enrollment token is not valid.");
        }

        var key = PresentedKey(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (SecretEquals(key, security.Value.OperatorKey))
        {
            return Operator(OperatorKeyFormat.BootstrapKeyId, OperatorScope.Full);
        }

        if (key.StartsWith(OperatorKeyFormat.Prefix + ".", StringComparison.Ordinal))
        {
            return await operatorKeys.AuthenticateAsync(key, Context.RequestAborted) is { } holder
                ? Operator(holder.KeyId, holder.Scope)
                : AuthenticateResult.Fail("The operator key is not valid (unknown or revoked).");
        }

        var principal = await tenantKeys.AuthenticateAsync(key, Context.RequestAborted);
        if (principal is null)
        {
            return AuthenticateResult.Fail("The API key is not valid (unknown, revoked, or its tenant is disabled).");
        }

        Context.Features.Set(principal);
        ApiKeyFormat.TryParse(key, out _, out var keyId, out _);
        return Success(
        [
            new Claim(ClaimTypes.Role, MeshRoles.Tenant),
            new Claim(ClaimTypes.Role, MeshRoles.Agent),
            new Claim(MeshRoles.TenantIdClaim, principal.TenantId),
            new Claim(MeshRoles.AgentOwnerClaim, principal.TenantId),
            new Claim(MeshRoles.KeyIdClaim, keyId ?? string.Empty),
        ]);
    }

    private AuthenticateResult Operator(string keyId, OperatorScope scope) => Success(
    [
        new Claim(ClaimTypes.Role, MeshRoles.Operator),
        new Claim(MeshRoles.KeyIdClaim, keyId),
        new Claim(OperatorScopeGate.ScopeClaim, OperatorScopes.Name(scope)),
    ]);

    private AuthenticateResult Success(Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, MeshRoles.Scheme)), MeshRoles.Scheme));

    internal static string? PresentedKey(HttpRequest request)
    {
        var key = request.Headers[MeshRoles.ApiKeyHeader].ToString();
        if (key.Length > 0)
        {
            return key;
        }

        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
    }

    private static bool SecretEquals(string presented, string expected) =>
        expected.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));
}

/// <summary>
/// Checked tenant keys, for a short time. Revoking a key through this gateway drops the tenant's entries at once;
/// other gateways stop accepting it within the cache duration. Concurrent requests with the same expired key share
/// one check. While the tenant's grain cannot answer (its silo died and the cluster has not yet declared it dead), a
/// key this gateway verified shortly before is accepted for up to <see cref="GatewaySecurityOptions.KeyStaleGrace"/>
/// past its cache time: a request waits <see cref="StaleWait"/> for the check, not the cluster's 30 s response
/// timeout. A key never verified, or found invalid, is never accepted stale.
/// </summary>
public sealed partial class TenantKeyCache
{
    /// <summary>How long a request with a key verified before waits for its re-check before it is served stale.</summary>
    public static readonly TimeSpan StaleWait = TimeSpan.FromMilliseconds(250);

    /// <summary>More entries than this and the cache starts over (keys are bounded by tenants, not by callers).</summary>
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<TenantPrincipal?>> _checks = new(StringComparer.Ordinal);
    private readonly Func<string, string, ImmutableArray<byte>, Task<TenantPrincipal?>> _check;
    private readonly IOptions<GatewaySecurityOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<TenantKeyCache> _logger;
    private long _invalidations;

    public TenantKeyCache(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time, ILogger<TenantKeyCache> logger)
        : this((tenantId, keyId, hash) => grains.GetGrain<ITenantGrain>(tenantId).AuthenticateAsync(keyId, hash), options, time, logger)
    {
    }

    /// <param name="check">Asks the tenant whether a key is valid: tenant id, key id, hash of the secret.</param>
    internal TenantKeyCache(Func<string, string, ImmutableArray<byte>, Task<TenantPrincipal?>> check,
        IOptions<GatewaySecurityOptions> options, TimeProvider time, ILogger<TenantKeyCache> logger)
    {
        _check = check;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public async ValueTask<TenantPrincipal?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        // Keyed by the presented key itself (the process holds it for the request anyway): hashing it here would cost
        // a SHA-256 on every call just to look up a cache whose whole point is to avoid work per call.
        var now = _time.GetUtcNow();
        _entries.TryGetValue(key, out var cached);
        if (cached is not null && cached.ExpiresAt > now)
        {
            return cached.Principal;
        }

        if (!ApiKeyFormat.TryParse(key, out var tenantId, out var keyId, out var secret))
        {
            return null;
        }

        var check = SharedCheck(key, tenantId, keyId, secret);
        if (cached is not { Principal: { } verified } || now - cached.ExpiresAt >= _options.Value.KeyStaleGrace)
        {
            return await check.WaitAsync(cancellationToken);
        }

        try
        {
            return await check.WaitAsync(StaleWait, _time, cancellationToken);
        }
        catch (Exception ex) when (ErrorMapping.IsFailover(ex))
        {
            LogServedStale(_logger, tenantId, keyId, (now - cached.ExpiresAt + _options.Value.KeyCacheDuration).TotalSeconds, ex.GetBaseException().Message);
            return verified;
        }
    }

    /// <summary>Forgets every cached key of a tenant (after a revocation or a change through this gateway).</summary>
    public void Invalidate(string tenantId)
    {
        // Checks already under way must not store what they learnt before the change, and later requests do not
        // join them.
        Interlocked.Increment(ref _invalidations);
        foreach (var key in _checks.Keys)
        {
            if (ApiKeyFormat.TryParse(key, out var checkedTenant, out _, out _) && checkedTenant == tenantId)
            {
                _checks.TryRemove(key, out _);
            }
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.TenantId == tenantId)
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    /// <summary>The check under way for this key, or a new one: one call to the tenant however many requests wait.</summary>
    private Task<TenantPrincipal?> SharedCheck(string key, string tenantId, string keyId, string secret)
    {
        while (true)
        {
            if (_checks.TryGetValue(key, out var running))
            {
                return running;
            }

            var check = new TaskCompletionSource<TenantPrincipal?>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_checks.TryAdd(key, check.Task))
            {
                _ = RunCheckAsync(key, tenantId, keyId, secret, check);
                return check.Task;
            }
        }
    }

    private async Task RunCheckAsync(string key, string tenantId, string keyId, string secret, TaskCompletionSource<TenantPrincipal?> check)
    {
        var invalidations = Interlocked.Read(ref _invalidations);
        TenantPrincipal? principal = null;
        Exception? failure = null;
        try
        {
            principal = await _check(tenantId, keyId, ImmutableArray.Create(ApiKeyFormat.Hash(secret)))
                .WaitAsync(_options.Value.KeyCheckTimeout, _time);
            if (Interlocked.Read(ref _invalidations) == invalidations)
            {
                if (_entries.Count > MaxEntries)
                {
                    _entries.Clear();
                }

                _entries[key] = new Entry(principal, _time.GetUtcNow() + _options.Value.KeyCacheDuration, tenantId);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        // Gone from the shared checks before anyone learns the answer: a request that comes after it starts from the
        // cache (or a new check), never from a finished one.
        _checks.TryRemove(new KeyValuePair<string, Task<TenantPrincipal?>>(key, check.Task));
        if (failure is null)
        {
            check.SetResult(principal);
        }
        else
        {
            check.SetException(failure);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Tenant {TenantId} key {KeyId} accepted as verified {AgeSeconds:0.0} s ago: its re-check did not answer ({Reason})")]
    private static partial void LogServedStale(ILogger logger, string tenantId, string keyId, double ageSeconds, string reason);

    private sealed record Entry(TenantPrincipal? Principal, DateTimeOffset ExpiresAt, string TenantId);
}
