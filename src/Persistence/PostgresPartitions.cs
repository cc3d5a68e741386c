using MeshOs.Grains.Storage;
using Npgsql;

namespace MeshOs.Persistence;

/// <summary>The partitions of a table partitioned by <see cref="TimePartitioning"/> (the audit log, the event log), read from the catalog.</summary>
internal static class PostgresPartitions
{
    /// <summary>
    /// The periods of <paramref name="parent"/>'s partitions, oldest first, from their names (<c>pg_inherits</c>);
    /// partitions named otherwise (a default partition) are left out.
    /// </summary>
    public static async Task<List<DateOnly>> ListAsync(
        NpgsqlConnection conn, string parent, TimePartitioning partitioning, CancellationToken cancellationToken, NpgsqlTransaction? transaction = null)
    {
        var periods = new List<DateOnly>();
        await using var list = new NpgsqlCommand(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass", conn, transaction);
        list.Parameters.Add(new NpgsqlParameter { Value = parent });
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (partitioning.Parse(reader.GetString(0)) is { } period)
            {
                periods.Add(period);
            }
        }

        periods.Sort();
        return periods;
    }
}
