using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Abstractions.Tenants;

/// <summary>
/// The shape of a tenant API key: <c>mk.{tenantId}.{keyId}.{secret}</c>. The tenant and key ids route the check to
/// the right tenant without a lookup table; only a SHA-256 hash of the 256-bit random secret is ever stored.
/// </summary>
public static partial class ApiKeyFormat
{
    public const string Prefix = "mk";

    /// <summary>Tenant ids: lowercase letters, digits and dashes, 1–63 characters, starting with a letter or digit.</summary>
    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,62}\z", RegexOptions.CultureInvariant)]
    public static partial Regex TenantIdPattern();

    /// <summary>
    /// A tenant id matches <see cref="TenantIdPattern"/> and is not <see cref="AgentPools.PlatformOwner"/>: a tenant's
    /// key makes it the owner of its agents, and agents owned by <c>platform</c> may serve every tenant's pools.
    /// </summary>
    public static bool IsValidTenantId([NotNullWhen(true)] string? tenantId) =>
        tenantId is not null && tenantId != AgentPools.PlatformOwner && TenantIdPattern().IsMatch(tenantId);

    /// <summary>Makes a new key; returns the full key (shown once) and the hash to store.</summary>
    public static (string Key, string KeyId, byte[] Hash) Create(string tenantId)
    {
        var (keyId, secret) = NewIdAndSecret();
        return ($"{Prefix}.{tenantId}.{keyId}.{secret}", keyId, Hash(secret));
    }

    /// <summary>Splits a presented key; false when it is not of this shape.</summary>
    public static bool TryParse(string? key, [NotNullWhen(true)] out string? tenantId, [NotNullWhen(true)] out string? keyId, [NotNullWhen(true)] out string? secret)
    {
        tenantId = keyId = secret = null;
        if (key is null || key.Length > 200)
        {
            return false;
        }

        var parts = key.Split('.');
        if (parts.Length != 4 || parts[0] != Prefix || !IsValidTenantId(parts[1]) || parts[2].Length != 12 || parts[3].Length < 20)
        {
            return false;
        }

        (tenantId, keyId, secret) = (parts[1], parts[2], parts[3]);
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>A new key's random parts: 12 hex digits of id and 32 random bytes of secret (base64url).</summary>
    internal static (string KeyId, string Secret) NewIdAndSecret() =>
        (Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), Base64Url(RandomNumberGenerator.GetBytes(32)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
