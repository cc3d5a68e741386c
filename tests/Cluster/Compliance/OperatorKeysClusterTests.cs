using MeshOs.Abstractions;
using MeshOs.Abstractions.Compliance;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Tests.Cluster.Compliance;

[Collection(MeshClusterCollection.Name)]
public sealed class OperatorKeysClusterTests(MeshClusterFixture fixture)
{
    private IOperatorKeysGrain Keys => fixture.Grains.GetGrain<IOperatorKeysGrain>(0);

    [Fact]
    public async Task An_issued_key_authenticates_with_its_secret_only_until_it_is_revoked()
    {
        var issued = await Keys.IssueAsync("deploy bot", "release-team", OperatorScope.ReleaseManager);
        Assert.True(OperatorKeyFormat.TryParse(issued.Key, out var keyId, out var secret));
        Assert.Equal(issued.KeyId, keyId);

        Assert.Equal(new OperatorKeyHolder(keyId, OperatorScope.ReleaseManager, "release-team"),
            await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret)]));
        Assert.Null(await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret + "x")]));

        var revoked = await Keys.RevokeAsync(keyId);
        Assert.Equal(fixture.Clock.Now, revoked.RevokedAt);
        Assert.Null(await Keys.AuthenticateAsync(keyId, [.. ApiKeyFormat.Hash(secret)]));
        Assert.Equal(revoked, await Keys.RevokeAsync(keyId));
        Assert.Equal(MeshErrorCode.NotFound, (await Assert.ThrowsAsync<MeshException>(() => Keys.RevokeAsync("000000000000"))).Code);
    }

    [Fact]
    public async Task A_key_is_refused_without_a_name_or_an_owner()
    {
        foreach (var (name, owner) in new[] { ("", "o"), (" ", "o"), (new string('n', 101), "o"), ("n", ""), ("n", "  "), ("n", new string('o', 201)) })
        {
            Assert.Equal(MeshErrorCode.InvalidArgument, (await Assert.ThrowsAsync<MeshException>(() => Keys.IssueAsync(name, owner, OperatorScope.ReadOnly))).Code);
        }
    }

    [Fact]
    public async Task The_review_shows_each_keys_use_and_the_bootstrap_key_first_once_used()
    {
        var issued = await Keys.IssueAsync("auditor", "compliance", OperatorScope.Full);
        var t0 = fixture.Clock.Now;
        await Keys.RecordUseAsync(issued.KeyId, OperatorScope.ReadOnly, t0);
        await Keys.RecordUseAsync(OperatorKeyFormat.BootstrapKeyId, OperatorScope.TenantAdmin, t0);
        var review = await Keys.ReviewAsync();

        var row = review.Keys.Single(r => r.Key.KeyId == issued.KeyId);
        Assert.Equal(t0, row.Key.LastUsedAt);
        Assert.Equal([OperatorScope.ReadOnly], row.Key.UsedScopes.ToArray());
        Assert.Contains("needed only 'read-only'", row.Hygiene, StringComparison.Ordinal);

        var bootstrap = review.Keys[0];
        Assert.Equal((OperatorKeyFormat.BootstrapKeyId, OperatorScope.Full, "configuration"), (bootstrap.Key.KeyId, bootstrap.Key.Scope, bootstrap.Key.Owner));
        Assert.Contains(OperatorScope.TenantAdmin, bootstrap.Key.UsedScopes);
    }
}
