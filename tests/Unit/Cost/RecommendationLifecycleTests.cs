using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Grains.Cost;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Cost;

/// <summary>The lifecycle of recommendations (open, superseded, dismissed) and what an autoscale policy allows, on a fake clock.</summary>
public sealed class RecommendationLifecycleTests
{
    private static readonly RecommendationOptions Options = new();

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    private static RecommendationDraft Down(int change, string pool = "gpu") =>
        new($"scale:{pool}", RecommendationKind.ScaleDown, pool, null, 4, change, [], null, 100m,
            new RecommendationEvidence(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 0, 1, 0m, 1m, 1m, null, "idle"));

    private (ImmutableList<Recommendation> All, long Next, bool Changed) Merge(ImmutableList<Recommendation> kept, long next, params RecommendationDraft[] drafts) =>
        RecommendationBook.Merge(kept, drafts, next, "USD", _time.GetUtcNow(), Options);

    [Fact]
    public void A_new_proposal_opens_the_same_one_again_changes_nothing_a_different_one_supersedes_it()
    {
        var (first, next, changed) = Merge([], 1, Down(-3));
        Assert.True(changed);
        Assert.Equal(("rec-1", RecommendationStatus.Open, 2L), (first.Single().Id, first.Single().Status, next));

        _time.Advance(TimeSpan.FromMinutes(5));
        var (same, sameNext, sameChanged) = Merge(first, next, Down(-3) with { MonthlySaving = 120m });
        Assert.False(sameChanged);
        Assert.Equal(first, same);
        Assert.Equal(2L, sameNext);

        var (replaced, _, replacedChanged) = Merge(first, next, Down(-2));
        Assert.True(replacedChanged);
        Assert.Equal([("rec-1", RecommendationStatus.Superseded, "replaced by rec-2"), ("rec-2", RecommendationStatus.Open, null)],
            replaced.Select(r => (r.Id, r.Status, r.Reason)));
    }

    [Fact]
    public void A_proposal_no_longer_made_is_superseded()
    {
        var (open, next, _) = Merge([], 1, Down(-3));

        var (after, _, changed) = Merge(open, next);

        Assert.True(changed);
        Assert.Equal((RecommendationStatus.Superseded, "no longer holds"), (after.Single().Status, after.Single().Reason));
    }

    [Fact]
    public void A_dismissed_proposal_is_not_made_again_until_DismissedFor_has_passed()
    {
        var (open, next, _) = Merge([], 1, Down(-3));
        var dismissed = RecommendationBook.Replace(open, open[0] with { Status = RecommendationStatus.Dismissed, Reason = "seasonal", UpdatedAt = _time.GetUtcNow() });

        _time.Advance(Options.DismissedFor - TimeSpan.FromSeconds(1));
        var (held, _, heldChanged) = Merge(dismissed, next, Down(-3));
        Assert.False(heldChanged);
        Assert.Single(held);

        var (other, _, _) = Merge(dismissed, next, Down(-2));
        Assert.Equal(RecommendationStatus.Open, other.Single(r => r.Id == "rec-2").Status);

        _time.Advance(TimeSpan.FromSeconds(1));
        var (again, _, _) = Merge(dismissed, next, Down(-3));
        Assert.Equal(RecommendationStatus.Open, again.Single(r => r.Id == "rec-2").Status);
    }

    [Fact]
    public void Only_an_open_recommendation_can_be_applied_or_dismissed()
    {
        var (open, _, _) = Merge([], 1, Down(-3));
        var dismissed = RecommendationBook.Replace(open, open[0] with { Status = RecommendationStatus.Dismissed });

        Assert.Equal(MeshErrorCode.NotFound, Assert.Throws<MeshException>(() => RecommendationBook.RequireOpen(open, "rec-9")).Code);
        Assert.Equal(MeshErrorCode.Conflict, Assert.Throws<MeshException>(() => RecommendationBook.RequireOpen(dismissed, "rec-1")).Code);
        Assert.Equal("rec-1", RecommendationBook.RequireOpen(open, "rec-1").Id);
        Assert.Equal(MeshErrorCode.InvalidArgument, Assert.Throws<MeshException>(() => RecommendationBook.ValidReason("  ")).Code);
    }

