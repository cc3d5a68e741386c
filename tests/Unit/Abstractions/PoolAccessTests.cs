using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Tenants;

namespace MeshOs.Tests.Unit.Abstractions;

public sealed class PoolAccessTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private static PoolGrant Active(string grantee, string pool) => new(grantee, pool, "operator", T0, null, null);

    [Theory]
    [InlineData("acme", "acme")]
    [InlineData("acme/gpu", "acme")]
    [InlineData("acme/gpu/a100", "acme")]
    [InlineData("platform", "platform")]
    [InlineData("platform/gpu", "platform")]
    public void The_owner_of_a_pool_is_its_first_segment(string pool, string owner) =>
        Assert.Equal(owner, PoolAccess.OwnerOf(pool));

    [Theory]
    [InlineData("acme", "acme")]
    [InlineData("acme", "acme/gpu")]
    [InlineData("platform", "platform")]
    [InlineData("platform", "platform/gpu")]
    public void Own_pools_need_no_grant(string owner, string pool)
    {
        Assert.False(PoolAccess.NeedsGrant(owner, pool));
        Assert.True(PoolAccess.MayServe(owner, pool, []));
    }

    [Theory]
    [InlineData("platform", "acme")] // the defect: enrollment-token agents joined any tenant's pool
    [InlineData("platform", "acme/gpu")]
    [InlineData("partner", "acme")]
    [InlineData("acme", "platform")]
    [InlineData("acme", "acmex")]
    [InlineData("acme", "acm")]
    [InlineData("acme", "other/acme")]
    public void Another_owners_pool_is_closed_without_a_grant(string owner, string pool)
    {
        Assert.True(PoolAccess.NeedsGrant(owner, pool));
        Assert.False(PoolAccess.MayServe(owner, pool, []));
    }

    [Fact]
    public void A_grant_opens_exactly_its_pool_to_exactly_its_grantee()
    {
        ImmutableArray<PoolGrant> grants = [Active("platform", "acme/gpu")];

        Assert.True(PoolAccess.MayServe("platform", "acme/gpu", grants));
        Assert.False(PoolAccess.MayServe("platform", "acme", grants));
        Assert.False(PoolAccess.MayServe("platform", "acme/gpu/a100", grants));
        Assert.False(PoolAccess.MayServe("partner", "acme/gpu", grants));
    }

    [Fact]
    public void A_revoked_grant_opens_nothing_but_still_explains_past_leases()
    {
        var grants = PoolAccess.Revoke([Active("partner", "acme")], "partner", "acme", "tenant acme", T0.AddHours(1))!.Value;

        Assert.False(PoolAccess.MayServe("partner", "acme", grants));
        Assert.True(PoolAccess.MayHaveServed("partner", "acme", grants));
        Assert.False(PoolAccess.MayHaveServed("other", "acme", grants));
        var revoked = Assert.Single(grants);
        Assert.Equal(("tenant acme", T0.AddHours(1)), (revoked.RevokedBy, revoked.RevokedAt));
    }

    [Fact]
    public void Nothing_opens_a_platform_pool_to_a_tenants_agents() =>
        Assert.False(PoolAccess.MayServe("acme", "platform", [Active("acme", "platform")]));

    [Fact]
    public void Granting_records_who_and_when_and_is_idempotent()
    {
        var once = PoolAccess.Grant([], "platform", "acme", "tenant acme (key k1)", T0);
        var twice = PoolAccess.Grant(once, "platform", "acme", "operator", T0.AddMinutes(5));

        Assert.Equal(new PoolGrant("platform", "acme", "tenant acme (key k1)", T0, null, null), Assert.Single(twice));
    }

    [Fact]
    public void Revoking_without_an_active_grant_is_null()
    {
        Assert.Null(PoolAccess.Revoke([], "platform", "acme", "op", T0));
        var revoked = PoolAccess.Revoke([Active("platform", "acme")], "platform", "acme", "op", T0)!.Value;
        Assert.Null(PoolAccess.Revoke(revoked, "platform", "acme", "op", T0));
    }

    [Fact]
    public void A_grant_can_be_given_again_after_a_revocation()
    {
        var revoked = PoolAccess.Revoke([Active("platform", "acme")], "platform", "acme", "op", T0)!.Value;
        var again = PoolAccess.Grant(revoked, "platform", "acme", "op", T0.AddMinutes(1));

        Assert.Equal(2, again.Length);
        Assert.True(PoolAccess.MayServe("platform", "acme", again));
    }

    [Fact]
    public void Active_grants_are_capped_and_revoked_history_is_bounded()
    {
        var grants = ImmutableArray<PoolGrant>.Empty;
        for (var i = 0; i < PoolAccess.MaxActiveGrants; i++)
        {
            grants = PoolAccess.Grant(grants, $"partner-{i}", "acme", "op", T0);
        }

        var ex = Assert.Throws<MeshException>(() => PoolAccess.Grant(grants, "one-more", "acme", "op", T0));
        Assert.Equal(MeshErrorCode.ResourceExhausted, ex.Code);

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < PoolAccess.MaxActiveGrants; i++)
            {
                grants = PoolAccess.Revoke(grants, $"partner-{i}", "acme", "op", T0.AddMinutes(round * 1000 + i))!.Value;
                grants = PoolAccess.Grant(grants, $"partner-{i}", "acme", "op", T0.AddMinutes(round * 1000 + i));
            }
        }

        Assert.Equal(PoolAccess.MaxActiveGrants, grants.Count(g => g.IsActive));
        Assert.Equal(PoolAccess.MaxRevokedGrantsKept, grants.Count(g => !g.IsActive));
        Assert.Equal(T0.AddMinutes(2000), grants.Where(g => !g.IsActive).Min(g => g.RevokedAt)); // the oldest went first
    }

    [Theory]
    [InlineData("acme", "platform", "acme")]
    [InlineData("acme", "partner", "acme/gpu")]
    public void A_tenant_grants_its_own_pools(string tenant, string grantee, string pool) =>
        PoolAccess.ValidateGrant(tenant, grantee, pool);

    [Theory]
    [InlineData("acme", "platform", "other", "pool")]
    [InlineData("acme", "platform", "platform", "pool")]
    [InlineData("acme", "platform", "acme/GPU", "pool")]
    [InlineData("acme", "acme", "acme", "grantee")]
    [InlineData("acme", "Not A Tenant", "acme", "grantee")]
    [InlineData("acme", "", "acme", "grantee")]
    public void Invalid_grants_name_the_field(string tenant, string grantee, string pool, string field)
    {
        var ex = Assert.Throws<MeshException>(() => PoolAccess.ValidateGrant(tenant, grantee, pool));
        Assert.Equal(MeshErrorCode.InvalidArgument, ex.Code);
        Assert.StartsWith(field + ":", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme/gpu", true)]
    [InlineData("platform", true)] // listed by an operator
    [InlineData("partner", false)]
    [InlineData("acme/GPU", false)]
    public void A_tenant_submits_to_its_own_pools_and_to_listed_ones(string pool, bool expected) =>
        Assert.Equal(expected, PoolAccess.MaySubmit("acme", ["platform"], pool));

    [Fact]
    public void The_default_pool_is_the_first_listed_else_the_tenants_own()
    {
        Assert.Equal("platform", PoolAccess.DefaultPool("acme", ["platform", "acme"]));
        Assert.Equal("acme", PoolAccess.DefaultPool("acme", []));
    }

    [Theory]
    [InlineData("acme", "platform", true)] // its own agent, wherever
    [InlineData("platform", "acme", true)] // a platform agent in its pool (granted): it can lease its jobs
    [InlineData("partner", "acme/gpu", true)]
    [InlineData("platform", "platform/gpu", true)] // a shared pool listed for it: these agents lease its jobs
    [InlineData("partner", "partner/shared", true)]
    [InlineData("platform", "platform", false)] // a shared pool not listed for it
    [InlineData("partner", "partner", false)]
    [InlineData("other", "other/acme", false)]
    public void A_tenant_sees_its_agents_and_every_agent_that_can_lease_its_jobs(string agentOwner, string agentPool, bool expected)
    {
        string[] listed = ["platform/gpu", "partner/shared"];
        Assert.Equal(expected, PoolAccess.IsVisibleTo("acme", listed, agentOwner, agentPool));
        Assert.Equal(expected, new AgentFilter(null, null, "acme", listed).Matches(
            new AgentSummary("a-1", agentOwner, agentPool, ["echo"], AgentState.Healthy, T0)));
    }

    [Theory]
    [InlineData("partner", "acme", true)]
    [InlineData("partner", "acme/gpu", false)]
    [InlineData("other", "acme", false)]
    public void A_filter_narrows_by_owner_and_pool(string owner, string pool, bool expected) =>
        Assert.Equal(expected, new AgentFilter("partner", "acme", null).Matches(
            new AgentSummary("a-1", owner, pool, ["echo"], AgentState.Healthy, T0)));

    [Fact]
    public void A_tenant_manages_only_its_own_agents()
    {
        Assert.True(PoolAccess.IsManagedBy("acme", "acme"));
        Assert.False(PoolAccess.IsManagedBy("acme", "platform"));
    }
}
