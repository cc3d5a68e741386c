using MeshOs.Abstractions.Cluster;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MeshOs.Gateway.Operations;

/// <summary>Ready when a grain call reaches the cluster (the silo is active, or the client is connected).</summary>
internal sealed class ClusterConnectedCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var members = await grains.GetGrain<IStatusGrain>(0).GetMembersAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            var active = members.Count(m => m.Status == "Active");
            return active > 0
                ? HealthCheckResult.Healthy($"{active} active silo(s)", new Dictionary<string, object> { ["activeSilos"] = active })
                : HealthCheckResult.Unhealthy("no active silo in the membership table");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy("the cluster does not answer: " + ex.GetBaseException().Message);
        }
    }
}

/// <summary>Ready when the durable store answers a ping issued from a silo.</summary>
internal sealed class StorageReachableCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var health = await grains.GetGrain<IStatusGrain>(0).CheckStorageAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            var data = new Dictionary<string, object>
            {
                ["mode"] = health.Mode,
                ["latencyMs"] = Math.Round(health.Latency.TotalMilliseconds, 2),
            };
            return health.Reachable
                ? HealthCheckResult.Healthy(health.Description, data)
                : HealthCheckResult.Unhealthy(health.Description, data: data);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy("storage could not be checked: " + ex.GetBaseException().Message);
        }
    }
}
