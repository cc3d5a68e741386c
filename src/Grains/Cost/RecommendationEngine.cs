using System.Collections.Immutable;
using System.Globalization;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Healing;

namespace MeshOs.Grains.Cost;

/// <summary>One hour of a pool's (or an agent's) connected time from the rollups: busy and idle agent milliseconds.</summary>
public sealed record HourUsage(DateTimeOffset Hour, long BusyMs, long IdleMs);

/// <summary>
/// What the advisor knows of a pool: its agents now (not Offline or Draining), what they offer and the compliance
/// attributes they share, and its rollups over the window.
/// </summary>
/// <param name="Cost">Agent cost (allocated + idle) over the window.</param>
/// <param name="Regions">The regions of its agents.</param>
/// <param name="Certifications">The certifications every one of its agents holds.</param>
/// <param name="BusyByCapability">Busy agent milliseconds per capability over the window.</param>
public sealed record PoolFacts(
    string Pool,
    int Agents,
    ImmutableHashSet<string> Capabilities,
    ImmutableHashSet<string> Regions,
    ImmutableHashSet<string> Certifications,
    ImmutableArray<HourUsage> Hours,
    decimal Cost,
    ImmutableDictionary<string, long> BusyByCapability)
{
    public long BusyMs => Hours.Sum(h => h.BusyMs);

    public long IdleMs => Hours.Sum(h => h.IdleMs);

    /// <summary>What an agent-hour cost over the window; null without agent time.</summary>
    public decimal? HourlyRate => BusyMs + IdleMs is var ms and > 0 ? Cost / ms * RecommendationEngine.MsPerHour : null;
}

/// <summary>An agent connected now and what the rollups hold of it over the retirement window.</summary>
/// <param name="FirstHour">The first hour with any of its time in the window (null: none).</param>
/// <param name="Cost">Its cost (allocated + idle) over the window.</param>
public sealed record AgentFacts(string AgentId, string Pool, DateTimeOffset? FirstHour, long BusyMs, long IdleMs, decimal Cost);

/// <summary>Everything one evaluation looks at.</summary>
/// <param name="From">The utilization window's first hour.</param>
/// <param name="SettledTo">How far the rollups are settled (now − the cost settle delay): the window's end.</param>
/// <param name="RetireFrom">The retirement window's first hour.</param>
/// <param name="Pressure">The healing supervisor's recent queue-pressure recommendations.</param>
public sealed record AdvisorInputs(
    DateTimeOffset Now,
    DateTimeOffset From,
    DateTimeOffset SettledTo,
    DateTimeOffset RetireFrom,
    string Currency,
    IReadOnlyList<PoolFacts> Pools,
    IReadOnlyList<AgentFacts> Agents,
    IReadOnlyList<ScaleRecommendation> Pressure);

/// <summary>A proposal before the lifecycle gives it an id (<see cref="RecommendationBook"/>).</summary>
/// <param name="Subject">What it is about: one open recommendation per subject.</param>
public sealed record RecommendationDraft(
    string Subject,
    RecommendationKind Kind,
    string Pool,
    string? Capability,
    int AgentsNow,
    int Change,
    ImmutableArray<string> AgentIds,
    string? TargetPool,
    decimal MonthlySaving,
    RecommendationEvidence Evidence)
{
    /// <summary>Whether two proposals ask for the same action (evidence and saving aside).</summary>
    public bool SameAction(Recommendation r) =>
        r.Kind == Kind && r.Pool == Pool && r.Capability == Capability && r.Change == Change && r.TargetPool == TargetPool
        && r.AgentIds.SequenceEqual(AgentIds, StringComparer.Ordinal);
}

/// <summary>
/// Turns what the rollups, the directory and the healing supervisor say into cost recommendations (pure: no Orleans,
/// no I/O, no clock but the inputs'). Four kinds:
/// <list type="bullet">
/// <item>scale down a pool whose utilization stayed under the threshold in every hour of the window, to
/// ⌈average busy agents ÷ target utilization⌉ (at least <see cref="RecommendationOptions.MinPoolAgents"/>): saving = agents
/// removed × the pool's cost per agent-hour × 730;</item>
/// <item>scale up a pool/capability with a recent queue-pressure signal, to the healing supervisor's available agents +
/// its suggestion (the signal is the supervisor's; only the difference to the agents there now is proposed);</item>
/// <item>move a capability's work to the cheapest pool that offers it with the same compliance attributes (regions
/// within the source's, certifications a superset) and an agent-hour at least <see cref="RecommendationOptions.MoveMinSaving"/>
/// cheaper: saving = the work's busy agent-hours per month × the difference;</item>
/// <item>retire an agent connected through the whole retirement window without a job: saving = its cost per hour × 730.</item>
/// </list>
/// </summary>
public static class RecommendationEngine
{
    /// <summary>Hours in the average month (the KPI's).</summary>
    public const decimal HoursPerMonth = 730m;

