using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Kernel.Agents;

namespace MeshOs.Tests.Unit.Kernel.Agents;

public sealed class SharedValuesTests
{
    /// <summary>A registration as it comes off the wire: every string its own copy.</summary>
    private static AgentRegistration Received(string agentId, string runtime = "sim") => new(
        new string(agentId.AsSpan()), Copy("acme"), Copy("acme/gpu"), [Copy("llm"), Copy("embed")], 4, Copy("1.2.3"), Copy("eu-west"), 0.5m, Copy(runtime));

    private static string Copy(string value) => new(value.AsSpan());

    [Fact]
    public void Two_registrations_share_every_repeated_value_but_keep_their_own_agent_ids_and_equal_what_came()
    {
        var values = new SharedValues(100);
        var first = Received("a-1");
        var second = Received("a-2");

        var a = values.Share(first);
        var b = values.Share(second);

        Assert.Equal(first, a with { Capabilities = first.Capabilities });
        Assert.Equal(["llm", "embed"], a.Capabilities.ToArray());
        Assert.Same(a.Owner, b.Owner);
        Assert.Same(a.Pool, b.Pool);
        Assert.Same(a.Version, b.Version);
        Assert.Same(a.Region, b.Region);
        Assert.Same(a.Runtime, b.Runtime);
        Assert.True(a.Capabilities == b.Capabilities, "the capability set is one array");
        Assert.Same(first.AgentId, a.AgentId);
        Assert.Same(second.AgentId, b.AgentId);
    }

    [Fact]
    public void Capability_sets_in_another_order_are_other_sets()
    {
        var values = new SharedValues(100);

        var set = values.Share([Copy("a"), Copy("b")]);
        var reversed = values.Share([Copy("b"), Copy("a")]);

        Assert.Equal(["a", "b"], set.ToArray());
        Assert.Equal(["b", "a"], reversed.ToArray());
        Assert.Same(set[0], reversed[1]);
    }

    [Fact]
    public void Past_its_limit_the_pool_keeps_new_values_as_they_came_and_still_shares_the_old_ones()
    {
        var values = new SharedValues(2);
        var one = values.Share(Copy("one"));
        values.Share(Copy("two"));

        var three = Copy("three");
        Assert.Same(three, values.Share(three));
        Assert.NotSame(values.Share(Copy("three")), values.Share(Copy("three")));
        Assert.Same(one, values.Share(Copy("one")));
    }

    [Fact]
    public void Empty_and_missing_values_pass_through()
    {
        var values = new SharedValues(100);

        Assert.Same(string.Empty, values.Share(Copy("")));
        Assert.True(values.Share(default(ImmutableArray<string>)).IsDefault);
        Assert.Null(values.Share(Received("a-1") with { Runtime = null }).Runtime);
    }
}
