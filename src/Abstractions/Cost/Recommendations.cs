using System.Collections.Immutable;

namespace MeshOs.Abstractions.Cost;

/// <summary>What a cost recommendation proposes.</summary>
[GenerateSerializer]
public enum RecommendationKind
{
    /// <summary>A pool's utilization stayed below the threshold over the window: stop some of its idle agents.</summary>
    ScaleDown = 0,

    /// <summary>A pool's queue stayed under pressure (the healing supervisor's signal): start more agents.</summary>
    ScaleUp = 1,

    /// <summary>A cheaper pool offers the same capability with the same compliance attributes: send the work there.</summary>
    MoveToCheaperPool = 2,

    /// <summary>An agent ran no job for days: stop it.</summary>
    RetireAgent = 3,
}

/// <summary>Where a recommendation is in its lifecycle.</summary>
[GenerateSerializer]
public enum RecommendationStatus
{
    /// <summary>Still holds; may be applied or dismissed.</summary>
    Open = 0,

    /// <summary>Carried out (by an operator, or automatically under the pool's autoscale policy).</summary>
    Applied = 1,

    /// <summary>An operator declined it, with a reason.</summary>
    Dismissed = 2,

    /// <summary>A later evaluation replaced it with a different proposal, or found it no longer holds.</summary>
    Superseded = 3,
}

/// <summary>What a recommendation is based on, over [<paramref name="From"/>, <paramref name="To"/>).</summary>
/// <param name="BusyMs">Agent time jobs used (cost rollups: <c>agent_ms</c> of tenant rows).</param>
/// <param name="IdleMs">Agent time no job used (<c>agent_ms</c> of idle rows).</param>
/// <param name="Utilization">Busy ÷ (busy + idle), 0–1 (6 decimals); null when no agent time was recorded.</param>
/// <param name="Cost">Agent cost in the window (allocated + idle), in the mesh's currency.</param>
/// <param name="HourlyRate">What an agent-hour of the pool cost over the window (cost ÷ agent-hours).</param>
/// <param name="Pending">Jobs waiting (scale-up), else null.</param>
/// <param name="Summary">The reasoning in one sentence, for humans.</param>
[GenerateSerializer, Immutable, Alias("meshos.RecommendationEvidence")]
public sealed record RecommendationEvidence(
    [property: Id(0)] DateTimeOffset From,
    [property: Id(1)] DateTimeOffset To,
    [property: Id(2)] long BusyMs,
    [property: Id(3)] long IdleMs,
    [property: Id(4)] decimal? Utilization,
    [property: Id(5)] decimal Cost,
    [property: Id(6)] decimal HourlyRate,
    [property: Id(7)] int? Pending,
    [property: Id(8)] string Summary);

/// <summary>
/// A cost recommendation. <paramref name="Change"/> is the change of the pool's agent count it proposes (+n: start n,
/// −n: stop n; 0 for a move). <paramref name="MonthlySaving"/> is in <paramref name="Currency"/> per 730-hour month
/// (negative for a scale-up: what the added agents cost).
/// </summary>
/// <param name="Id">Stable id (<c>rec-</c> and a number).</param>
/// <param name="Capability">The capability concerned (scale-up, move), else null.</param>
/// <param name="AgentsNow">The pool's agents (not Offline) when it was proposed.</param>
/// <param name="AgentIds">The agents to stop (retire); once a scale-down is applied, the agents it stopped.</param>
/// <param name="TargetPool">The cheaper pool (move), else null.</param>
/// <param name="Reason">Why it was dismissed or superseded, or what applying it did.</param>
/// <param name="AppliedBy">Who applied it: an operator key id, or <c>autoscale</c>.</param>
[GenerateSerializer, Immutable, Alias("meshos.Recommendation")]
public sealed record Recommendation(
    [property: Id(0)] string Id,
    [property: Id(1)] RecommendationKind Kind,
    [property: Id(2)] string Pool,
    [property: Id(3)] string? Capability,
    [property: Id(4)] int AgentsNow,
    [property: Id(5)] int Change,
    [property: Id(6)] ImmutableArray<string> AgentIds,
    [property: Id(7)] string? TargetPool,
    [property: Id(8)] decimal MonthlySaving,
    [property: Id(9)] string Currency,
    [property: Id(10)] RecommendationEvidence Evidence,
    [property: Id(11)] RecommendationStatus Status,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] DateTimeOffset UpdatedAt,
    [property: Id(14)] string? Reason = null,
    [property: Id(15)] string? AppliedBy = null);

/// <summary>Which recommendations to list (null: any).</summary>
[GenerateSerializer, Immutable, Alias("meshos.RecommendationFilter")]
public sealed record RecommendationFilter(
    [property: Id(0)] string? Pool = null,
    [property: Id(1)] RecommendationKind? Kind = null,
    [property: Id(2)] RecommendationStatus? Status = null)
{
    public bool Matches(Recommendation r) =>
        (Pool is null || r.Pool == Pool) && (Kind is null || r.Kind == Kind) && (Status is null || r.Status == Status);
}

