using MeshOs.Abstractions.Cost;
using Microsoft.Extensions.Logging;

namespace MeshOs.Grains.Cost;

internal sealed partial class CostAdvisorGrain
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Cost advisor: evaluation failed; trying again at the next interval")]
    private static partial void LogEvaluationFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cost advisor: applied {Id} ({Kind}) to pool {Pool}: change {Change} by {Actor}")]
    private static partial void LogApplied(ILogger logger, string id, RecommendationKind kind, string pool, int change, string actor);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cost advisor: {Id} for pool {Pool} not applied automatically: {Reason}")]
    private static partial void LogAutoscaleSkipped(ILogger logger, string id, string pool, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cost advisor: autoscale of {Id} for pool {Pool} failed: {Reason}")]
    private static partial void LogAutoscaleFailed(ILogger logger, string id, string pool, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cost advisor: runtime {Runtime} reported on {OrderId}: {Started} started, {Stopped} stopped ({Detail})")]
    private static partial void LogScaleReport(ILogger logger, string orderId, string runtime, int started, int stopped, string detail);
}
