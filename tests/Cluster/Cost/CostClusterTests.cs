using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Dispatch;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grains.Cost;

namespace MeshOs.Tests.Cluster.Cost;

/// <summary>
/// The cost supervisor end to end in a cluster: an agent runs two tenants' jobs at once, the event log reaches the
/// pool's shard, and the report charges each tenant its busy time (shared time split) and its usage, shows the rest as
/// idle, and reconciles to the agent's connected time × its rate exactly; figures recomputed here from the events.
/// </summary>
[Collection(MeshClusterCollection.Name)]
public sealed class CostClusterTests(MeshClusterFixture fixture)
{
    private const decimal Rate = 36m; // per hour: 0.01 per second, so every millisecond is an exact amount

    [Fact]
    public async Task Two_tenants_jobs_on_one_agent_are_charged_their_busy_time_and_usage_and_idle_reconciles()
    {
        var pool = "platform/cost-" + Guid.NewGuid().ToString("N")[..8];
        var agentId = AgentOf(pool);
        var acme = await fixture.CreateTenantAsync(null, pool);
        var beta = await fixture.CreateTenantAsync(null, pool);
        await fixture.Grains.GetGrain<IRateCardGrain>(0).PutCardAsync(new RateCardInput("card-" + agentId, null, null,
            [new AgentRate(pool, null, null, Rate)], [new UnitPrice("tokens_in", null, 0.001m)], "cluster test"));

        var agent = fixture.Grains.GetGrain<IAgentGrain>(agentId);
        await agent.RegisterAsync(new AgentRegistration(agentId, AgentPools.PlatformOwner, pool, ["cost-cap"], 2, "1.0.0", "eu-west", 99m), null);
        await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(300));

