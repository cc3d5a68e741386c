using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Persistence.Jobs;
using Npgsql;

namespace MeshOs.Persistence.Agents;

/// <summary>
/// Agents in <c>meshos_agents</c>, one row each (see sql/0006_agents.sql). Writes go through the group-commit
/// <see cref="JobWriter"/> (with the job writes and events of the same moment, in one transaction); an agent's read
/// through the grouped <see cref="AgentReader"/>; a directory shard's listing is one statement per page.
/// </summary>
internal sealed class PostgresAgentStore(PostgresConnection connection, JobWriter writer, AgentReader reader) : IAgentStore
{
    public Task<AgentRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default) =>
        reader.GetAsync(agentId, cancellationToken);

    public Task<bool> WriteAsync(AgentRecord agent, ImmutableArray<MeshEvent> events, CancellationToken cancellationToken = default) =>
        writer.WriteAgentAsync(agent, events);

    public async Task<ImmutableArray<AgentSummary>> ListShardAsync(int shard, string? afterId, int limit, CancellationToken cancellationToken = default)
    {
        // agent_id is COLLATE "C": the order of string.CompareOrdinal, whatever the database's collation.
        await using var command = connection.DataSource.CreateCommand($"""
            SELECT {AgentRows.SummaryColumns} FROM meshos_agents
            WHERE directory_shard = $1 AND ($2::text IS NULL OR agent_id > $2)
            ORDER BY agent_id LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = shard });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)afterId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = Math.Max(0, limit) });
        var page = ImmutableArray.CreateBuilder<AgentSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            page.Add(AgentRows.ReadSummary(reader));
        }

        return page.ToImmutable();
    }
}
