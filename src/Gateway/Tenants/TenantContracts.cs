using System.ComponentModel.DataAnnotations;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Tenants;

/// <summary>Changes a tenant's settings; unset fields keep their current value.</summary>
public record UpdateTenantRequest
{
    /// <summary>1–200 characters. Default (new tenant): the id.</summary>
    [StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Default (new tenant): Customer.</summary>
    public TenantKind? Kind { get; init; }

    public QuotaChanges? Quotas { get; init; }

    /// <summary>The pools the tenant may submit to (at most 100 names of 1–100 of <c>a-z 0-9 - _ / .</c>). Default (new tenant): ["platform"].</summary>
    public IReadOnlyList<string>? Pools { get; init; }

    /// <summary>
    /// Regions whose agents may run the tenant's jobs (the data-residency policy, checked when a job is leased): at
    /// most 8 names of 1–32 of <c>a-z 0-9 -</c>. Empty: any region. Default (new tenant): empty.
    /// </summary>
    public IReadOnlyList<string>? AllowedRegions { get; init; }

    /// <summary>
    /// Data classes the tenant's jobs may carry (the data-classification policy, checked at submit): at most 8 names
    /// of 1–32 of <c>a-z 0-9 -</c>. Empty: any. Default (new tenant): empty.
    /// </summary>
    public IReadOnlyList<string>? AllowedDataClasses { get; init; }

    public TenantChanges ToChanges() => new(Name, Kind, Quotas, Pools, AllowedRegions, AllowedDataClasses);
}

/// <summary>Creates a tenant. Unset quotas take the defaults; unset pools mean the shared <c>platform</c> pool.</summary>
public sealed record CreateTenantRequest : UpdateTenantRequest
{
    /// <summary>1–63 lowercase letters, digits or dashes, starting with a letter or digit; not <c>platform</c>.</summary>
    [Required]
    [StringLength(63, MinimumLength = 1)]
    public string? Id { get; init; }
}

public sealed record TenantDto(
    string Id,
    string Name,
    TenantKind Kind,
    TenantQuotas Quotas,
    IReadOnlyList<string> Pools,
    bool Disabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<ApiKeyInfo> Keys,
    IReadOnlyList<string> AllowedRegions,
    IReadOnlyList<string> AllowedDataClasses)
{
    public static TenantDto From(TenantInfo t) => new(t.TenantId, t.Name, t.Kind, t.Quotas, t.Pools, t.Disabled, t.CreatedAt, t.UpdatedAt, t.Keys,
        t.DataRules.AllowedRegions, t.DataRules.AllowedDataClasses);
}

/// <summary>A page of tenants in id order; pass <see cref="NextCursor"/> as <c>cursor</c> for the next (null at the end).</summary>
public sealed record TenantPageDto(IReadOnlyList<TenantDto> Tenants, string? NextCursor);

public sealed record IssueKeyRequest
{
    /// <summary>A label for the key, 1–100 characters. Default "default".</summary>
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }
}

/// <summary>A new API key. <see cref="Key"/> is shown this once; MeshOs keeps only its hash.</summary>
public sealed record IssuedKeyDto(string KeyId, string Key, DateTimeOffset CreatedAt);
