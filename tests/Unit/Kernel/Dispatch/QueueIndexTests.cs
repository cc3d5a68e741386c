using System.Security.Cryptography;
using System.Text;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Grains.Kernel.Dispatch;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Kernel.Dispatch;

public sealed class QueueIndexTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Func<string, int> NoCap = _ => int.MaxValue;

    private readonly FakeTimeProvider _clock = new(T0);
    private readonly QueueIndex _index = new();
    private readonly Dictionary<Guid, string> _names = [];

    private DateTimeOffset Now => _clock.GetUtcNow();

    // ---- priority ----

    [Fact]
    public void Take_from_an_empty_index_returns_nothing()
    {
        Assert.Empty(_index.Take(10, NoCap, Now));
        Assert.Equal(0, _index.ReadyCount);
        Assert.Empty(_index.InFlightByTenant);
    }

    [Fact]
    public void Take_serves_priority_9_before_priority_0_whatever_the_order_of_arrival()
    {
        Add("a", "low", priority: 0);
        Add("a", "mid", priority: 5);
        Add("a", "high", priority: 9);

        Assert.Equal(["high", "mid", "low"], Take(3));
    }

    [Fact]
    public void Take_serves_every_priority_level_in_descending_order()
    {
        for (var p = 0; p < QueueIndex.PriorityLevels; p++)
        {
            Add("a", $"p{p}", priority: p);
        }

        Assert.Equal(["p9", "p8", "p7", "p6", "p5", "p4", "p3", "p2", "p1", "p0"], Take(100));
    }

    [Fact]
    public void Take_one_at_a_time_still_takes_the_highest_priority_first()
    {
        Add("a", "a-low", priority: 1);
        Add("b", "b-high", priority: 8);

        Assert.Equal(["b-high"], Take(1));
        Assert.Equal(["a-low"], Take(1));
    }

    [Fact]
    public void Higher_priority_of_one_tenant_goes_before_lower_priority_of_another_despite_round_robin()
    {
        AddMany("a", 3, priority: 7);
        AddMany("b", 3, priority: 2);

        Assert.Equal(["a1", "a2", "a3", "b1", "b2", "b3"], Take(6));
    }

    [Fact]
    public void Out_of_range_priorities_are_clamped_to_0_and_9()
    {
        Add("a", "mid", priority: 5);
        Add("a", "above", priority: 42);
        Add("a", "below", priority: -3);

        var taken = _index.Take(3, NoCap, Now);

        Assert.Equal(["above", "mid", "below"], taken.Select(t => _names[t.JobId]));
        Assert.Equal([9, 5, 0], taken.Select(t => t.Priority));
    }

    // ---- FIFO and fairness ----

    [Fact]
    public void Take_is_fifo_within_a_tenant_lane()
    {
        AddMany("a", 5);

        Assert.Equal(["a1", "a2", "a3", "a4", "a5"], Take(5));
    }

    [Fact]
    public void Take_is_fifo_within_a_lane_across_several_takes()
    {
        AddMany("a", 5);

        Assert.Equal(["a1", "a2"], Take(2));
        Assert.Equal(["a3"], Take(1));
        Assert.Equal(["a4", "a5"], Take(10));
    }

    [Fact]
    public void Take_reports_the_job_tenant_priority_and_enqueue_time()
    {
        var enqueued = T0 - TimeSpan.FromMinutes(3);
        Add("acme", "j", priority: 6, enqueuedAt: enqueued);

        var job = Assert.Single(_index.Take(1, NoCap, Now));

        Assert.Equal(new TakenJob(Id("j"), "acme", 6, enqueued), job);
    }

    [Fact]
    public void Take_round_robins_between_tenants_of_one_priority()
    {
        AddMany("a", 3);
        AddMany("b", 3);
        AddMany("c", 1);

        Assert.Equal(["a1", "b1", "c1", "a2", "b2", "a3", "b3"], Take(7));
    }

    [Fact]
    public void A_large_backlog_does_not_starve_a_small_tenant()
    {
        AddMany("a", 100);
        AddMany("b", 2);

        var first4 = Take(4);

        Assert.Contains("b1", first4);
        Assert.Contains("b2", first4);
        Assert.Equal(["a1", "b1", "a2", "b2"], first4);
    }

    [Fact]
    public void Round_robin_rotation_carries_over_between_takes()
    {
        AddMany("a", 100);
        AddMany("b", 2);

        Assert.Equal(["a1"], Take(1));
        Assert.Equal(["b1"], Take(1));
        Assert.Equal(["a2"], Take(1));
        Assert.Equal(["b2"], Take(1));
        Assert.Equal(["a3", "a4"], Take(2));
    }

    [Fact]
    public void A_tenant_arriving_late_joins_the_rotation_at_its_end()
    {
        AddMany("a", 4);
        Assert.Equal(["a1"], Take(1));
        AddMany("b", 2);

        Assert.Equal(["a2", "b1", "a3", "b2", "a4"], Take(10));
    }

    // ---- concurrency caps ----

    [Fact]
    public void Take_skips_a_tenant_at_its_cap_and_serves_the_others()
    {
        AddMany("a", 3);
        AddMany("b", 3);

        var taken = Take(10, t => t == "a" ? 1 : int.MaxValue);

        Assert.Equal(["a1", "b1", "b2", "b3"], taken);
        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.Equal(3, _index.InFlightOf("b"));
        Assert.Equal(2, _index.PendingOf("a"));
        Assert.Equal(0, _index.PendingOf("b"));
    }

    [Fact]
    public void A_capped_tenant_first_in_rotation_does_not_stop_another_tenant_with_several_jobs()
    {
        Add("a", "a1");
        Add("a", "a2");
        Func<string, int> cap = t => t == "a" ? 1 : int.MaxValue;
        Assert.Equal(["a1"], Take(1, cap)); // a is now at its cap and still first in rotation
        AddMany("b", 5);

        Assert.Equal(["b1", "b2", "b3", "b4", "b5"], Take(10, cap));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1 }, _index.PendingByTenant);
        Assert.Equal(1, _index.ReadyCount);

        Assert.Empty(Take(10, cap));
        Assert.True(_index.EndInFlight(Id("a1")));
        Assert.Equal(["a2"], Take(10, cap));
    }

    [Fact]
    public void In_flight_marks_the_store_no_longer_backs_end_once_old_enough_and_free_the_tenants_slots()
    {
        AddMany("a", 3);
        Func<string, int> cap = t => t == "a" ? 2 : int.MaxValue;
        Assert.Equal(["a1", "a2"], Take(10, cap)); // taken at T0
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Empty(Take(10, cap)); // a is at its cap: a1's and a2's ends were never heard of

        // The store lists a2 as leased still; a1 is not leased any more (its end was lost).
        Assert.Equal(0, _index.EndInFlightNotIn(new HashSet<Guid> { Id("a2") }, T0)); // taken at T0: not before T0
        Assert.Equal(1, _index.EndInFlightNotIn(new HashSet<Guid> { Id("a2") }, Now - TimeSpan.FromSeconds(10)));

        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.Equal(["a3"], Take(10, cap));
        Assert.Equal(0, _index.EndInFlightNotIn(new HashSet<Guid> { Id("a2") }, Now - TimeSpan.FromSeconds(10))); // a3: taken just now
        Assert.Equal(2, _index.InFlightOf("a"));
    }

    [Fact]
    public void A_capped_tenant_in_the_middle_of_the_rotation_is_skipped_every_round()
    {
        AddMany("a", 2);
        AddMany("b", 3);
        AddMany("c", 2);

        Assert.Equal(["a1", "c1", "a2", "c2"], Take(10, t => t == "b" ? 0 : int.MaxValue));
        Assert.Equal(3, _index.PendingOf("b"));
    }

    [Fact]
    public void A_tenant_reaching_its_cap_during_a_take_is_skipped_for_the_rest_of_it()
    {
        AddMany("a", 5);
        AddMany("b", 5);

        Assert.Equal(["a1", "b1", "a2", "b2", "b3", "b4", "b5"], Take(10, t => t == "a" ? 2 : int.MaxValue));
        Assert.Equal(2, _index.InFlightOf("a"));
        Assert.Equal(3, _index.PendingOf("a"));
    }

    [Fact]
    public void When_every_tenant_is_capped_take_returns_nothing_and_changes_nothing()
    {
        AddMany("a", 2);
        AddMany("b", 2);

        Assert.Empty(Take(10, _ => 0));
        Assert.Equal(4, _index.ReadyCount);
        Assert.Empty(_index.InFlightByTenant);
        Assert.Equal(["a1", "b1", "a2", "b2"], Take(10));
    }

    [Fact]
    public void A_capped_tenant_at_a_high_priority_does_not_block_lower_priorities()
    {
        AddMany("a", 2, priority: 9);
        AddMany("b", 2, priority: 0);

        Assert.Equal(["b1", "b2"], Take(10, t => t == "a" ? 0 : int.MaxValue));
    }

    [Fact]
    public void The_cap_counts_in_flight_jobs_of_every_priority()
    {
        Add("a", "high", priority: 9);
        Add("a", "low", priority: 1);
        Add("b", "b1", priority: 1);
        Func<string, int> cap = t => t == "a" ? 1 : int.MaxValue;

        Assert.Equal(["high"], Take(1, cap));
        Assert.Equal(["b1"], Take(10, cap));
        Assert.Equal(1, _index.PendingOf("a"));
    }

    [Fact]
    public void The_cap_counts_jobs_marked_in_flight_by_a_rebuild()
    {
        AddMany("a", 2);
        _index.MarkInFlight(Guid.NewGuid(), "a", Now);

        Assert.Equal(["a1"], Take(10, t => t == "a" ? 2 : int.MaxValue));
        Assert.Equal(2, _index.InFlightOf("a"));
    }

    [Fact]
    public void Take_never_returns_more_than_max()
    {
        AddMany("a", 5);
        AddMany("b", 5);

        Assert.Equal(3, Take(3).Length);
        Assert.Empty(Take(0));
        Assert.Equal(7, _index.ReadyCount);
        Assert.Equal(3, _index.InFlightByTenant.Values.Sum());
    }

    // ---- delayed jobs ----

    [Fact]
    public void A_job_available_later_is_not_taken_until_promoted_at_its_time()
    {
        Add("a", "later", availableIn: TimeSpan.FromSeconds(10));
        Assert.Equal(0, _index.ReadyCount);
        Assert.Equal(1, _index.DelayedCount);
        Assert.Empty(Take(10));

        _clock.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal(0, _index.PromoteDue(Now));
        Assert.Empty(Take(10));

        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, _index.PromoteDue(Now));
        Assert.Equal(1, _index.ReadyCount);
        Assert.Equal(0, _index.DelayedCount);
        Assert.Equal(["later"], Take(10));
    }

    [Fact]
    public void A_due_delayed_job_is_not_taken_without_promotion()
    {
        Add("a", "later", availableIn: TimeSpan.FromSeconds(1));
        _clock.Advance(TimeSpan.FromMinutes(1));

        Assert.Empty(Take(10));
        Assert.Equal(1, _index.PromoteDue(Now));
        Assert.Equal(["later"], Take(10));
    }

    [Fact]
    public void A_job_available_now_or_in_the_past_is_ready_at_once()
    {
        Add("a", "now", availableIn: TimeSpan.Zero);
        Add("a", "past", availableIn: TimeSpan.FromSeconds(-5));

        Assert.Equal(2, _index.ReadyCount);
        Assert.Equal(0, _index.DelayedCount);
        Assert.Null(_index.NextDueAt());
        Assert.Equal(["now", "past"], Take(10));
    }

    [Fact]
    public void PromoteDue_promotes_only_what_is_due_and_counts_it()
    {
        Add("a", "d10", availableIn: TimeSpan.FromSeconds(10));
        Add("a", "d20", availableIn: TimeSpan.FromSeconds(20));
        Add("a", "d30", availableIn: TimeSpan.FromSeconds(30));

        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(2, _index.PromoteDue(Now));
        Assert.Equal(0, _index.PromoteDue(Now));
        Assert.Equal(2, _index.ReadyCount);
        Assert.Equal(1, _index.DelayedCount);
        Assert.Equal(["d10", "d20"], Take(10));
    }

    [Fact]
    public void Promoted_jobs_join_their_lane_in_order_of_availability_behind_ready_jobs()
    {
        Add("a", "late", availableIn: TimeSpan.FromSeconds(20));
        Add("a", "early", availableIn: TimeSpan.FromSeconds(10));
        Add("a", "ready1");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Add("a", "ready2");

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, _index.PromoteDue(Now));

        Assert.Equal(["ready1", "ready2", "early", "late"], Take(10));
    }

    [Fact]
    public void Promoted_jobs_keep_their_priority()
    {
        Add("a", "ready-low", priority: 1);
        Add("a", "delayed-high", priority: 9, availableIn: TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromSeconds(5));
        _index.PromoteDue(Now);

        Assert.Equal(["delayed-high", "ready-low"], Take(10));
    }

    [Fact]
    public void NextDueAt_is_the_earliest_time_of_a_delayed_job_or_null()
    {
        Assert.Null(_index.NextDueAt());
        Add("a", "ready");
        Assert.Null(_index.NextDueAt());

        Add("a", "d30", availableIn: TimeSpan.FromSeconds(30));
        Add("b", "d10", availableIn: TimeSpan.FromSeconds(10));
        Add("a", "d20", availableIn: TimeSpan.FromSeconds(20));
        Assert.Equal(T0 + TimeSpan.FromSeconds(10), _index.NextDueAt());

        _clock.Advance(TimeSpan.FromSeconds(10));
        _index.PromoteDue(Now);
        Assert.Equal(T0 + TimeSpan.FromSeconds(20), _index.NextDueAt());

        _clock.Advance(TimeSpan.FromSeconds(20));
        _index.PromoteDue(Now);
        Assert.Null(_index.NextDueAt());
    }

    [Fact]
    public void NextDueAt_ignores_removed_delayed_jobs()
    {
        Add("a", "d10", availableIn: TimeSpan.FromSeconds(10));
        Add("a", "d20", availableIn: TimeSpan.FromSeconds(20));

        Assert.True(_index.Remove(Id("d10")));
        Assert.Equal(T0 + TimeSpan.FromSeconds(20), _index.NextDueAt());

        Assert.True(_index.Remove(Id("d20")));
        Assert.Null(_index.NextDueAt());
    }

    // ---- Return ----

    [Fact]
    public void Return_puts_jobs_back_at_the_head_of_their_lane_in_their_order()
    {
        AddMany("a", 4);
        var taken = _index.Take(2, NoCap, Now);
        Assert.Equal(["a1", "a2"], taken.Select(t => _names[t.JobId]));

        _index.Return(taken, Now);

        Assert.Equal(4, _index.ReadyCount);
        Assert.Equal(4, _index.PendingOf("a"));
        Assert.Equal(0, _index.InFlightOf("a"));
        Assert.Empty(_index.InFlightByTenant);
        Assert.Equal(["a1", "a2", "a3", "a4"], Take(4));
    }

    [Fact]
    public void A_job_handed_back_says_so_when_it_is_taken_again_and_keeps_when_it_was_queued()
    {
        var queuedAt = Now;
        AddMany("a", 2);
        var first = _index.Take(2, NoCap, Now);
        Assert.All(first, t => Assert.False(t.HandedBack));
        _clock.Advance(TimeSpan.FromSeconds(30));

        _index.Return([first[0]], Now);
        var again = _index.Take(2, NoCap, Now);

        var taken = Assert.Single(again);
        Assert.Equal(first[0].JobId, taken.JobId);
        Assert.True(taken.HandedBack);
        Assert.Equal(queuedAt, taken.EnqueuedAt);
    }

    [Fact]
    public void Returned_jobs_of_several_tenants_each_go_back_to_their_own_lane()
    {
        AddMany("a", 2);
        AddMany("b", 2);
        var taken = _index.Take(2, NoCap, Now);
        Assert.Equal(["a1", "b1"], taken.Select(t => _names[t.JobId]));

        _index.Return(taken, Now);

        Assert.Equal(2, _index.PendingOf("a"));
        Assert.Equal(2, _index.PendingOf("b"));
        var again = Take(4);
        Assert.Equal(["a1", "a2"], again.Where(n => n.StartsWith('a')));
        Assert.Equal(["b1", "b2"], again.Where(n => n.StartsWith('b')));
    }

    [Fact]
    public void A_returned_job_is_ready_at_once_and_keeps_its_priority_and_enqueue_time()
    {
        var enqueued = T0 - TimeSpan.FromMinutes(1);
        Add("a", "j", priority: 8, enqueuedAt: enqueued);
        Add("a", "k", priority: 3);
        var taken = _index.Take(1, NoCap, Now);

        _clock.Advance(TimeSpan.FromSeconds(5));
        _index.Return(taken, Now);

        Assert.Equal(enqueued, _index.OldestReadySince());
        var again = _index.Take(1, NoCap, Now);
        Assert.Equal(new TakenJob(Id("j"), "a", 8, enqueued, HandedBack: true), Assert.Single(again));
    }

    [Fact]
    public void A_job_held_back_waits_out_its_hold_frees_its_tenants_slot_at_once_and_lets_the_jobs_behind_it_go()
    {
        _index.Add(new QueuedJob(Id("pii"), "a", 9, Now, Now, ["pii"]), Now);
        Add("a", "plain", priority: 9);
        Add("b", "other", priority: 1);
        var taken = _index.Take(1, _ => 1, Now);
        Assert.Equal(new TakenJob(Id("pii"), "a", 9, Now, DataClasses: ["pii"]).JobId, Assert.Single(taken).JobId);
        Assert.Equal(new[] { "pii" }, taken[0].DataClasses);

        _index.Return(taken, Now, holdFor: TimeSpan.FromSeconds(1));

        Assert.Equal(0, _index.InFlightOf("a"));
        Assert.Equal(1, _index.DelayedCount);
        Assert.Equal(Now + TimeSpan.FromSeconds(1), _index.NextDueAt());
        Assert.Equal(["plain", "other"], Take(10)); // not handed out again meanwhile, and nothing waits behind it

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _index.PromoteDue(Now));
        var again = Assert.Single(_index.Take(10, NoCap, Now));
        Assert.Equal((Id("pii"), true, "pii"), (again.JobId, again.HandedBack, again.DataClasses.Single()));
    }

    [Fact]
    public void Returning_a_job_that_was_re_added_meanwhile_does_not_index_it_twice()
    {
        Add("a", "j");
        var taken = _index.Take(1, NoCap, Now);
        Assert.True(Add("a", "j"));

        _index.Return(taken, Now);

        Assert.Equal(1, _index.Count);
        Assert.Equal(1, _index.PendingOf("a"));
        Assert.Empty(_index.InFlightByTenant);
        Assert.Equal(["j"], Take(10));
        Assert.Empty(Take(10));
    }

    [Fact]
    public void Return_of_nothing_changes_nothing()
    {
        AddMany("a", 2);

        _index.Return([], Now);

        Assert.Equal(2, _index.ReadyCount);
        Assert.Equal(["a1", "a2"], Take(10));
    }

    // ---- Remove ----

    [Fact]
    public void Remove_drops_a_ready_job_and_keeps_the_rest_of_its_lane_in_order()
    {
        AddMany("a", 3);

        Assert.True(_index.Remove(Id("a2")));

        Assert.False(_index.Contains(Id("a2")));
        Assert.Equal(2, _index.ReadyCount);
        Assert.Equal(2, _index.PendingOf("a"));
        Assert.Equal(["a1", "a3"], Take(10));
    }

    [Fact]
    public void Removing_the_last_job_of_a_tenant_takes_it_out_of_the_rotation()
    {
        Add("a", "a1");
        AddMany("b", 2);
        AddMany("c", 2);

        Assert.True(_index.Remove(Id("a1")));

        Assert.False(_index.PendingByTenant.ContainsKey("a"));
        Assert.Equal(["b1", "c1", "b2", "c2"], Take(10));
    }

    [Fact]
    public void A_tenant_whose_lane_was_emptied_by_remove_rejoins_the_rotation_when_it_has_work_again()
    {
        Add("a", "a1");
        AddMany("b", 2);
        Assert.True(_index.Remove(Id("a1")));

        Add("a", "a2");

        Assert.Equal(["b1", "a2", "b2"], Take(10));
    }

    [Fact]
    public void Remove_drops_a_delayed_job_so_promotion_never_surfaces_it()
    {
        Add("a", "later", availableIn: TimeSpan.FromSeconds(10));

        Assert.True(_index.Remove(Id("later")));
        Assert.Equal(0, _index.DelayedCount);
        Assert.Equal(0, _index.Count);
        Assert.Empty(_index.PendingByTenant);

        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(0, _index.PromoteDue(Now));
        Assert.Equal(0, _index.ReadyCount);
        Assert.Empty(Take(10));
    }

    [Fact]
    public void A_removed_delayed_job_added_again_is_due_at_its_new_time_only()
    {
        Add("a", "j", availableIn: TimeSpan.FromSeconds(10));
        Assert.True(_index.Remove(Id("j")));
        Add("a", "j", availableIn: TimeSpan.FromSeconds(60));

        Assert.Equal(T0 + TimeSpan.FromSeconds(60), _index.NextDueAt());
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _index.PromoteDue(Now));
        Assert.Empty(Take(10));

        _clock.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(1, _index.PromoteDue(Now));
        Assert.Equal(["j"], Take(10));
    }

    [Fact]
    public void Remove_of_an_unknown_removed_or_in_flight_job_returns_false()
    {
        Add("a", "j");
        Add("a", "k");
        _ = Take(1);

        Assert.False(_index.Remove(Guid.NewGuid()));
        Assert.False(_index.Remove(Id("j"))); // in flight, not indexed
        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.True(_index.Remove(Id("k")));
        Assert.False(_index.Remove(Id("k")));
    }

    // ---- in-flight accounting ----

    [Fact]
    public void Take_marks_jobs_in_flight_per_tenant()
    {
        AddMany("a", 2);
        AddMany("b", 1);

        _ = Take(3);

        Assert.Equal(2, _index.InFlightOf("a"));
        Assert.Equal(1, _index.InFlightOf("b"));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 2, ["b"] = 1 }, _index.InFlightByTenant);
        Assert.Empty(_index.PendingByTenant);
        Assert.Equal(0, _index.Count);
    }

    [Fact]
    public void EndInFlight_is_idempotent_and_drops_empty_tenants()
    {
        AddMany("a", 2);
        _ = Take(2);

        Assert.True(_index.EndInFlight(Id("a1")));
        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.False(_index.EndInFlight(Id("a1")));
        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.True(_index.EndInFlight(Id("a2")));
        Assert.Equal(0, _index.InFlightOf("a"));
        Assert.False(_index.InFlightByTenant.ContainsKey("a"));
        Assert.False(_index.EndInFlight(Guid.NewGuid()));
    }

    [Fact]
    public void EndInFlight_of_an_indexed_job_leaves_it_indexed()
    {
        Add("a", "j");

        Assert.False(_index.EndInFlight(Id("j")));
        Assert.True(_index.Contains(Id("j")));
        Assert.Equal(1, _index.ReadyCount);
    }

    [Fact]
    public void Adding_an_in_flight_job_again_ends_its_in_flight()
    {
        Add("a", "j");
        _ = Take(1);
        Assert.Equal(1, _index.InFlightOf("a"));

        Assert.True(Add("a", "j", availableIn: TimeSpan.FromSeconds(5)));

        Assert.Equal(0, _index.InFlightOf("a"));
        Assert.Empty(_index.InFlightByTenant);
        Assert.True(_index.Contains(Id("j")));
        Assert.Equal(1, _index.DelayedCount);
        Assert.False(_index.IsRecentlyTaken(Id("j"), Now, TimeSpan.MaxValue));
    }

    [Fact]
    public void Adding_an_indexed_job_again_is_refused_and_changes_nothing()
    {
        Add("a", "j");

        Assert.False(Add("a", "j", priority: 9));
        Assert.False(Add("a", "j", availableIn: TimeSpan.FromSeconds(5)));

        Assert.Equal(1, _index.Count);
        Assert.Equal(1, _index.ReadyCount);
        Assert.Equal(0, _index.DelayedCount);
        Assert.Equal(1, _index.PendingOf("a"));
        Assert.Equal(5, Assert.Single(_index.Take(10, NoCap, Now)).Priority);
    }

    [Fact]
    public void MarkInFlight_counts_a_job_once()
    {
        var id = Guid.NewGuid();

        _index.MarkInFlight(id, "a", Now);
        _index.MarkInFlight(id, "a", Now);

        Assert.Equal(1, _index.InFlightOf("a"));
        Assert.True(_index.EndInFlight(id));
        Assert.Equal(0, _index.InFlightOf("a"));
    }

    [Fact]
    public void IsRecentlyTaken_is_true_only_for_an_in_flight_job_younger_than_the_minimum_age()
    {
        AddMany("a", 2);
        _ = Take(1);
        var minAge = TimeSpan.FromSeconds(10);

        Assert.True(_index.IsRecentlyTaken(Id("a1"), Now, minAge));
        Assert.False(_index.IsRecentlyTaken(Id("a2"), Now, minAge)); // indexed, not taken
        Assert.False(_index.IsRecentlyTaken(Guid.NewGuid(), Now, minAge));

        _clock.Advance(minAge - TimeSpan.FromTicks(1));
        Assert.True(_index.IsRecentlyTaken(Id("a1"), Now, minAge));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.False(_index.IsRecentlyTaken(Id("a1"), Now, minAge));

        Assert.True(_index.IsRecentlyTaken(Id("a1"), Now, TimeSpan.MaxValue));
        _index.EndInFlight(Id("a1"));
        Assert.False(_index.IsRecentlyTaken(Id("a1"), Now, TimeSpan.MaxValue));
    }

    // ---- counts ----

    [Fact]
    public void Counts_track_ready_delayed_pending_and_in_flight_jobs()
    {
        AddMany("a", 3);
        Add("a", "a-later", availableIn: TimeSpan.FromSeconds(30));
        AddMany("b", 2);
        Add("c", "c-later", availableIn: TimeSpan.FromSeconds(30));

        Assert.Equal(5, _index.ReadyCount);
        Assert.Equal(2, _index.DelayedCount);
        Assert.Equal(7, _index.Count);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 4, ["b"] = 2, ["c"] = 1 }, _index.PendingByTenant);
        Assert.Equal(0, _index.PendingOf("nobody"));
        Assert.Equal(0, _index.InFlightOf("nobody"));

        _ = Take(3);
        Assert.Equal(2, _index.ReadyCount);
        Assert.Equal(2, _index.DelayedCount);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 2, ["b"] = 1, ["c"] = 1 }, _index.PendingByTenant);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 2, ["b"] = 1 }, _index.InFlightByTenant);

        _clock.Advance(TimeSpan.FromSeconds(30));
        _index.PromoteDue(Now);
        Assert.Equal(4, _index.ReadyCount);
        Assert.Equal(0, _index.DelayedCount);

        _ = Take(10);
        Assert.Equal(0, _index.Count);
        Assert.Empty(_index.PendingByTenant);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 4, ["b"] = 2, ["c"] = 1 }, _index.InFlightByTenant);
    }

    [Fact]
    public void OldestReadySince_is_the_earliest_enqueue_time_among_ready_jobs()
    {
        Assert.Null(_index.OldestReadySince());
        Add("a", "older-but-delayed", availableIn: TimeSpan.FromSeconds(30), enqueuedAt: T0 - TimeSpan.FromHours(1));
        Assert.Null(_index.OldestReadySince());

        Add("a", "j", enqueuedAt: T0 - TimeSpan.FromMinutes(2));
        Add("b", "k", enqueuedAt: T0 - TimeSpan.FromMinutes(5));
        Assert.Equal(T0 - TimeSpan.FromMinutes(5), _index.OldestReadySince());

        _clock.Advance(TimeSpan.FromSeconds(30));
        _index.PromoteDue(Now);
        Assert.Equal(T0 - TimeSpan.FromHours(1), _index.OldestReadySince());
    }

    // ---- helpers ----

    private Guid Id(string name)
    {
        var id = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16));
        _names[id] = name;
        return id;
    }

    private bool Add(string tenant, string name, int priority = 5, TimeSpan? availableIn = null, DateTimeOffset? enqueuedAt = null) =>
        _index.Add(new QueuedJob(Id(name), tenant, priority, Now + (availableIn ?? TimeSpan.Zero), enqueuedAt ?? Now), Now);

    private void AddMany(string tenant, int count, int priority = 5)
    {
        for (var i = 1; i <= count; i++)
        {
            Assert.True(Add(tenant, $"{tenant}{i}", priority));
        }
    }

    private string[] Take(int max, Func<string, int>? cap = null) =>
        [.. _index.Take(max, cap ?? NoCap, Now).Select(t => _names[t.JobId])];
}
