using Microsoft.Extensions.Configuration;

namespace MeshOs.Gateway.Hosting;

/// <summary>
/// How a process finds its cluster, read from configuration and shared by silos and standalone gateways:
/// <c>ConnectionStrings:MeshOs</c> (PostgreSQL mode when set), <c>MeshOs:ClusterId</c>, <c>MeshOs:ServiceId</c>.
/// </summary>
public sealed record MeshClusterSettings(string? ConnectionString, string ClusterId, string ServiceId)
{
    public const string ConnectionStringName = "MeshOs";

    /// <summary>The ADO.NET invariant Orleans uses for PostgreSQL.</summary>
    public const string AdoNetInvariant = "Npgsql";

    public bool UsesPostgres => !string.IsNullOrWhiteSpace(ConnectionString);

    public string StorageMode => UsesPostgres ? "postgresql" : "in-memory";

    public static MeshClusterSettings From(IConfiguration configuration) => new(
        configuration.GetConnectionString(ConnectionStringName),
        configuration["MeshOs:ClusterId"] is { Length: > 0 } clusterId ? clusterId : "meshos",
        configuration["MeshOs:ServiceId"] is { Length: > 0 } serviceId ? serviceId : "meshos");
}
