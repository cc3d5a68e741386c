using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.Persistence.Migrations;

/// <summary>Applies the schema before the silo starts (it is registered ahead of Orleans' own hosted service).</summary>
internal sealed class SchemaMigrationHostedService(
    PostgresConnection connection,
    IOptions<MigrationOptions> options,
    ILogger<SchemaMigrator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        SchemaMigrator.MigrateAsync(connection.ConnectionString, logger, options.Value, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
