using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;

namespace MeshOs.Abstractions.Tenants;

/// <summary>
/// Who may run which pool's jobs, and who sees which agents. Every pool has an owner, read from its name: the first
/// segment (<c>acme</c> and <c>acme/gpu</c> belong to tenant <c>acme</c>; <c>platform</c> and <c>platform/…</c> to the
/// platform). A pool's owner's agents serve it; an agent of another owner (a partner tenant, or the platform's
/// enrollment-token agents) serves it only while the owner has granted that owner access to that pool. A tenant submits
/// to its own pools without an operator step, and to the shared pools an operator lists for it. Pure: no I/O.
/// </summary>
public static class PoolAccess
{
    /// <summary>Revoked grants kept per tenant for the record (who granted and revoked what, when); the oldest go first.</summary>
    public const int MaxRevokedGrantsKept = 100;

    /// <summary>Active grants per tenant.</summary>
    public const int MaxActiveGrants = 100;

    /// <summary>The owner of a pool: its name up to the first <c>/</c>.</summary>
    public static string OwnerOf(string pool)
    {
        var slash = pool.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? pool : pool[..slash];
    }

    /// <summary>Whether the pool is named after <paramref name="owner"/> (<c>owner</c> or <c>owner/…</c>).</summary>
    public static bool IsOwnPool(string owner, string pool) => OwnerOf(pool) == owner;

    /// <summary>
    /// Whether an agent of <paramref name="agentOwner"/> may take <paramref name="pool"/>'s jobs, given the active grants
    /// of the pool's owner (<see cref="OwnerOf"/>). Own pools need no grant; no grant opens another tenant's pool to a
    /// tenant's agents unless it names that tenant, and nothing opens a platform pool to a tenant's agents.
    /// </summary>
    public static bool MayServe(string agentOwner, string pool, IEnumerable<PoolGrant> poolOwnerGrants)
    {
        var poolOwner = OwnerOf(pool);
        if (poolOwner == agentOwner)
        {
            return true;
        }

        return poolOwner != AgentPools.PlatformOwner && poolOwnerGrants.Any(g => g.IsActive && g.Grantee == agentOwner && g.Pool == pool);
    }

    /// <summary>
    /// Whether an agent of <paramref name="agentOwner"/> may ever have been leased <paramref name="pool"/>'s jobs: its own
    /// pool, or one whose owner granted it access at some time (revoked grants included: its last jobs may still report).
    /// </summary>
    public static bool MayHaveServed(string agentOwner, string pool, IEnumerable<PoolGrant> poolOwnerGrants)
    {
        var poolOwner = OwnerOf(pool);
        return poolOwner == agentOwner
            || (poolOwner != AgentPools.PlatformOwner && poolOwnerGrants.Any(g => g.Grantee == agentOwner && g.Pool == pool));
    }

    /// <summary>Whether an agent of <paramref name="agentOwner"/> needs a grant to serve <paramref name="pool"/>.</summary>
    public static bool NeedsGrant(string agentOwner, string pool) => OwnerOf(pool) != agentOwner;

    /// <summary>Whether a tenant may submit to a pool: its own pools always, others only when an operator listed them.</summary>
    public static bool MaySubmit(string tenantId, IReadOnlyCollection<string> listedPools, string pool) =>
        listedPools.Contains(pool) || (IsOwnPool(tenantId, pool) && IsValidPoolName(pool));

    /// <summary>
    /// The pool a submit without one goes to: the first pool an operator listed for the tenant, else the tenant's own.
    /// </summary>
    public static string DefaultPool(string tenantId, IReadOnlyList<string> listedPools) =>
        listedPools.Count > 0 ? listedPools[0] : tenantId;

    /// <summary>
    /// Whether a tenant sees an agent: its own agents and, read-only, every agent that can lease its jobs: those in one
    /// of its own pools (a partner's or the platform's agent it granted access) and those in a shared pool an operator
    /// listed for it (<paramref name="listedPools"/>: <c>platform</c>, a partner's pool).
    /// </summary>
    public static bool IsVisibleTo(string tenantId, IReadOnlyCollection<string> listedPools, string agentOwner, string agentPool) =>
        agentOwner == tenantId || IsOwnPool(tenantId, agentPool) || listedPools.Contains(agentPool);

