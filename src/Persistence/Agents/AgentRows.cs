using System.Collections.Immutable;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Grains.Kernel.Agents;
using MeshOs.Persistence.Events;
using MeshOs.Persistence.Jobs;
using Npgsql;

namespace MeshOs.Persistence.Agents;

/// <summary>The mapping between <see cref="AgentRecord"/> and a <c>meshos_agents</c> row, and the batched upsert.</summary>
internal static class AgentRows
{
    public const string Columns =
        "agent_id, directory_shard, owner, pool, capabilities, max_concurrency, agent_version, region, cost_per_hour, runtime, " +
        "state, state_reason, registered_at, state_changed_at, quarantine_hold, drain_hold, probation_until, version, certifications";

    /// <summary>The columns of a directory entry, in <see cref="ReadSummary"/>'s order.</summary>
    public const string SummaryColumns = "agent_id, owner, pool, capabilities, state, state_changed_at";

    public static AgentRecord Read(NpgsqlDataReader r)
    {
        var registration = new AgentRegistration(
            AgentId: r.GetString(0),
            Owner: r.GetString(2),
            Pool: r.GetString(3),
            Capabilities: [.. r.GetFieldValue<string[]>(4)],
            MaxConcurrency: r.GetInt32(5),
            Version: r.GetString(6),
            Region: r.GetString(7),
            CostPerHour: r.GetDecimal(8),
            Runtime: r.IsDBNull(9) ? null : r.GetString(9),
            Certifications: [.. r.GetFieldValue<string[]>(18)]);
        return new AgentRecord(
            registration,
            DirectoryShard: r.GetInt32(1),
            State: (AgentState)r.GetInt16(10),
            StateReason: r.GetString(11),
            RegisteredAt: JobRows.Time(r, 12)!.Value,
            StateChangedAt: JobRows.Time(r, 13)!.Value,
            QuarantineHold: r.GetBoolean(14),
            DrainHold: r.GetBoolean(15),
            ProbationUntil: JobRows.Time(r, 16),
            Version: r.GetInt64(17));
    }

    public static AgentSummary ReadSummary(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), [.. r.GetFieldValue<string[]>(3)], (AgentState)r.GetInt16(4), JobRows.Time(r, 5)!.Value);

    /// <summary>
    /// Writes agents (at most one write per agent) where no row exists yet or the stored version is older, and appends
    /// the events of the rows written, in one statement. Returns the ids written. <paramref name="ordinal"/> numbers the
    /// events within the transaction.
    /// </summary>
    public static NpgsqlBatchCommand UpsertCommand(IReadOnlyList<(AgentRecord Agent, ImmutableArray<MeshEvent> Events)> writes, ref int ordinal)
    {
        var agents = writes.Select(w => w.Agent).ToList();
        var events = new List<(string AgentId, int Ordinal, MeshEvent Event)>();
        foreach (var (agent, agentEvents) in writes)
        {
            foreach (var e in agentEvents)
            {
                events.Add((agent.AgentId, ordinal++, e));
            }
        }

        // Capability names hold no line break (AgentPolicy), so one text per agent carries its list through unnest.
        var command = new NpgsqlBatchCommand($"""
            WITH a AS (
                SELECT * FROM unnest(
                    $1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[], $9::numeric[],
                    $10::text[], $11::smallint[], $12::text[], $13::timestamptz[], $14::timestamptz[], $15::bool[], $16::bool[],
                    $17::timestamptz[], $18::bigint[], $19::text[])
                AS a(agent_id, directory_shard, owner, pool, capabilities, max_concurrency, agent_version, region, cost_per_hour,
                     runtime, state, state_reason, registered_at, state_changed_at, quarantine_hold, drain_hold, probation_until, version,
                     certifications)
            ), written AS (
                INSERT INTO meshos_agents ({Columns})
                SELECT agent_id, directory_shard, owner, pool, string_to_array(capabilities, E'\n'), max_concurrency, agent_version,
                       region, cost_per_hour, runtime, state, state_reason, registered_at, state_changed_at, quarantine_hold,
                       drain_hold, probation_until, version, string_to_array(certifications, E'\n')
                FROM a
                ON CONFLICT (agent_id) DO UPDATE SET
                    directory_shard = EXCLUDED.directory_shard, owner = EXCLUDED.owner, pool = EXCLUDED.pool,
                    capabilities = EXCLUDED.capabilities, max_concurrency = EXCLUDED.max_concurrency,
                    agent_version = EXCLUDED.agent_version, region = EXCLUDED.region, cost_per_hour = EXCLUDED.cost_per_hour,
                    runtime = EXCLUDED.runtime, state = EXCLUDED.state, state_reason = EXCLUDED.state_reason,
                    registered_at = EXCLUDED.registered_at, state_changed_at = EXCLUDED.state_changed_at,
                    quarantine_hold = EXCLUDED.quarantine_hold, drain_hold = EXCLUDED.drain_hold,
                    probation_until = EXCLUDED.probation_until, version = EXCLUDED.version,
                    certifications = EXCLUDED.certifications
                WHERE meshos_agents.version < EXCLUDED.version
                RETURNING agent_id
            ), appended AS (
            {EventRows.AppendSql(20, "text", "SELECT agent_id FROM written")}
            )
            SELECT agent_id FROM written
            """);
        var p = command.Parameters;
        p.Add(Array(agents.Select(a => a.AgentId)));
        p.Add(Array(agents.Select(a => a.DirectoryShard)));
        p.Add(Array(agents.Select(a => a.Registration.Owner)));
        p.Add(Array(agents.Select(a => a.Registration.Pool)));
        p.Add(Array(agents.Select(a => string.Join('\n', a.Registration.Capabilities))));
        p.Add(Array(agents.Select(a => a.Registration.MaxConcurrency)));
        p.Add(Array(agents.Select(a => a.Registration.Version)));
        p.Add(Array(agents.Select(a => a.Registration.Region)));
        p.Add(Array(agents.Select(a => a.Registration.CostPerHour)));
        p.Add(Array(agents.Select(a => a.Registration.Runtime)));
        p.Add(Array(agents.Select(a => (short)a.State)));
        p.Add(Array(agents.Select(a => a.StateReason)));
        p.Add(Array(agents.Select(a => JobRows.Utc(a.RegisteredAt))));
        p.Add(Array(agents.Select(a => JobRows.Utc(a.StateChangedAt))));
        p.Add(Array(agents.Select(a => a.QuarantineHold)));
        p.Add(Array(agents.Select(a => a.DrainHold)));
        p.Add(Array(agents.Select(a => JobRows.Utc(a.ProbationUntil))));
        p.Add(Array(agents.Select(a => a.Version)));
        p.Add(Array(agents.Select(a => a.Registration.Certifications.IsDefaultOrEmpty ? string.Empty : string.Join('\n', a.Registration.Certifications))));
        EventRows.AddParameters(p, events);
        return command;
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values) => new() { Value = values.ToArray() };
}
