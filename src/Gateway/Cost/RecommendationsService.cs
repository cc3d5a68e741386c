using System.Collections.Immutable;
using MeshOs.Abstractions;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Tenants;
using MeshOs.Gateway.Audit;
using MeshOs.Gateway.Auth;
using MeshOs.Gateway.Errors;

namespace MeshOs.Gateway.Cost;

/// <summary>A pool's autoscale policy as an operator sets it.</summary>
public sealed record AutoscaleInput(string? Pool, bool? Enabled, int? MinAgents, int? MaxAgents, int? CooldownSeconds);

/// <summary>
/// Cost recommendations and autoscale policies, once for every transport (COST.md, "Recommendations and autoscaling").
/// Operators only: reading with any operator key, applying, dismissing and setting policies with an
/// incident-responder key or above (they change the fleet, like drain and restart). Every change is audited.
/// </summary>
public sealed class RecommendationsService(IGrainFactory grains, Mutations mutations)
{
    private static readonly int MaxCooldownSeconds = (int)AutoscalePolicy.MaxCooldown.TotalSeconds;

    private ICostAdvisorGrain Advisor => grains.GetGrain<ICostAdvisorGrain>(0);

    /// <summary>The recommendations, newest first, optionally one pool's, one kind's, one status's.</summary>
    public Task<ImmutableArray<Recommendation>> ListAsync(MeshCaller caller, string? pool, string? kind, string? status)
    {
        caller.RequireOperator();
        var filter = new RecommendationFilter(Inputs.Filter(pool, "pool"), Inputs.EnumName<RecommendationKind>(kind, "kind"),
            Inputs.EnumName<RecommendationStatus>(status, "status"));
        return Advisor.ListAsync(filter);
    }

    /// <summary>Applies an open recommendation: 404 unknown, 409 not open (or not applicable now).</summary>
    public Task<Recommendation> ApplyAsync(MeshCaller caller, string id)
    {
        caller.RequireOperator();
        Plausible(id);
        return mutations.RunAsync(caller, MeshActions.ApplyRecommendation, MeshTargets.Recommendation(id), ChangeSummaries.Remove(id),
            () => Advisor.ApplyAsync(id, caller.KeyId));
    }

    /// <summary>Dismisses an open recommendation with a reason: 400 without one, 404 unknown, 409 not open.</summary>
    public Task<Recommendation> DismissAsync(MeshCaller caller, string id, string? reason)
    {
        caller.RequireOperator();
        Plausible(id);
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > Inputs.MaxReasonLength)
        {
            throw MeshException.Invalid("reason", $"required: why it is dismissed, 1–{Inputs.MaxReasonLength} characters.");
        }

        return mutations.RunAsync(caller, MeshActions.DismissRecommendation, MeshTargets.Recommendation(id), ChangeSummaries.DismissRecommendation(id, reason),
            () => Advisor.DismissAsync(id, reason, caller.KeyId));
    }

    /// <summary>A pool's autoscale policy (disabled, with wide bounds, when none was set).</summary>
    public Task<AutoscalePolicy> GetPolicyAsync(MeshCaller caller, string? pool)
    {
        caller.RequireOperator();
        return Advisor.GetPolicyAsync(ValidPool(pool));
    }

    /// <summary>Sets a pool's autoscale policy: 400 naming the field (min &gt; max, a bad cooldown, no pool).</summary>
    public Task<AutoscalePolicy> PutPolicyAsync(MeshCaller caller, AutoscaleInput input)
    {
        caller.RequireOperator();
        var cooldown = input.CooldownSeconds ?? throw MeshException.Invalid("cooldownSeconds", "required: seconds between automatic actions, 0–604800.");
        if (cooldown < 0 || cooldown > MaxCooldownSeconds)
        {
            throw MeshException.Invalid("cooldownSeconds", $"0–{MaxCooldownSeconds}.");
        }

        var policy = new AutoscalePolicy(ValidPool(input.Pool), input.Enabled ?? throw MeshException.Invalid("enabled", "required: true or false."),
            input.MinAgents ?? throw MeshException.Invalid("minAgents", "required."),
            input.MaxAgents ?? throw MeshException.Invalid("maxAgents", "required."),
            TimeSpan.FromSeconds(cooldown));
        // Bad bounds are refused here, before anything is recorded as a change (the advisor checks again).
        policy.Validated();
        return mutations.RunAsync(caller, MeshActions.PutAutoscalePolicy, MeshTargets.Autoscale(policy.Pool), ChangeSummaries.PutAutoscale(policy),
            () => Advisor.PutPolicyAsync(policy));
    }

    private static string ValidPool(string? pool) =>
        string.IsNullOrEmpty(pool) ? throw MeshException.Invalid("pool", "required: the pool's name.")
        : PoolAccess.IsValidPoolName(pool) ? pool
        : throw MeshException.Invalid("pool", "not a valid pool name.");

    /// <summary>An id that could not exist is NotFound without a grain call.</summary>
    private static void Plausible(string id)
    {
        if (!Inputs.IsPlausibleId(id, 64))
        {
            throw MeshException.NotFound($"Recommendation '{id}'");
        }
    }
}
