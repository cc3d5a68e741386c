using System.ComponentModel.DataAnnotations;
using MeshOs.Grains.Hosting;
using Microsoft.Extensions.Options;

namespace MeshOs.Grains.Cost;

/// <summary>
/// The cost advisor's thresholds and rhythm (COST.md, "Recommendations and autoscaling"). Section
/// <c>MeshOs:Cost:Recommendations</c>; validated with <see cref="CostOptions"/> at start (<see cref="CostOptionsValidator"/>).
/// </summary>
public sealed class RecommendationOptions
{
    /// <summary>Whether the advisor evaluates on its own (a reminder keeps it alive). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the advisor evaluates (and applies what autoscale policies allow). Default 5 minutes.</summary>
    [PositiveTimeSpan]
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The window utilization is judged over (whole hours of the rollups from the hour holding now − window; the settled
    /// part only). A pool is scaled down only when every hour of it stayed under <see cref="UtilizationThreshold"/>. Default 24 h.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Utilization (busy ÷ connected agent time) under which a pool counts as over-provisioned. Default 0.3.</summary>
    [Range(typeof(decimal), "0.01", "1")]
    public decimal UtilizationThreshold { get; set; } = 0.3m;

    /// <summary>The utilization a scale-down aims at: agents = ⌈average busy agents ÷ this⌉. At least the threshold. Default 0.6.</summary>
    [Range(typeof(decimal), "0.01", "1")]
    public decimal TargetUtilization { get; set; } = 0.6m;

    /// <summary>A scale-down never proposes fewer agents than this per pool (autoscale policies may keep more). Default 1.</summary>
    [Range(0, 100_000)]
    public int MinPoolAgents { get; set; } = 1;

    /// <summary>
    /// How recent the healing supervisor's queue-pressure signal (<c>ScaleRecommended</c>) must be to propose a scale-up;
    /// while a pool has one this recent, it is not scaled down. Default 10 minutes.
    /// </summary>
    [PositiveTimeSpan]
    public TimeSpan ScaleUpSignalAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>An agent connected this long without running a job is proposed for retirement. Default 3 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan RetireIdleAfter { get; set; } = TimeSpan.FromDays(3);

    /// <summary>How much cheaper per agent-hour another pool must be to propose moving work there (0.1: 10%). Default 0.1.</summary>
    [Range(typeof(decimal), "0", "1")]
    public decimal MoveMinSaving { get; set; } = 0.1m;

    /// <summary>A dismissed proposal is not made again (the same action for the same pool) for this long. Default 7 days.</summary>
    [PositiveTimeSpan]
    public TimeSpan DismissedFor { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Closed recommendations (applied, dismissed, superseded) kept for the list, newest first. Default 500.</summary>
    [Range(0, 100_000)]
    public int HistoryLimit { get; set; } = 500;
}

/// <summary>Validates <see cref="CostOptions"/> with its nested <see cref="RecommendationOptions"/> and their cross-field rules.</summary>
public sealed class CostOptionsValidator : IValidateOptions<CostOptions>
{
    public ValidateOptionsResult Validate(string? name, CostOptions options)
    {
        var failures = new List<string>();
        var recommendations = options.Recommendations;
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(recommendations, new ValidationContext(recommendations), results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{CostOptions.Section}:Recommendations:{string.Join(',', r.MemberNames)}: {r.ErrorMessage}"));
        }

        if (recommendations.TargetUtilization < recommendations.UtilizationThreshold)
        {
            failures.Add($"{CostOptions.Section}:Recommendations:TargetUtilization ({recommendations.TargetUtilization}) must be at least UtilizationThreshold ({recommendations.UtilizationThreshold}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
