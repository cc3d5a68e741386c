using MeshOs.Grains.Storage;

namespace MeshOs.Persistence;

internal sealed class PostgresStorageProbe(PostgresConnection connection) : IStorageProbe
{
    public string Mode => "postgresql";

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var command = connection.DataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public string Describe() => connection.Description;
}