    /// <summary>Whether the tenant may change (drain, deregister) the agent: only its own.</summary>
    public static bool IsManagedBy(string tenantId, string agentOwner) => agentOwner == tenantId;

    /// <summary>
    /// Checks a grant request by <paramref name="tenantId"/>: the pool must be its own, the grantee another owner (a
    /// tenant id or <c>platform</c>). Throws InvalidArgument naming the field.
    /// </summary>
    public static void ValidateGrant(string tenantId, string grantee, string pool)
    {
        if (!IsValidPoolName(pool) || !IsOwnPool(tenantId, pool))
        {
            throw MeshException.Invalid("pool", $"a tenant grants access to its own pools only ('{tenantId}' or '{tenantId}/…').");
        }

        if (grantee != AgentPools.PlatformOwner && !ApiKeyFormat.IsValidTenantId(grantee))
        {
            throw MeshException.Invalid("grantee", "'platform' (enrollment-token agents) or a tenant id.");
        }

        if (grantee == tenantId)
        {
            throw MeshException.Invalid("grantee", "a tenant's own agents need no grant for its own pools.");
        }
    }

    /// <summary>Pool names: lowercase letters, digits and - _ / . ; 1–100 characters.</summary>
    public static bool IsValidPoolName(string? pool) =>
        pool is { Length: > 0 and <= 100 } && pool.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '/' or '.');

    /// <summary>
    /// The grants after a new grant: an active grant of the same grantee and pool stays as it was (granting is
    /// idempotent); otherwise the grant is added. Throws ResourceExhausted past <see cref="MaxActiveGrants"/>.
    /// </summary>
    public static ImmutableArray<PoolGrant> Grant(ImmutableArray<PoolGrant> grants, string grantee, string pool, string actor, DateTimeOffset now)
    {
        if (grants.Any(g => g.IsActive && g.Grantee == grantee && g.Pool == pool))
        {
            return grants;
        }

        if (grants.Count(g => g.IsActive) >= MaxActiveGrants)
        {
            throw MeshException.Exhausted($"A tenant has at most {MaxActiveGrants} active pool grants; revoke one first.");
        }

        return grants.Add(new PoolGrant(grantee, pool, actor, now, null, null));
    }

    /// <summary>
    /// The grants after revoking the active grant of the grantee and pool (null when there is none), keeping at most
    /// <see cref="MaxRevokedGrantsKept"/> revoked grants.
    /// </summary>
    public static ImmutableArray<PoolGrant>? Revoke(ImmutableArray<PoolGrant> grants, string grantee, string pool, string actor, DateTimeOffset now)
    {
        var index = -1;
        for (var i = 0; i < grants.Length && index < 0; i++)
        {
            index = grants[i].IsActive && grants[i].Grantee == grantee && grants[i].Pool == pool ? i : -1;
        }

        if (index < 0)
        {
            return null;
        }

        var revoked = grants.SetItem(index, grants[index] with { RevokedBy = actor, RevokedAt = now });
        var excess = revoked.Count(g => !g.IsActive) - MaxRevokedGrantsKept;
        if (excess <= 0)
        {
            return revoked;
        }

        var dropped = revoked.Where(g => !g.IsActive).OrderBy(g => g.RevokedAt).Take(excess).ToHashSet();
        return [.. revoked.Where(g => !dropped.Contains(g))];
    }
}

/// <summary>
/// A tenant's consent that agents of <paramref name="Grantee"/> (a partner tenant, or <c>platform</c>) serve its pool
/// <paramref name="Pool"/>, with who granted it and when; revoked when <paramref name="RevokedAt"/> is set.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.PoolGrant")]
public sealed record PoolGrant(
    string Grantee,
    string Pool,
    string GrantedBy,
    DateTimeOffset GrantedAt,
    string? RevokedBy,
    DateTimeOffset? RevokedAt)
{
    public bool IsActive => RevokedAt is null;
}