/// <summary>
/// A pool's autoscale policy: when enabled, the pool's scale-down and scale-up recommendations are applied
/// automatically, keeping its agents within [<paramref name="MinAgents"/>, <paramref name="MaxAgents"/>], at most one
/// action per <paramref name="Cooldown"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("meshos.AutoscalePolicy")]
public sealed record AutoscalePolicy(
    [property: Id(0)] string Pool,
    [property: Id(1)] bool Enabled,
    [property: Id(2)] int MinAgents,
    [property: Id(3)] int MaxAgents,
    [property: Id(4)] TimeSpan Cooldown,
    [property: Id(5)] DateTimeOffset? LastActionAt = null)
{
    /// <summary>The most agents a policy may allow.</summary>
    public const int MaxBound = 100_000;

    /// <summary>The longest cooldown.</summary>
    public static readonly TimeSpan MaxCooldown = TimeSpan.FromDays(7);

    /// <summary>This policy when its bounds and cooldown make sense; else Invalid naming the field (REST names).</summary>
    public AutoscalePolicy Validated()
    {
        if (MinAgents is < 0 or > MaxBound)
        {
            throw MeshException.Invalid("minAgents", $"0–{MaxBound}.");
        }

        if (MaxAgents is < 1 or > MaxBound)
        {
            throw MeshException.Invalid("maxAgents", $"1–{MaxBound}.");
        }

        if (MinAgents > MaxAgents)
        {
            throw MeshException.Invalid("minAgents", $"must not be greater than maxAgents ({MaxAgents}).");
        }

        return Cooldown < TimeSpan.Zero || Cooldown > MaxCooldown ? throw MeshException.Invalid("cooldownSeconds", "0 to 7 days.") : this;
    }
}

/// <summary>
/// An order to a runtime that can scale a pool: start <paramref name="Start"/> agents of the pool (with
/// <paramref name="Capability"/>, or the runtime's usual ones), or stop the named agents (the mesh drained them).
/// </summary>
/// <param name="OrderId">The recommendation it carries out; reports name it.</param>
[GenerateSerializer, Immutable, Alias("meshos.ScaleOrder")]
public sealed record ScaleOrder(
    [property: Id(0)] string OrderId,
    [property: Id(1)] string Pool,
    [property: Id(2)] string? Capability,
    [property: Id(3)] int Start,
    [property: Id(4)] ImmutableArray<string> Stop,
    [property: Id(5)] string Reason);

/// <summary>A runtime's account of a scale order: the agents it started and stopped, and anything it could not do.</summary>
[GenerateSerializer, Immutable, Alias("meshos.ScaleReport")]
public sealed record ScaleReport(
    [property: Id(0)] string OrderId,
    [property: Id(1)] string Runtime,
    [property: Id(2)] ImmutableArray<string> Started,
    [property: Id(3)] ImmutableArray<string> Stopped,
    [property: Id(4)] string Detail);

/// <summary>
/// The cost advisor (key 0): evaluates the rollups, the queues' pressure and the rate of every pool every
/// <c>MeshOs:Cost:Recommendations:EvaluationInterval</c>, keeps the recommendations with their lifecycle and each
/// pool's autoscale policy, and applies what a policy allows. Operators only; never on the job path.
/// </summary>
[Alias("meshos.ICostAdvisorGrain")]
public interface ICostAdvisorGrain : IGrainWithIntegerKey
{
    /// <summary>The recommendations matching the filter, newest first.</summary>
    [Alias("List"), Orleans.Concurrency.AlwaysInterleave]
    Task<ImmutableArray<Recommendation>> ListAsync(RecommendationFilter filter);

    /// <summary>
    /// Applies an open recommendation (scale orders through the pool's runtime; a move is recorded as accepted: the
    /// operator routes the work). NotFound for an unknown id; Conflict for one not open; FailedPrecondition when no
    /// connected runtime can scale the pool.
    /// </summary>
    [Alias("Apply")]
    Task<Recommendation> ApplyAsync(string id, string actor);

    /// <summary>Dismisses an open recommendation with a reason. NotFound for an unknown id; Conflict for one not open.</summary>
    [Alias("Dismiss")]
    Task<Recommendation> DismissAsync(string id, string reason, string actor);

    /// <summary>A pool's autoscale policy (disabled with the defaults when none was set).</summary>
    [Alias("GetPolicy"), Orleans.Concurrency.AlwaysInterleave]
    Task<AutoscalePolicy> GetPolicyAsync(string pool);

    /// <summary>Sets a pool's autoscale policy. Invalid naming the field for min &gt; max or a bad cooldown.</summary>
    [Alias("PutPolicy")]
    Task<AutoscalePolicy> PutPolicyAsync(AutoscalePolicy policy);

    /// <summary>Runs one evaluation now (the timer does every interval); returns the open recommendations.</summary>
    [Alias("Evaluate")]
    Task<ImmutableArray<Recommendation>> EvaluateAsync();

    /// <summary>A runtime's report on a scale order; recorded on the recommendation it carried out.</summary>
    [Alias("Report")]
    Task ReportAsync(ScaleReport report);
}