        var first = await RunAsync(acme.TenantId, pool);
        await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        var second = await RunAsync(beta.TenantId, pool);
        await Beat(agent, first, second);
        await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(300));
        await first.Job.CompleteAsync(agentId, first.Epoch, new JobResult(true, "{}", null, false, new JobUsage(10, 0, 0.5m)));
        await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        await second.Job.CompleteAsync(agentId, second.Epoch, new JobResult(true, "{}", null, false, JobUsage.None));
        await fixture.Clock.AdvanceAsync(TimeSpan.FromMilliseconds(300));

        await fixture.Grains.GetGrain<IEventPumpGrain>("cost").PumpNowAsync();
        var settledTo = fixture.Clock.Now;
        // The shard starts again from its store before it settles: the job spans it holds come back from their own rows.
        var shard = fixture.Grains.GetGrain<ICostShardGrain>(CostShards.Of(pool, agentId, new CostOptions().ShardsPerPool));
        await shard.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        await shard.SettleAsync(settledTo);

        var events = (await EventsAsync()).Where(e => e.Payload switch
        {
            AgentStateChanged a => a.AgentId == agentId,
            JobAttemptEnded j => j.AgentId == agentId,
            _ => false,
        }).ToList();
        var (connected, spans) = Expected(events, settledTo);
        var (acmeBusy, betaBusy) = Shares(spans[acme.TenantId], spans[beta.TenantId]);
        var from = CostAllocator.HourOf(events[0].At);
        var report = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetReportAsync(
            new CostQuery(from, settledTo.AddHours(1), CostDimension.Tenant, Pool: pool, Idle: IdlePolicy.Separate));

        var lines = report.Lines.ToDictionary(l => l.Key);
        Assert.Equal(new[] { string.Empty, acme.TenantId, beta.TenantId }.Order(StringComparer.Ordinal), lines.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Money(acmeBusy), lines[acme.TenantId].Allocated);
        Assert.Equal(Money(betaBusy), lines[beta.TenantId].Allocated);
        Assert.Equal(0.5m + 10 * 0.001m, lines[acme.TenantId].Usage);
        Assert.Equal(0m, lines[beta.TenantId].Usage);
        Assert.Equal(Money(connected - acmeBusy - betaBusy), lines[string.Empty].Idle);
        Assert.Equal(Money(connected), report.AgentCost); // allocated + idle == the agent's connected time × its rate, exactly
        Assert.True(acmeBusy > TimeSpan.Zero && betaBusy > TimeSpan.Zero && connected > acmeBusy + betaBusy);

        // A tenant's view: its own line only, idle shared by its share of allocated cost.
        var own = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetReportAsync(
            new CostQuery(from, settledTo.AddHours(1), CostDimension.Tenant, Tenant: beta.TenantId, Pool: pool, Idle: IdlePolicy.Proportional));
        var line = Assert.Single(own.Lines);
        Assert.Equal((beta.TenantId, Money(betaBusy)), (line.Key, line.Allocated));
        Assert.True(line.IdleShare > 0);
        Assert.Equal(Money(acmeBusy) + 0.51m, await fixture.Grains.GetGrain<ICostReportGrain>(0).GetTenantSpendAsync(acme.TenantId, from, settledTo.AddHours(1)));

        // A tenant's view by capability: its own rows only, idle not among them.
        var byCapability = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetReportAsync(
            new CostQuery(from, settledTo.AddHours(1), CostDimension.Capability, Tenant: acme.TenantId, Pool: pool));
        var capabilityLine = Assert.Single(byCapability.Lines);
        Assert.Equal(("cost-cap", Money(acmeBusy), 0m, 0.51m), (capabilityLine.Key, capabilityLine.Allocated, capabilityLine.Idle, capabilityLine.Usage));

        // Each job's own cost: its busy share and its usage; the two add up to the tenants' allocations.
        var firstCost = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetJobCostAsync(first.Job.GetPrimaryKey());
        var secondCost = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetJobCostAsync(second.Job.GetPrimaryKey());
        Assert.Equal((acme.TenantId, Money(acmeBusy), 0.51m, "USD"), (firstCost!.Tenant, firstCost.Allocated, firstCost.Usage, firstCost.Currency));
        Assert.Equal((beta.TenantId, Money(betaBusy), 0m), (secondCost!.Tenant, secondCost.Allocated, secondCost.Usage));

        // A redelivered batch is skipped: nothing is counted twice.
        await fixture.Grains.GetGrain<ICostShardGrain>(CostShards.Of(pool, agentId, new CostOptions().ShardsPerPool)).ApplyAsync([.. events]);
        var again = await fixture.Grains.GetGrain<ICostReportGrain>(0).GetReportAsync(
            new CostQuery(from, settledTo.AddHours(1), CostDimension.Tenant, Pool: pool, Idle: IdlePolicy.Separate));
        Assert.Equal(report.Total, again.Total);
        Assert.Equal(firstCost, await fixture.Grains.GetGrain<ICostReportGrain>(0).GetJobCostAsync(first.Job.GetPrimaryKey()));
    }

    private Task<(IJobGrain Job, long Epoch)> RunAsync(string tenant, string pool) =>
        CostTestJobs.StartAsync(fixture.Grains, tenant, pool, "cost-cap", AgentOf(pool));

    private static Task<HeartbeatAck> Beat(IAgentGrain agent, params (IJobGrain Job, long Epoch)[] jobs) =>
        agent.HeartbeatAsync(new AgentHeartbeat(0, [.. jobs.Select(j => new LeaseRef(j.Job.GetPrimaryKey(), j.Epoch))], ImmutableDictionary<string, double>.Empty));

    private async Task<ImmutableArray<MeshEvent>> EventsAsync()
    {
        await fixture.Grains.GetGrain<IEventPumpGrain>("test-recorder").PumpNowAsync();
        return await fixture.Grains.GetGrain<IRecordingConsumerGrain>("all").GetEventsAsync();
    }

    /// <summary>The agent's connected time up to the settle time, and each tenant's job span, from the events.</summary>
    private static (TimeSpan Connected, Dictionary<string, (DateTimeOffset From, DateTimeOffset To)> Spans) Expected(List<MeshEvent> events, DateTimeOffset until)
    {
        var connected = TimeSpan.Zero;
        DateTimeOffset? since = null;
        var spans = new Dictionary<string, (DateTimeOffset, DateTimeOffset)>();
        foreach (var e in events)
        {
            switch (e.Payload)
            {
                case AgentStateChanged { To: AgentState.Offline } when since is { } s:
                    connected += e.At - s;
                    since = null;
                    break;
                case AgentStateChanged { To: not AgentState.Offline }:
                    since ??= e.At;
                    break;
                case JobAttemptEnded j:
                    spans[j.TenantId] = (e.At - j.RunTime, e.At);
                    break;
            }
        }

        return (connected + (since is { } open ? until - open : TimeSpan.Zero), spans);
    }

    /// <summary>Each span's busy time when time both ran is split evenly between them.</summary>
    private static (TimeSpan A, TimeSpan B) Shares((DateTimeOffset From, DateTimeOffset To) a, (DateTimeOffset From, DateTimeOffset To) b)
    {
        var start = a.From > b.From ? a.From : b.From;
        var end = a.To < b.To ? a.To : b.To;
        var overlap = end > start ? end - start : TimeSpan.Zero;
        return (a.To - a.From - overlap / 2, b.To - b.From - overlap / 2);
    }

    private static string AgentOf(string pool) => "agent-" + pool[(pool.IndexOf('/', StringComparison.Ordinal) + 1)..];

    private static decimal Money(TimeSpan time) => Rate * time.Ticks / TimeSpan.TicksPerHour;
}
