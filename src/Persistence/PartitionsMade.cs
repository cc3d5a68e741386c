using System.Collections.Concurrent;
using Npgsql;

namespace MeshOs.Persistence;

/// <summary>
/// The partitions this process has made (or found) through a table's <c>…_ensure_partition(period)</c> SQL function
/// (<paramref name="ensureFunction"/>), so that a writer calls it once per period rather than on every commit.
/// Retention forgets what it drops.
/// </summary>
internal sealed class PartitionsMade(string ensureFunction)
{
    private readonly ConcurrentDictionary<DateOnly, bool> _made = new();

    public bool Contains(DateOnly period) => _made.ContainsKey(period);

    /// <summary>Makes the period's partition unless this process already did (the SQL function is idempotent).</summary>
    public async ValueTask EnsureAsync(NpgsqlConnection conn, DateOnly period, CancellationToken cancellationToken)
    {
        if (_made.ContainsKey(period))
        {
            return;
        }

        await using var ensure = new NpgsqlCommand($"SELECT {ensureFunction}($1)", conn);
        ensure.Parameters.Add(new NpgsqlParameter { Value = period });
        await ensure.ExecuteNonQueryAsync(cancellationToken);
        _made[period] = true;
    }

    /// <summary>Forgets a period whose partition was dropped.</summary>
    public void Forget(DateOnly period) => _made.TryRemove(period, out _);
}
