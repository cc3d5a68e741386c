using MeshOs.Abstractions.Tenants;

namespace MeshOs.Gateway.Tenants;

/// <summary>Creates a tenant. Unset quotas take the defaults; unset pools mean the shared <c>platform</c> pool.</summary>
public sealed record CreateTenantRequest(string? Id, string? Name, TenantKind? Kind, QuotasDto? Quotas, IReadOnlyList<string>? Pools);

/// <summary>Replaces a tenant's settings; unset fields keep their current value.</summary>
public sealed record UpdateTenantRequest(string? Name, TenantKind? Kind, QuotasDto? Quotas, IReadOnlyList<string>? Pools);

public sealed record QuotasDto(int? MaxConcurrentJobs, double? SubmitsPerSecond, int? SubmitBurst, int? MaxPayloadBytes, int? MaxQueuedJobs)
{
    public TenantQuotas ApplyTo(TenantQuotas current) => new(
        MaxConcurrentJobs ?? current.MaxConcurrentJobs,
        SubmitsPerSecond ?? current.SubmitsPerSecond,
        SubmitBurst ?? current.SubmitBurst,
        MaxPayloadBytes ?? current.MaxPayloadBytes,
        MaxQueuedJobs ?? current.MaxQueuedJobs);
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
    IReadOnlyList<ApiKeyInfo> Keys)
{
    public static TenantDto From(TenantInfo t) => new(t.TenantId, t.Name, t.Kind, t.Quotas, t.Pools, t.Disabled, t.CreatedAt, t.UpdatedAt, t.Keys);
}

public sealed record TenantPageDto(IReadOnlyList<TenantDto> Tenants, string? NextCursor);

public sealed record IssueKeyRequest(string? Name);

/// <summary>A new API key. <see cref="Key"/> is shown this once; MeshOs keeps only its hash.</summary>
public sealed record IssuedKeyDto(string KeyId, string Key, DateTimeOffset CreatedAt);
