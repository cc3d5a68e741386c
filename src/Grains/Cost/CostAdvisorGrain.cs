using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Audit;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Healing;
using MeshOs.Abstractions.Tenants;
using MeshOs.Grains.Audit;
using MeshOs.Grains.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost advisor (<see cref="ICostAdvisorGrain"/>, key 0). Every <see cref="RecommendationOptions.EvaluationInterval"/>
/// (a reminder keeps it alive) it reads the agents now, each pool's rollups over the window and the healing supervisor's
/// queue-pressure signal, asks <see cref="RecommendationEngine"/> for proposals and <see cref="RecommendationBook"/> for
/// the lifecycle, applies what each pool's autoscale policy allows (<see cref="AutoscaleRules"/>), and writes its state
/// only when something changed. Applying: scale-downs drain idle agents and order the pool's runtime to stop them;
/// scale-ups order it to start agents; each applied action is audited (automatic ones as the system) and published as
/// <see cref="RecommendationApplied"/>. Small state: open recommendations, a bounded history, a policy per pool.
/// </summary>
internal sealed partial class CostAdvisorGrain(
    [PersistentState("advisor", MeshStorage.GrainStore)] IPersistentState<CostAdvisorState> state,
    IOptions<CostOptions> options,
    IOptions<AgentOptions> agentOptions,
    ICostStore store,
    EventPublisher events,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<CostAdvisorGrain> logger,
    IAuditLog? audit = null) : Grain, ICostAdvisorGrain, IRemindable
{
    /// <summary>The audit actor (component) of automatic actions, and <see cref="Recommendation.AppliedBy"/> for them.</summary>
    public const string Component = "autoscale";

    public const string ApplyAction = "cost.recommendations.apply";

    private const string KeepAlive = "cost-advisor";

    private RecommendationOptions Settings => options.Value.Recommendations;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Settings.Enabled)
        {
            var every = Settings.EvaluationInterval;
            this.RegisterGrainTimer(static (self, _) => self.EvaluateQuietlyAsync(), this,
                new GrainTimerCreationOptions(every, every) { Interleave = false, KeepAlive = false });
            await this.RegisterOrUpdateReminder(KeepAlive, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }

        CostMetrics.Recommendations(state.State.Recommendations);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask; // it only keeps the grain (and its timer) alive

    public Task<ImmutableArray<Recommendation>> ListAsync(RecommendationFilter filter) =>
        Task.FromResult(state.State.Recommendations.Where(filter.Matches)
            .OrderByDescending(r => r.CreatedAt).ThenByDescending(r => Number(r.Id)).ToImmutableArray());

    public Task<AutoscalePolicy> GetPolicyAsync(string pool) =>
        Task.FromResult(state.State.Policies.GetValueOrDefault(pool) ?? new AutoscalePolicy(pool, false, 0, AutoscalePolicy.MaxBound, Settings.EvaluationInterval));

    public async Task<AutoscalePolicy> PutPolicyAsync(AutoscalePolicy policy)
    {
        var valid = policy.Validated();
        var kept = state.State.Policies.GetValueOrDefault(valid.Pool);
        var updated = valid with { LastActionAt = kept?.LastActionAt };
        if (kept != updated)
        {
            state.State.Policies = state.State.Policies.SetItem(valid.Pool, updated);
            await state.WriteStateAsync();
        }

        return updated;
    }

    public async Task<Recommendation> ApplyAsync(string id, string actor)
    {
        var open = RecommendationBook.RequireOpen(state.State.Recommendations, id);
        var now = time.GetUtcNow();
        var pool = await PoolAgentsAsync(open.Pool);
        var (change, skipped) = AutoscaleRules.Decide(open, state.State.Policies.GetValueOrDefault(open.Pool), pool.Count, now, automatic: false);
        if (skipped is not null)
        {
            throw MeshException.Precondition($"Recommendation '{id}' cannot be applied now: {skipped}.");
        }

        return await CarryOutAsync(open, change, pool, actor, automatic: false, now);
    }

    public async Task<Recommendation> DismissAsync(string id, string reason, string actor)
    {
        var why = RecommendationBook.ValidReason(reason);
        var open = RecommendationBook.RequireOpen(state.State.Recommendations, id);
        var dismissed = open with { Status = RecommendationStatus.Dismissed, Reason = why, AppliedBy = actor, UpdatedAt = time.GetUtcNow() };
        state.State.Recommendations = RecommendationBook.Replace(state.State.Recommendations, dismissed);
        await state.WriteStateAsync();
        CostMetrics.Recommendations(state.State.Recommendations);
        return dismissed;
    }

    public async Task<ImmutableArray<Recommendation>> EvaluateAsync()
    {
        var now = time.GetUtcNow();
        var agents = await AgentsAsync();
        var inputs = await InputsAsync(now, agents);
        var drafts = RecommendationEngine.Evaluate(inputs, Settings);
        var (merged, nextId, changed) = RecommendationBook.Merge(state.State.Recommendations, drafts, state.State.NextId, options.Value.Currency, now, Settings);
        state.State.Recommendations = merged;
        state.State.NextId = nextId;
        if (changed)
        {
            await state.WriteStateAsync();
        }

        await AutoApplyAsync(now, agents);
        CostMetrics.Recommendations(state.State.Recommendations);
        return [.. state.State.Recommendations.Where(r => r.Status == RecommendationStatus.Open)];
    }

    public async Task ReportAsync(ScaleReport report)
    {
        var index = state.State.Recommendations.FindIndex(r => r.Id == report.OrderId);
        LogScaleReport(logger, report.OrderId, report.Runtime, report.Started.Length, report.Stopped.Length, report.Detail);
        if (index < 0)
        {
            return;
        }

        var recommendation = state.State.Recommendations[index];
        var owner = report.Runtime.Split('/', 2)[0];
        if (recommendation.Status != RecommendationStatus.Applied || !PoolAccess.IsOwnPool(owner, recommendation.Pool))
        {
            // Only a runtime of the pool's owner reports on its orders: another's report changes nothing.
            return;
        }

        // The agents it stopped that this order named leave the mesh for good (Offline): not dead agents to restart.
        foreach (var agentId in report.Stopped.Intersect(recommendation.AgentIds, StringComparer.Ordinal))
        {
            await GrainFactory.GetGrain<IAgentGrain>(agentId).DeregisterAsync($"cost: stopped by its runtime ({recommendation.Id})");
        }

        var outcome = $"{report.Runtime} reported: {report.Started.Length} started, {report.Stopped.Length} stopped"
            + (string.IsNullOrEmpty(report.Detail) ? string.Empty : $" ({report.Detail})");
        var reason = $"{recommendation.Reason}; {outcome}";
        state.State.Recommendations = state.State.Recommendations.SetItem(index,
            recommendation with { Reason = reason.Length > 2000 ? reason[..2000] : reason });
        await state.WriteStateAsync();
    }

    private async Task EvaluateQuietlyAsync()
    {
        try
        {
            await EvaluateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The database or a runtime away: the next tick tries again; what was applied is recorded already.
            LogEvaluationFailed(logger, ex);
        }
    }

    /// <summary>Applies the open scale recommendations of pools with an enabled policy, as far as the policy allows.</summary>
    private async Task AutoApplyAsync(DateTimeOffset now, ImmutableArray<AgentSummary> agents)
    {
        var candidates = state.State.Recommendations
            .Where(r => r.Status == RecommendationStatus.Open && r.Kind is RecommendationKind.ScaleDown or RecommendationKind.ScaleUp
                && state.State.Policies.GetValueOrDefault(r.Pool) is { Enabled: true })
            .OrderBy(r => Number(r.Id)).ToList();
        foreach (var candidate in candidates)
        {
            var pool = agents.Where(a => a.Pool == candidate.Pool).ToList();
            var policy = state.State.Policies[candidate.Pool];
            var (change, skipped) = AutoscaleRules.Decide(candidate, policy, pool.Count, now, automatic: true);
            if (skipped is not null)
            {
                LogAutoscaleSkipped(logger, candidate.Id, candidate.Pool, skipped);
                continue;
            }

            try
            {
                await CarryOutAsync(candidate, change, pool, Component, automatic: true, now);
            }
            catch (MeshException ex)
            {
                LogAutoscaleFailed(logger, candidate.Id, candidate.Pool, ex.Message);
            }
        }
    }

    /// <summary>Sends the orders, records the recommendation as applied (with the pool's last action), audits and publishes.</summary>
    private async Task<Recommendation> CarryOutAsync(Recommendation recommendation, int change, IReadOnlyList<AgentSummary> pool, string actor, bool automatic, DateTimeOffset now)
    {
        var reason = $"{(automatic ? "autoscale" : "operator")} apply of {recommendation.Id}";
        var (runtime, agentIds, what) = change switch
        {
            > 0 => await StartAsync(recommendation, change, reason),
            < 0 => await StopAsync(recommendation, -change, pool, reason),
            _ => (null, ImmutableArray<string>.Empty, $"accepted: route '{recommendation.Capability}' work to pool '{recommendation.TargetPool}'"),
        };
        var applied = recommendation with
        {
            Status = RecommendationStatus.Applied, AppliedBy = actor, Reason = what, UpdatedAt = now,
            AgentIds = change < 0 ? agentIds : recommendation.AgentIds, // the agents stopped: their runtime's report names them
        };
        state.State.Recommendations = RecommendationBook.Replace(state.State.Recommendations, applied);
        if (change != 0 && state.State.Policies.GetValueOrDefault(recommendation.Pool) is { } policy)
        {
            state.State.Policies = state.State.Policies.SetItem(recommendation.Pool, policy with { LastActionAt = now });
        }

        await state.WriteStateAsync();
        var ordered = change < 0 ? -agentIds.Length : change;
        if (automatic && audit is { Enabled: true })
        {
            await audit.AppendAsync(new AuditDraft(AuditActor.System(Component), ApplyAction, "recommendation/" + recommendation.Id, null,
                AuditOutcome.Succeeded, null, null, null, "internal", AppliedChange(applied, ordered, agentIds, runtime).Digest()));
        }

        await events.PublishAsync(new MeshEvent(0, now, new RecommendationApplied(recommendation.Id, recommendation.Kind, recommendation.Pool,
            recommendation.Capability, ordered, agentIds, runtime, automatic, recommendation.MonthlySaving, recommendation.Currency),
            Actor: automatic ? null : actor, CorrelationId: recommendation.Id));
        LogApplied(logger, recommendation.Id, recommendation.Kind, recommendation.Pool, ordered, actor);
        CostMetrics.Applied(recommendation.Kind, automatic);
        return applied;
    }

    /// <summary>The audited summary of an applied recommendation (the gateway's operator entries use the same).</summary>
    public static AuditChange AppliedChange(Recommendation r, int change, ImmutableArray<string> agentIds, string? runtime) => new AuditChange()
        .Add("kind", r.Kind.ToString())
        .Add("pool", r.Pool)
        .Add("change", change)
        .Add("agents", string.Join(',', agentIds))
        .Add("runtime", runtime)
        .Add("monthlySaving", r.MonthlySaving.ToString(CultureInfo.InvariantCulture));

    private async Task<(string? Runtime, ImmutableArray<string> AgentIds, string What)> StartAsync(Recommendation recommendation, int count, string reason)
    {
        var scalers = await GrainFactory.GetGrain<IPoolScalersGrain>(recommendation.Pool).ListAsync();
        foreach (var key in scalers)
        {
            var order = new ScaleOrder(recommendation.Id, recommendation.Pool, recommendation.Capability, count, [], reason);
            if (await GrainFactory.GetGrain<IRuntimeGrain>(key).ScaleAsync(order))
            {
                return (key, [], $"ordered runtime '{key}' to start {count} agent(s)");
            }
        }

        throw MeshException.Precondition($"No connected runtime can scale pool '{recommendation.Pool}' (a runtime names it in its hello's scalable_pools).");
    }

    /// <summary>
    /// Chooses idle agents (Healthy, no job in hand) started by a runtime that can scale the pool (a retirement: its
    /// agent), drains them so they take no more work, and orders their runtime to stop them; when the runtime reports
    /// them stopped, they are deregistered (<see cref="ReportAsync"/>).
    /// </summary>
    private async Task<(string? Runtime, ImmutableArray<string> AgentIds, string What)> StopAsync(Recommendation recommendation, int count, IReadOnlyList<AgentSummary> pool, string reason)
    {
        var scalers = (await GrainFactory.GetGrain<IPoolScalersGrain>(recommendation.Pool).ListAsync()).ToHashSet(StringComparer.Ordinal);
        var candidates = recommendation.Kind == RecommendationKind.RetireAgent
            ? pool.Where(a => recommendation.AgentIds.Contains(a.AgentId, StringComparer.Ordinal))
            : pool.Where(a => a.State == AgentState.Healthy).OrderByDescending(a => a.AgentId, StringComparer.Ordinal);
        var chosen = new List<(string AgentId, string Runtime)>();
        foreach (var summary in candidates)
        {
            if (chosen.Count == count)
            {
                break;
            }

            var info = await GrainFactory.GetGrain<IAgentGrain>(summary.AgentId).GetAsync();
            if (info is { InFlight: 0, Registration.Runtime: { } runtime } && scalers.Contains($"{info.Registration.Owner}/{runtime}"))
            {
                chosen.Add((summary.AgentId, $"{info.Registration.Owner}/{runtime}"));
            }
        }

        if (chosen.Count == 0)
        {
            throw MeshException.Precondition($"No idle agent of pool '{recommendation.Pool}' was started by a connected runtime that can scale it.");
        }

        // One runtime per order: the first one's agents (a pool is rarely split among runtimes; the rest waits for the next evaluation).
        var key = chosen[0].Runtime;
        var ids = chosen.Where(c => c.Runtime == key).Select(c => c.AgentId).Order(StringComparer.Ordinal).ToImmutableArray();
        foreach (var id in ids)
        {
            await GrainFactory.GetGrain<IAgentGrain>(id).DrainAsync($"cost: {reason}");
        }

        if (!await GrainFactory.GetGrain<IRuntimeGrain>(key).ScaleAsync(new ScaleOrder(recommendation.Id, recommendation.Pool, null, 0, ids, reason)))
        {
            return (key, ids, $"drained {string.Join(", ", ids)}; runtime '{key}' disconnected before the stop order");
        }

        return (key, ids, $"drained {string.Join(", ", ids)} and ordered runtime '{key}' to stop them");
    }

    /// <summary>The agents that count now: registered and neither Offline nor on their way out (Draining).</summary>
    private async Task<ImmutableArray<AgentSummary>> AgentsAsync()
    {
        var shards = await Task.WhenAll(Enumerable.Range(0, agentOptions.Value.DirectoryShards)
            .Select(shard => GrainFactory.GetGrain<IAgentDirectoryGrain>(shard).ListAsync(null, null, int.MaxValue)));
        return [.. shards.SelectMany(s => s).Where(a => a.State is not (AgentState.Offline or AgentState.Draining))];
    }

    private async Task<List<AgentSummary>> PoolAgentsAsync(string pool) => [.. (await AgentsAsync()).Where(a => a.Pool == pool)];

    private async Task<AdvisorInputs> InputsAsync(DateTimeOffset now, ImmutableArray<AgentSummary> agents)
    {
        var from = CostAllocator.HourOf(now - Settings.Window);
        var to = CostAllocator.HourOf(now).AddHours(1);
        var retireFrom = CostAllocator.HourOf(now - Settings.RetireIdleAfter);
        var byPool = agents.GroupBy(a => a.Pool, StringComparer.Ordinal).ToList();
        var shared = byPool.SelectMany(g => g.SelectMany(a => a.Capabilities).Distinct().Select(c => (Capability: c, Pool: g.Key)))
            .GroupBy(x => x.Capability).Where(g => g.Count() > 1).SelectMany(g => g.Select(x => x.Pool)).ToHashSet(StringComparer.Ordinal);
        var pools = new List<PoolFacts>();
        foreach (var group in byPool)
        {
            // Idle rows have capability '': one sum by capability per hour gives busy per capability and idle apart.
            var sums = await store.SumAsync(new CostSumQuery(from, to, CostDimension.Capability, CostInterval.Hour, Pool: group.Key));
            var hours = sums.GroupBy(s => s.Bucket!.Value).OrderBy(g => g.Key)
                .Select(g => new HourUsage(g.Key, g.Where(s => s.Key.Length > 0).Sum(s => s.AgentMs), g.Where(s => s.Key.Length == 0).Sum(s => s.AgentMs)))
                .ToImmutableArray();
            var busy = sums.Where(s => s.Key.Length > 0).GroupBy(s => s.Key, StringComparer.Ordinal).ToImmutableDictionary(g => g.Key, g => g.Sum(s => s.AgentMs), StringComparer.Ordinal);
            var (regions, certifications) = shared.Contains(group.Key) ? await ComplianceOfAsync(group) : ([], []);
            pools.Add(new PoolFacts(group.Key, group.Count(), [.. group.SelectMany(a => a.Capabilities)], regions, certifications, hours,
                sums.Sum(s => s.Allocated + s.Idle), busy));
        }

        var connected = agents.ToDictionary(a => a.AgentId, StringComparer.Ordinal);
        var idle = await store.SumAsync(new CostSumQuery(retireFrom, to, CostDimension.Agent, CostInterval.Hour, Tenant: CostRollup.IdleTenant));
        var total = (await store.SumAsync(new CostSumQuery(retireFrom, to, CostDimension.Agent))).ToDictionary(s => s.Key, StringComparer.Ordinal);
        var agentFacts = idle.Where(s => connected.ContainsKey(s.Key)).GroupBy(s => s.Key, StringComparer.Ordinal).Select(g =>
        {
            var all = total.GetValueOrDefault(g.Key);
            var idleMs = g.Sum(s => s.AgentMs);
            return new AgentFacts(g.Key, connected[g.Key].Pool, g.Min(s => s.Bucket), (all?.AgentMs ?? idleMs) - idleMs, idleMs, g.Sum(s => s.Idle));
        }).ToList();

        var healing = await GrainFactory.GetGrain<IHealingSupervisorGrain>("default").GetReportAsync(0);
        return new AdvisorInputs(now, from, now - options.Value.SettleDelay, retireFrom, options.Value.Currency, pools, agentFacts, healing.Recommendations);
    }

    /// <summary>The regions of a pool's agents and the certifications all of them hold (their registrations).</summary>
    private async Task<(ImmutableHashSet<string> Regions, ImmutableHashSet<string> Certifications)> ComplianceOfAsync(IEnumerable<AgentSummary> agents)
    {
        var infos = await Task.WhenAll(agents.Select(a => GrainFactory.GetGrain<IAgentGrain>(a.AgentId).GetAsync()));
        var registrations = infos.Where(i => i is not null).Select(i => i!.Registration).ToList();
        var regions = registrations.Select(r => r.Region).ToImmutableHashSet(StringComparer.Ordinal);
        var certifications = registrations.Count == 0 ? ImmutableHashSet<string>.Empty
            : registrations.Select(r => (IEnumerable<string>)(r.Certifications.IsDefault ? [] : r.Certifications))
                .Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal)).ToImmutableHashSet(StringComparer.Ordinal);
        return (regions, certifications);
    }

    private static long Number(string id) => long.TryParse(id.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
}

[GenerateSerializer, Alias("meshos.CostAdvisorState")]
public sealed class CostAdvisorState
{
    [Id(0)] public ImmutableList<Recommendation> Recommendations { get; set; } = [];

    [Id(1)] public ImmutableDictionary<string, AutoscalePolicy> Policies { get; set; } = ImmutableDictionary.Create<string, AutoscalePolicy>(StringComparer.Ordinal);

    [Id(2)] public long NextId { get; set; } = 1;
}
