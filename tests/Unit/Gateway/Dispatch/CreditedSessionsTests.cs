using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Dispatch;

namespace MeshOs.Tests.Unit.Gateway.Dispatch;

public sealed class CreditedSessionsTests
{
    [Fact]
    public void Sessions_without_credits_are_not_held_and_add_nothing_to_the_demand()
    {
        var credited = new CreditedSessions();
        var idle = Enumerable.Range(0, 1_000).Select(i => Session($"idle-{i}")).ToList();

        idle.ForEach(credited.Update);

        Assert.Equal(0, credited.Count);
        Assert.Equal(0, credited.Demand(256));
        Assert.Null(credited.Reserve());
    }

    [Fact]
    public void Demand_sums_usable_credits_up_to_the_cap()
    {
        var credited = new CreditedSessions();
        var a = Session("a", credits: 3);
        var b = Session("b", credits: 5);
        var degraded = Session("c", credits: 10, maxConcurrency: 8, state: AgentState.Degraded); // a quarter of 8: 2 usable
        var unresponsive = Session("d", credits: 7, state: AgentState.Unresponsive);
        foreach (var s in new[] { a, b, degraded, unresponsive })
        {
            credited.Update(s);
        }

        Assert.Equal(3 + 5 + 2, credited.Demand(256));
        Assert.Equal(4, credited.Demand(4));
        Assert.Equal(4, credited.Count); // the unresponsive one keeps its credits for when it is back
    }

    [Fact]
    public void Reserve_passes_over_sessions_the_caller_refuses_and_leaves_their_credits()
    {
        var credited = new CreditedSessions();
        var us = Session("us", credits: 2);
        var eu = Session("eu", credits: 1);
        credited.Update(us);
        credited.Update(eu);

        Assert.Same(eu, credited.Reserve(s => s.Registration.AgentId == "eu"));
        Assert.Null(credited.Reserve(s => s.Registration.AgentId == "eu")); // eu has no credit left; us is refused
        Assert.Equal((2, 0), (us.Credits, us.Leasing));
        Assert.Same(us, credited.Reserve());
    }

    [Fact]
    public void Reserve_takes_credits_round_robin_and_drops_a_session_once_it_has_none()
    {
        var credited = new CreditedSessions();
        var a = Session("a", credits: 2);
        var b = Session("b", credits: 1);
        var c = Session("c", credits: 2);
        foreach (var s in new[] { a, b, c })
        {
            credited.Update(s);
        }

        var taken = Enumerable.Range(0, 5).Select(_ => credited.Reserve()!.AgentId).ToList();

        // Everyone gets one before anyone gets a second.
        Assert.Equal(new[] { "a", "b", "c", "a", "c" }, taken);
        Assert.Null(credited.Reserve());
        Assert.Equal(0, credited.Count);
        Assert.All(new[] { a, b, c }, s => Assert.Equal((0, s == b ? 1 : 2), (s.Credits, s.Leasing)));
    }

    [Fact]
    public void A_closed_session_or_one_whose_credits_went_elsewhere_is_dropped()
    {
        var credited = new CreditedSessions();
        var closed = Session("closed", credits: 4);
        var spent = Session("spent", credits: 1);
        var open = Session("open", credits: 1);
        foreach (var s in new[] { closed, spent, open })
        {
            credited.Update(s);
        }

        closed.Closed = true;
        closed.Credits = 0;
        credited.Update(closed); // the hub's Detach
        spent.Credits = 0; // taken through another queue of the same agent: this one is not told

        Assert.False(credited.Contains(closed));
        Assert.Equal(1, credited.Demand(256));
        Assert.False(credited.Contains(spent));
        Assert.Same(open, credited.Reserve());
        Assert.Null(credited.Reserve());
    }

    [Fact]
    public void A_session_that_gets_credits_again_is_held_again_once()
    {
        var credited = new CreditedSessions();
        var a = Session("a", credits: 1);
        credited.Update(a);
        credited.Update(a);
        Assert.Same(a, credited.Reserve());
        Assert.Equal(0, credited.Count);

        a.Credits = 2;
        credited.Update(a);
        credited.Update(a);

        Assert.Equal(1, credited.Count);
        Assert.Equal(2, credited.Demand(256));
    }

    [Fact]
    public void Gather_collects_up_to_the_window_in_rotation_and_take_moves_the_rotation_on()
    {
        var credited = new CreditedSessions();
        var sessions = Enumerable.Range(0, 5).Select(i => Session($"s{i}", credits: 2)).ToList();
        sessions.ForEach(credited.Update);
        var gathered = new List<AgentSession>();

        Assert.Equal(3, credited.Gather(3, null, gathered));
        Assert.Equal(["s0", "s1", "s2"], gathered.Select(s => s.AgentId));
        credited.Take(gathered[2]); // the policy chose the third
        Assert.Equal((1, 1), (sessions[2].Credits, sessions[2].Leasing));

        Assert.Equal(3, credited.Gather(3, null, gathered));
        Assert.Equal(["s1", "s2", "s3"], gathered.Select(s => s.AgentId)); // on from after the first gathered

        Assert.Equal(2, credited.Gather(3, s => s.AgentId is "s0" or "s4", gathered));
        Assert.Equal(["s4", "s0"], gathered.Select(s => s.AgentId).Order().Reverse());
        Assert.Equal(5, credited.Gather(16, null, gathered)); // never more than there are, each once
    }

    private static TestSession Session(string id, int credits = 0, int maxConcurrency = 16, AgentState state = AgentState.Healthy)
    {
        var session = new TestSession(new AgentRegistration(id, "platform", "platform", ["llm"], maxConcurrency, "1.0", "local", 0m), state);
        session.Credits = credits;
        return session;
    }

    private sealed class TestSession(AgentRegistration registration, AgentState state) : AgentSession(registration, state)
    {
        public override int Outstanding => 0;

        public override bool TryDeliver(LeaseGrant grant) => true;
    }
}