    [Fact]
    public void Closed_recommendations_are_kept_up_to_the_history_limit_newest_first()
    {
        var options = new RecommendationOptions { HistoryLimit = 2 };
        var kept = ImmutableList<Recommendation>.Empty;
        long next = 1;
        for (var i = 0; i < 4; i++)
        {
            (kept, next, _) = RecommendationBook.Merge(kept, [Down(-1 - i)], next, "USD", _time.GetUtcNow(), options);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(["rec-2", "rec-3", "rec-4"], kept.Select(r => r.Id));
        Assert.Equal(RecommendationStatus.Open, kept[^1].Status);
    }

    private Recommendation Open(RecommendationKind kind, int change) =>
        new("rec-1", kind, "gpu", null, 4, change, [], null, 0m, "USD",
            new RecommendationEvidence(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 0, 0, null, 0m, 0m, null, "x"),
            RecommendationStatus.Open, _time.GetUtcNow(), _time.GetUtcNow());

    [Fact]
    public void Autoscale_applies_only_under_an_enabled_policy_and_keeps_within_min_and_max()
    {
        var policy = new AutoscalePolicy("gpu", true, 2, 6, TimeSpan.FromMinutes(10));
        var now = _time.GetUtcNow();

        Assert.Equal((0, "not covered by an enabled autoscale policy"), AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -3), null, 4, now, automatic: true));
        Assert.Equal(0, AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -3), policy with { Enabled = false }, 4, now, automatic: true).Change);
        Assert.Equal((-2, (string?)null), AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -3), policy, 4, now, automatic: true));
        Assert.Equal((0, "the pool is at its minimum (2 agent(s))"), AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -1), policy, 2, now, automatic: true));
        Assert.Equal((2, (string?)null), AutoscaleRules.Decide(Open(RecommendationKind.ScaleUp, 38), policy, 4, now, automatic: true));
        Assert.Equal((0, "the pool is at its maximum (6 agent(s))"), AutoscaleRules.Decide(Open(RecommendationKind.ScaleUp, 1), policy, 6, now, automatic: true));
        Assert.Equal(0, AutoscaleRules.Decide(Open(RecommendationKind.RetireAgent, -1), policy, 4, now, automatic: true).Change);

        // An operator's apply: as recommended without a policy, within the bounds of an enabled one.
        Assert.Equal(-3, AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -3), null, 4, now, automatic: false).Change);
        Assert.Equal(-2, AutoscaleRules.Decide(Open(RecommendationKind.ScaleDown, -3), policy, 4, now, automatic: false).Change);
    }

    [Fact]
    public void Autoscale_waits_for_the_cooldown_after_the_pools_last_action_an_operator_does_not()
    {
        var policy = new AutoscalePolicy("gpu", true, 1, 10, TimeSpan.FromMinutes(10), LastActionAt: _time.GetUtcNow());
        var down = Open(RecommendationKind.ScaleDown, -1);

        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1));
        Assert.Equal((0, "cooldown until 2026-12-07T12:10:00.0000000+00:00"), AutoscaleRules.Decide(down, policy, 4, _time.GetUtcNow(), automatic: true));
        Assert.Equal(-1, AutoscaleRules.Decide(down, policy, 4, _time.GetUtcNow(), automatic: false).Change);

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal((-1, (string?)null), AutoscaleRules.Decide(down, policy, 4, _time.GetUtcNow(), automatic: true));
    }

    [Theory]
    [InlineData(5, 4, 60, "minAgents")]
    [InlineData(-1, 4, 60, "minAgents")]
    [InlineData(0, 0, 60, "maxAgents")]
    [InlineData(0, 100_001, 60, "maxAgents")]
    [InlineData(0, 4, -1, "cooldownSeconds")]
    [InlineData(0, 4, 604_801, "cooldownSeconds")]
    public void A_bad_policy_is_refused_naming_the_field(int min, int max, int cooldownSeconds, string field)
    {
        var error = Assert.Throws<MeshException>(() => new AutoscalePolicy("gpu", true, min, max, TimeSpan.FromSeconds(cooldownSeconds)).Validated());

        Assert.Equal(MeshErrorCode.InvalidArgument, error.Code);
        Assert.StartsWith(field + ":", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The advisor's options are checked at start with the cost options, their cross-field rule included.</summary>
public sealed class RecommendationOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_a_target_under_the_threshold_or_a_value_out_of_range_is_refused_naming_the_setting()
    {
        var validator = new CostOptionsValidator();
        Assert.True(validator.Validate(null, new CostOptions()).Succeeded);

        var under = validator.Validate(null, new CostOptions { Recommendations = { UtilizationThreshold = 0.5m, TargetUtilization = 0.4m } });
        Assert.Equal(["MeshOs:Cost:Recommendations:TargetUtilization (0.4) must be at least UtilizationThreshold (0.5)."], under.Failures!);

        var zero = validator.Validate(null, new CostOptions { Recommendations = { EvaluationInterval = TimeSpan.Zero, UtilizationThreshold = 2m } });
        Assert.Equal(3, zero.Failures!.Count()); // and the target (0.6) is now under the threshold
        Assert.Contains(zero.Failures!, f => f.StartsWith("MeshOs:Cost:Recommendations:EvaluationInterval:", StringComparison.Ordinal));
        Assert.Contains(zero.Failures!, f => f.StartsWith("MeshOs:Cost:Recommendations:UtilizationThreshold:", StringComparison.Ordinal));
    }
}
