using MeshOs.Abstractions.Compliance;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;

namespace MeshOs.Gateway.Compliance;

/// <summary>
/// Operator keys with scopes (least privilege), once for every transport: issue, revoke, and the access review that
/// lists every key with its scope, owner and last use for the quarterly review. Issuing and revoking need a
/// <see cref="OperatorScope.Full"/> key (the scope gate's default for changes) and are audited; a revocation takes
/// effect on this gateway at once and on the others within <c>MeshOs:Gateway:KeyCacheDuration</c>.
/// </summary>
public sealed class OperatorKeysService(IGrainFactory grains, OperatorKeyCache cache, Mutations mutations)
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

    public Task<AccessReview> ReviewAsync(MeshCaller caller)
    {
        caller.RequireOperator();
        return Keys.ReviewAsync();
    }
}
