using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace MeshOs.Gateway.Hosting;

/// <summary>The standalone gateway's Orleans client: ADO.NET clustering on PostgreSQL, or a local silo.</summary>
public static partial class ClientHostingExtensions
{
    public static IHostApplicationBuilder AddMeshClusterClient(this IHostApplicationBuilder builder, MeshClusterSettings cluster)
    {
        var localGatewayPort = builder.Configuration.GetValue("MeshOs:Client:LocalGatewayPort", 30000);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            if (cluster.UsesPostgres)
            {
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = MeshClusterSettings.AdoNetInvariant;
                    o.ConnectionString = cluster.ConnectionString;
                });
            }
            else
            {
                client.UseLocalhostClustering(localGatewayPort, cluster.ServiceId, cluster.ClusterId);
            }

            client.UseConnectionRetryFilter<RetryForeverFilter>();
            client.AddDashboard();
        });
        return builder;
    }

    /// <summary>A gateway started before its silos keeps trying; /health/ready tells when it is connected.</summary>
    private sealed partial class RetryForeverFilter(ILogger<RetryForeverFilter> logger) : IClientConnectionRetryFilter
    {
        private int _attempt;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            var attempt = Interlocked.Increment(ref _attempt);
            LogRetry(logger, attempt, exception.GetBaseException().Message);
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, attempt)), cancellationToken);
            return true;
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster not reachable yet (attempt {Attempt}): {Reason}; retrying")]
        private static partial void LogRetry(ILogger logger, int attempt, string reason);
    }
}
