using System.Collections.Immutable;

namespace MeshOs.Abstractions.Tenants;

/// <summary>Whether a tenant is a paying customer or a partner that may also contribute agent pools.</summary>
[GenerateSerializer]
public enum TenantKind
{
    Customer = 0,
    Partner = 1,
}

/// <summary>Per-tenant limits enforced by the gateway (rate, payload) and the queues (queued, concurrent).</summary>
/// <param name="MaxConcurrentJobs">Jobs of this tenant leased or running at once, across the mesh.</param>
/// <param name="SubmitsPerSecond">Sustained submit rate per gateway; bursts up to <paramref name="SubmitBurst"/>.</param>
/// <param name="SubmitBurst">Token-bucket size for submits.</param>
/// <param name="MaxPayloadBytes">Largest accepted job payload (UTF-8 bytes of its JSON).</param>
/// <param name="MaxQueuedJobs">Jobs of this tenant waiting (Pending) at once; further submits are refused.</param>
[GenerateSerializer, Immutable, Alias("meshos.TenantQuotas")]
public sealed record TenantQuotas(
    int MaxConcurrentJobs,
    double SubmitsPerSecond,
    int SubmitBurst,
    int MaxPayloadBytes,
    int MaxQueuedJobs)
{
    /// <summary>Defaults applied when a tenant is created without quotas.</summary>
    public static TenantQuotas Default { get; } = new(
        MaxConcurrentJobs: 1_000,
        SubmitsPerSecond: 1_000,
        SubmitBurst: 2_000,
        MaxPayloadBytes: 256 * 1024,
        MaxQueuedJobs: 100_000);
}

/// <summary>What an operator sets when creating or updating a tenant.</summary>
/// <param name="Pools">Pools whose agents may run this tenant's jobs (its own, <c>platform</c>, partner pools).</param>
/// <param name="AllowedRegions">
/// Regions whose agents may run this tenant's jobs (the data-residency policy checks it at lease); empty: any region.
/// </param>
/// <param name="AllowedDataClasses">
/// Data classes this tenant's jobs may carry (the data-classification policy checks it at submit); empty: any.
/// </param>
[GenerateSerializer, Immutable, Alias("meshos.TenantSpec")]
public sealed record TenantSpec(
    string Name,
    TenantKind Kind,
    TenantQuotas Quotas,
    ImmutableArray<string> Pools,
    ImmutableArray<string> AllowedRegions = default,
    ImmutableArray<string> AllowedDataClasses = default);

/// <summary>An API key as listed: never the secret.</summary>
[GenerateSerializer, Immutable, Alias("meshos.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    string KeyId,
    string Name,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt);

/// <summary>A freshly issued key. <see cref="Key"/> is shown once and never stored.</summary>
[GenerateSerializer, Immutable, Alias("meshos.IssuedApiKey")]
public sealed record IssuedApiKey(
    string KeyId,
    string Key,
    DateTimeOffset CreatedAt);

/// <summary>A tenant as an operator sees it.</summary>
[GenerateSerializer, Immutable, Alias("meshos.TenantInfo")]
public sealed record TenantInfo(
    string TenantId,
    string Name,
    TenantKind Kind,
    TenantQuotas Quotas,
    ImmutableArray<string> Pools,
    bool Disabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    ImmutableArray<ApiKeyInfo> Keys,
    ImmutableArray<string> AllowedRegions = default,
    ImmutableArray<string> AllowedDataClasses = default)
{
    /// <summary>What the residency and classification policies read of the tenant.</summary>
    public Compliance.TenantDataRules DataRules => new(AllowedRegions.IsDefault ? [] : AllowedRegions, AllowedDataClasses.IsDefault ? [] : AllowedDataClasses);
}

/// <summary>The result of a successful API-key check: who the caller is and what it may do.</summary>
/// <param name="Revision">Increases on every change of the tenant; gateways use it to invalidate caches.</param>
[GenerateSerializer, Immutable, Alias("meshos.TenantPrincipal")]
public sealed record TenantPrincipal(
    string TenantId,
    TenantKind Kind,
    TenantQuotas Quotas,
    ImmutableArray<string> Pools,
    long Revision);
