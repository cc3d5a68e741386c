using MeshOs.Abstractions.Agents;
using MeshOs.Grains.Healing;
using MeshOs.Grains.Kernel.Agents;

namespace MeshOs.Tests.Unit.Healing;

/// <summary>What the supervisor and the directory forget, and the typed causes decisions read instead of text.</summary>
public sealed class RetentionAndCauseTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_supervisor_forgets_agents_offline_past_the_retention_only()
    {
        var options = new HealingOptions();
        var edge = T0 + options.ForgetDeadAgentsAfter;

        Assert.False(HealingPolicy.IsForgotten(AgentState.Offline, T0, edge, options));
        Assert.True(HealingPolicy.IsForgotten(AgentState.Offline, T0, edge + TimeSpan.FromTicks(1), options));
        Assert.False(HealingPolicy.IsForgotten(AgentState.Unresponsive, T0, edge + TimeSpan.FromDays(30), options));
        Assert.False(HealingPolicy.IsForgotten(AgentState.Quarantined, T0, edge + TimeSpan.FromDays(30), options));
    }

    [Fact]
    public void The_directory_forgets_agents_offline_past_its_retention()
    {
        var retention = new AgentOptions().ForgetOfflineAfter;
        AgentSummary Agent(string id, AgentState state, DateTimeOffset since) => new(id, "platform", "platform", ["echo"], state, since);
        var now = T0 + retention + TimeSpan.FromSeconds(1);

        var forgotten = AgentDirectoryRetention.Forgotten(
        [
            Agent("old-offline", AgentState.Offline, T0),
            Agent("recent-offline", AgentState.Offline, T0 + TimeSpan.FromSeconds(2)),
            Agent("old-unresponsive", AgentState.Unresponsive, T0),
            Agent("old-healthy", AgentState.Healthy, T0),
        ], now, retention);

        Assert.Equal(["old-offline"], forgotten);
        Assert.Equal(TimeSpan.FromDays(7), retention);
    }

    [Theory]
    [InlineData(AgentChangeCause.DrainRequested, true)]
    [InlineData(AgentChangeCause.DrainCompleted, true)]
    [InlineData(AgentChangeCause.Deregistered, true)]
    [InlineData(AgentChangeCause.Silent, false)]
    [InlineData(AgentChangeCause.Unspecified, false)]
    [InlineData(AgentChangeCause.Quarantined, false)]
    public void Leaving_on_purpose_is_read_from_the_cause_not_the_wording(AgentChangeCause cause, bool onPurpose) =>
        Assert.Equal(onPurpose, AgentChangeCauses.LeftOnPurpose(cause));
}