    public const decimal MsPerHour = 3_600_000m;

    public static ImmutableArray<RecommendationDraft> Evaluate(AdvisorInputs inputs, RecommendationOptions options)
    {
        var drafts = ImmutableArray.CreateBuilder<RecommendationDraft>();
        var signals = inputs.Pressure.Where(p => p.At >= inputs.Now - options.ScaleUpSignalAge).ToList();
        foreach (var pool in inputs.Pools.OrderBy(p => p.Pool, StringComparer.Ordinal))
        {
            if (ScaleDown(pool, inputs, options, underPressure: signals.Any(s => s.Pool == pool.Pool)) is { } down)
            {
                drafts.Add(down);
            }

            drafts.AddRange(ScaleUp(pool, inputs, signals));
            drafts.AddRange(Moves(pool, inputs, options));
        }

        drafts.AddRange(Retirements(inputs, options));
        return drafts.ToImmutable();
    }

    private static RecommendationDraft? ScaleDown(PoolFacts pool, AdvisorInputs inputs, RecommendationOptions options, bool underPressure)
    {
        var span = (decimal)(inputs.SettledTo - inputs.From).TotalMilliseconds;
        if (underPressure || pool.Agents <= options.MinPoolAgents || pool.Hours.IsEmpty || span <= 0 || pool.HourlyRate is not { } rate
            || pool.Hours.Any(h => Utilization(h.BusyMs, h.IdleMs) is not { } u || u >= options.UtilizationThreshold))
        {
            return null;
        }

        var averageBusy = pool.BusyMs / span;
        var target = Math.Max(options.MinPoolAgents, (int)Math.Ceiling(averageBusy / options.TargetUtilization));
        if (target >= pool.Agents)
        {
            return null;
        }

        var utilization = Utilization(pool.BusyMs, pool.IdleMs)!.Value;
        var evidence = new RecommendationEvidence(inputs.From, inputs.SettledTo, pool.BusyMs, pool.IdleMs, utilization, pool.Cost, Rate(rate), null,
            $"utilization {Percent(utilization)} (every hour under {Percent(options.UtilizationThreshold)}) with {pool.Agents} agent(s): "
            + $"{averageBusy.ToString("0.##", CultureInfo.InvariantCulture)} busy on average; {target} would run at most {Percent(options.TargetUtilization)}");
        return new RecommendationDraft($"scale:{pool.Pool}", RecommendationKind.ScaleDown, pool.Pool, null, pool.Agents, target - pool.Agents, [], null,
            Money((pool.Agents - target) * rate * HoursPerMonth), evidence);
    }

    private static IEnumerable<RecommendationDraft> ScaleUp(PoolFacts pool, AdvisorInputs inputs, List<ScaleRecommendation> signals)
    {
        foreach (var signal in signals.Where(s => s.Pool == pool.Pool).GroupBy(s => s.Capability, StringComparer.Ordinal)
            .Select(g => g.MaxBy(s => s.At)!).OrderBy(s => s.Capability, StringComparer.Ordinal))
        {
            var target = signal.Capacity + signal.SuggestedAdditionalAgents;
            if (target <= pool.Agents)
            {
                continue;
            }

            var add = target - pool.Agents;
            var rate = pool.HourlyRate ?? 0m;
            var evidence = new RecommendationEvidence(inputs.From, inputs.SettledTo, pool.BusyMs, pool.IdleMs, Utilization(pool.BusyMs, pool.IdleMs), pool.Cost,
                Rate(rate), signal.Pending, $"queue pressure (healing, {signal.At:u}): {signal.Reason}; suggested {signal.SuggestedAdditionalAgents} more than {signal.Capacity} available");
            // The pool is scaled as one: a second capability's signal proposes the larger of the two.
            yield return new RecommendationDraft($"scale-up:{pool.Pool}:{signal.Capability}", RecommendationKind.ScaleUp, pool.Pool, signal.Capability,
                pool.Agents, add, [], null, -Money(add * rate * HoursPerMonth), evidence);
        }
    }

    private static IEnumerable<RecommendationDraft> Moves(PoolFacts source, AdvisorInputs inputs, RecommendationOptions options)
    {
        var span = (decimal)(inputs.SettledTo - inputs.From).TotalMilliseconds;
        if (source.HourlyRate is not { } rate || span <= 0)
        {
            yield break;
        }

        foreach (var (capability, busyMs) in source.BusyByCapability.Where(c => c.Value > 0).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var cheapest = inputs.Pools
                .Where(p => p.Pool != source.Pool && p.Agents > 0 && p.Capabilities.Contains(capability)
                    && p.Regions.IsSubsetOf(source.Regions) && p.Certifications.IsSupersetOf(source.Certifications)
                    && p.HourlyRate is { } other && other <= rate * (1 - options.MoveMinSaving) && other < rate)
                .OrderBy(p => p.HourlyRate).ThenBy(p => p.Pool, StringComparer.Ordinal).FirstOrDefault();
            if (cheapest is null)
            {
                continue;
            }

            var target = cheapest.HourlyRate!.Value;
            var busyHoursPerMonth = busyMs / span * HoursPerMonth;
            var evidence = new RecommendationEvidence(inputs.From, inputs.SettledTo, busyMs, source.IdleMs, Utilization(source.BusyMs, source.IdleMs), source.Cost,
                Rate(rate), null, $"'{capability}' used {(busyMs / MsPerHour).ToString("0.##", CultureInfo.InvariantCulture)} agent-hour(s) at "
                + $"{Money(rate)}/h; pool '{cheapest.Pool}' offers it with the same compliance attributes at {Money(target)}/h");
            yield return new RecommendationDraft($"move:{source.Pool}:{capability}", RecommendationKind.MoveToCheaperPool, source.Pool, capability,
                source.Agents, 0, [], cheapest.Pool, Money(busyHoursPerMonth * (rate - target)), evidence);
        }
    }

    private static IEnumerable<RecommendationDraft> Retirements(AdvisorInputs inputs, RecommendationOptions options)
    {
        foreach (var agent in inputs.Agents.OrderBy(a => a.AgentId, StringComparer.Ordinal))
        {
            // Present since the window began (its first hour is the window's) and never busy in it.
            if (agent.BusyMs != 0 || agent.IdleMs <= 0 || agent.FirstHour != inputs.RetireFrom)
            {
                continue;
            }

            var rate = agent.Cost / agent.IdleMs * MsPerHour;
            var days = (inputs.Now - inputs.RetireFrom).TotalDays;
            var evidence = new RecommendationEvidence(inputs.RetireFrom, inputs.SettledTo, 0, agent.IdleMs, 0m, agent.Cost, Rate(rate), null,
                $"no job in {days.ToString("0.#", CultureInfo.InvariantCulture)} day(s) (retire after {options.RetireIdleAfter.TotalDays.ToString("0.#", CultureInfo.InvariantCulture)})");
            yield return new RecommendationDraft($"retire:{agent.AgentId}", RecommendationKind.RetireAgent, agent.Pool, null,
                inputs.Pools.FirstOrDefault(p => p.Pool == agent.Pool)?.Agents ?? 0, -1, [agent.AgentId], null, Money(rate * HoursPerMonth), evidence);
        }
    }

    /// <summary>Busy ÷ (busy + idle), 6 decimals; null without agent time.</summary>
    public static decimal? Utilization(long busyMs, long idleMs) =>
        busyMs + idleMs <= 0 ? null : Math.Round((decimal)busyMs / (busyMs + idleMs), 6, MidpointRounding.ToEven);

    /// <summary>Estimates in cents (banker's rounding).</summary>
    private static decimal Money(decimal amount) => Math.Round(amount, 2, MidpointRounding.ToEven);

    /// <summary>Rates to 6 decimals, like the rollups.</summary>
    private static decimal Rate(decimal rate) => Math.Round(rate, 6, MidpointRounding.ToEven);

    private static string Percent(decimal fraction) => (fraction * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
