using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Healing;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Events;

namespace MeshOs.Tests.Unit.Events;

public sealed class MeshEventDispatchTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly AgentStateChanged AgentChange =
        new("a-1", "acme", "gpu", "eu-west-1", "1.2.3", 0.5m, AgentState.Healthy, AgentState.Degraded, "slow", AgentChangeCause.Performance);

    private sealed class AgentsOnly : IMeshEventHandler<AgentStateChanged>
    {
        public List<(MeshEvent Envelope, AgentStateChanged Payload)> Seen { get; } = [];

        public void Handle(MeshEvent envelope, AgentStateChanged payload) => Seen.Add((envelope, payload));
    }

    [Fact]
    public void A_consumer_gets_the_kinds_it_handles_typed_and_other_kinds_pass_it_by()
    {
        var consumer = new AgentsOnly();
        var agentEvent = new MeshEvent(7, At, AgentChange);
        var scaleEvent = new MeshEvent(8, At, new ScaleRecommendation(At, "gpu", "llm", 10, 2, 4, "demand"));

        Assert.True(MeshEventDispatch.Dispatch(consumer, agentEvent));
        Assert.False(MeshEventDispatch.Dispatch(consumer, scaleEvent));
        Assert.False(MeshEventDispatch.Dispatch(new object(), agentEvent));

        var (envelope, payload) = Assert.Single(consumer.Seen);
        Assert.Same(agentEvent, envelope);
        Assert.Same(AgentChange, payload);
    }

    [Fact]
    public void The_kind_comes_from_the_payloads_registration_and_an_unregistered_payload_is_refused()
    {
        Assert.Equal(MeshEventKind.AgentStateChanged, new MeshEvent(0, At, AgentChange).Kind);
        Assert.Equal(MeshEventKind.OperatorActionTaken, new MeshEvent(0, At, new OperatorActionTaken("agent.drain", "agent/a-1", 3)).Kind);
        Assert.Throws<ArgumentException>(() => new MeshEvent(0, At, new Unregistered()).Kind);
        Assert.Null(MeshEventKinds.Find((MeshEventKind)99));
    }

    [Fact]
    public void Only_an_operators_successful_mutation_becomes_an_operator_action_event()
    {
        var draft = new AuditDraft(new AuditActor(AuditActorKinds.Operator, "op-key-1", null, "127.0.0.1"), "agent.drain", "agent/a-1",
            "acme", AuditOutcome.Succeeded, null, "req-1", "corr-1", "rest", null);
        var entry = new AuditEntry(42, At, draft, new string('0', 64), new string('1', 64));

        Assert.Equal(
            new MeshEvent(0, At, new OperatorActionTaken("agent.drain", "agent/a-1", 42), "op-key-1", "acme", "corr-1"),
            AuditGrain.OperatorAction(entry));
        Assert.Equal("req-1", AuditGrain.OperatorAction(entry with { Draft = draft with { CorrelationId = null } })!.CorrelationId);
        Assert.Null(AuditGrain.OperatorAction(entry with { Draft = draft with { Outcome = AuditOutcome.Refused } }));
        Assert.Null(AuditGrain.OperatorAction(entry with { Draft = draft with { Actor = draft.Actor with { Kind = AuditActorKinds.Tenant } } }));
    }

    private sealed record Unregistered : IMeshEventPayload;
}
