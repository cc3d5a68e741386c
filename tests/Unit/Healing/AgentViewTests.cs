using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Healing;

namespace MeshOs.Tests.Unit.Healing;

/// <summary>
/// Which agent views the healing supervisor stores: only those with healing history, since the rest is rebuilt
/// from the agent directory when it activates.
/// </summary>
public sealed class AgentViewTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_agent_healing_never_acted_on_has_no_history_whatever_its_state()
    {
        foreach (var state in Enum.GetValues<AgentState>())
        {
            Assert.False(new AgentView { Pool = "p", Owner = "o", State = state, Since = At }.HasHistory);
        }

        Assert.False(new AgentView { Pool = "p", Owner = "o", State = AgentState.Offline, Gone = true }.HasHistory);
    }

    public static TheoryData<string> Histories => ["dead", "dead-at", "failure", "restarted", "restart-due", "degraded", "quarantined"];

    [Theory]
    [MemberData(nameof(Histories))]
    public void Any_healing_bookkeeping_is_history(string kind)
    {
        var view = new AgentView { Pool = "p", Owner = "o", State = AgentState.Healthy, Since = At };
        switch (kind)
        {
            case "dead": view.Dead = true; break;
            case "dead-at": view.DeadAt = At; break;
            case "failure": view.Failures.Add(At); break;
            case "restarted": view.Restarts = 1; break;
            case "restart-due": view.NextRestartAt = At; break;
            case "degraded": view.DegradedByHealing = true; break;
            case "quarantined": view.LastQuarantinedAt = At; break;
        }

        Assert.True(view.HasHistory);
    }
}
