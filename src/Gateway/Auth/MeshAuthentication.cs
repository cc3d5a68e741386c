using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using MeshOs.Abstractions.Tenants;
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

    public const string ApiKeyHeader = "x-api-key";
    public const string EnrollmentTokenHeader = "x-enrollment-token";
}

/// <summary>Gateway security settings. Section <c>MeshOs:Gateway</c>.</summary>
public sealed class GatewaySecurityOptions
{
    public const string Section = "MeshOs:Gateway";

    /// <summary>The key operators present (x-api-key or Bearer). Empty: generated at start and printed once.</summary>
    public string OperatorKey { get; set; } = string.Empty;

    /// <summary>The token platform agents present (x-enrollment-token). Empty: generated at start and printed once.</summary>
    public string EnrollmentToken { get; set; } = string.Empty;

    /// <summary>How long a checked tenant key is trusted before it is checked again. Default 2 s.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Failed authentications per client address and minute before the address is turned away (429). Default 20.</summary>
    public int AuthFailuresPerMinute { get; set; } = 20;
}

/// <summary>
/// Authenticates every request from its key: the operator key, the agent enrollment token, or a tenant API key
/// (checked against the tenant grain's stored hash, cached for <see cref="GatewaySecurityOptions.KeyCacheDuration"/>).
/// A tenant key also lets a tenant run its own agents.
/// </summary>
public sealed class MeshKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    TenantKeyCache tenantKeys,
    IOptions<GatewaySecurityOptions> security,
    AuthFailureGuard failures) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var result = await AuthenticateCoreAsync();
        if (result.Failure is { } failure)
        {
            failures.RecordFailure(Context.Connection.RemoteIpAddress, Request.Path, failure.Message);
        }

        return result;
    }

    private async Task<AuthenticateResult> AuthenticateCoreAsync()
    {
        var enrollment = Request.Headers[MeshRoles.EnrollmentTokenHeader].ToString();
        if (enrollment.Length > 0)
        {
            return SecretEquals(enrollment, security.Value.EnrollmentToken)
                ? Success([new Claim(ClaimTypes.Role, MeshRoles.Agent), new Claim(MeshRoles.AgentOwnerClaim, "platform")])
                : AuthenticateResult.Fail("The enrollment token is not valid.");
        }

        var key = PresentedKey(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (SecretEquals(key, security.Value.OperatorKey))
        {
            return Success([new Claim(ClaimTypes.Role, MeshRoles.Operator)]);
        }

        var principal = await tenantKeys.AuthenticateAsync(key, Context.RequestAborted);
        if (principal is null)
        {
            return AuthenticateResult.Fail("The API key is not valid (unknown, revoked, or its tenant is disabled).");
        }

        Context.Features.Set(principal);
        return Success(
        [
            new Claim(ClaimTypes.Role, MeshRoles.Tenant),
            new Claim(ClaimTypes.Role, MeshRoles.Agent),
            new Claim(MeshRoles.TenantIdClaim, principal.TenantId),
            new Claim(MeshRoles.AgentOwnerClaim, principal.TenantId),
        ]);
    }

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
/// Checked tenant keys, for a short time. Revoking a key through this gateway drops
/// the tenant's entries at once; other gateways stop accepting it within the cache duration.
/// </summary>
public sealed class TenantKeyCache(IGrainFactory grains, IOptions<GatewaySecurityOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async ValueTask<TenantPrincipal?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        // Keyed by the presented key itself (the process holds it for the request anyway): hashing it here would cost
        // a SHA-256 on every call just to look up a cache whose whole point is to avoid work per call.
        var cacheKey = key;
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(cacheKey, out var cached) && cached.ExpiresAt > now)
        {
            return cached.Principal;
        }

        if (!ApiKeyFormat.TryParse(key, out var tenantId, out var keyId, out var secret))
        {
            return null;
        }

        var principal = await grains.GetGrain<ITenantGrain>(tenantId)
            .AuthenticateAsync(keyId, ImmutableArray.Create(ApiKeyFormat.Hash(secret)))
            .WaitAsync(cancellationToken);
        if (_entries.Count > 100_000)
        {
            _entries.Clear();
        }

        _entries[cacheKey] = new Entry(principal, now + options.Value.KeyCacheDuration, tenantId);
        return principal;
    }

    /// <summary>Forgets every cached key of a tenant (after a revocation or a change through this gateway).</summary>
    public void Invalidate(string tenantId)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.TenantId == tenantId)
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    private sealed record Entry(TenantPrincipal? Principal, DateTimeOffset ExpiresAt, string TenantId);
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The tenant of a tenant caller; throws when the caller is not one (policies prevent that).</summary>
    public static string TenantId(this ClaimsPrincipal user) =>
        user.FindFirstValue(MeshRoles.TenantIdClaim) ?? throw new InvalidOperationException("Not a tenant caller.");

    public static bool IsOperator(this ClaimsPrincipal user) => user.IsInRole(MeshRoles.Operator);

    /// <summary>Who owns the agents this caller runs: <c>platform</c> for the enrollment token, else the tenant.</summary>
    public static string? AgentOwner(this ClaimsPrincipal user) => user.FindFirstValue(MeshRoles.AgentOwnerClaim);
}
