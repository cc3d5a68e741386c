using System.Diagnostics;
using System.Text;
using Npgsql;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>
/// Reads the truth from PostgreSQL itself: the job table (<c>meshos_jobs</c>) and the event log (<c>meshos_events</c>,
/// written in the same transaction as each job change that ends an attempt; see docs/events.md). Used to drain a
/// scenario (wait until every acknowledged job is terminal) and to audit it.
/// </summary>
public static class JobAudit
{
    private const short Succeeded = 3;

    private static readonly string[] StatusNames = ["Pending", "Leased", "Running", "Succeeded", "Failed", "Cancelled", "TimedOut", "DeadLettered"];

    /// <summary>
    /// Waits until every job of <paramref name="jobIds"/> is terminal (Succeeded, Failed, Cancelled, TimedOut or
    /// DeadLettered) in the job table; returns how long it took, or null when <paramref name="timeout"/> passed first.
    /// </summary>
    public static async Task<TimeSpan?> DrainAsync(string connectionString, IReadOnlyCollection<Guid> jobIds, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var ids = jobIds.ToArray();
        while (clock.Elapsed < timeout)
        {
            try
            {
                await using var connection = await OpenAsync(connectionString);
                await using var command = new NpgsqlCommand("SELECT count(*) FROM meshos_jobs WHERE id = ANY($1) AND status >= 3", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = ids });
                if ((long)(await command.ExecuteScalarAsync())! == ids.Length)
                {
                    return clock.Elapsed;
                }
            }
            catch (NpgsqlException)
            {
                // The database may still be coming back (the restart scenario): keep polling.
            }

            await Task.Delay(250);
        }

        return null;
    }

    /// <summary>Ids of the tenant's jobs that are Leased or Running in the job table now.</summary>
    public static async Task<List<Guid>> InFlightAsync(string connectionString, string tenantId)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand("SELECT id FROM meshos_jobs WHERE tenant_id = $1 AND status IN (1, 2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<Guid>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    /// <summary>The stored rows of <paramref name="jobIds"/> (absent ids are left out).</summary>
    public static async Task<Dictionary<Guid, StoredJob>> JobsAsync(string connectionString, IReadOnlyCollection<Guid> jobIds)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(
            "SELECT id, status, attempts, epoch, agent_id, created_at, completed_at, result, version FROM meshos_jobs WHERE id = ANY($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = jobIds.ToArray() });
        return await ReadJobsAsync(command);
    }

    /// <summary>Audits every acknowledged job of the tenant against the job table and the event log.</summary>
    public static async Task<AuditResult> AuditAsync(string connectionString, string tenantId, IReadOnlyCollection<Guid> acknowledged)
    {
        Dictionary<Guid, StoredJob> stored;
        await using (var connection = await OpenAsync(connectionString))
        {
            await using var command = new NpgsqlCommand(
                "SELECT id, status, attempts, epoch, agent_id, created_at, completed_at, result, version FROM meshos_jobs WHERE tenant_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            stored = await ReadJobsAsync(command);
        }

        var events = await AttemptEventsAsync(connectionString, tenantId);
        var acknowledgedSet = acknowledged.ToHashSet();
        var missing = acknowledged.Where(id => !stored.ContainsKey(id)).ToList();
        var notSucceeded = acknowledged.Where(id => stored.TryGetValue(id, out var job) && job.Status != Succeeded)
            .ToDictionary(id => id, id => StatusName(stored[id].Status));
        var terminalCounts = acknowledged.ToDictionary(id => id, id => events.TryGetValue(id, out var list) ? list.Count(e => e.Terminal) : 0);
        var slowest = acknowledged.Where(stored.ContainsKey).Select(id => stored[id]).MaxBy(j => j.Latency);
        var extra = acknowledged.SelectMany(id => events.TryGetValue(id, out var list) ? list.Where(e => !e.Terminal) : []).ToList();
        return new AuditResult(
            Acknowledged: acknowledged.Count,
            Succeeded: acknowledged.Count(id => stored.TryGetValue(id, out var job) && job.Status == Succeeded),
            Missing: missing,
            NotSucceeded: notSucceeded,
            WithoutTerminalEvent: [.. terminalCounts.Where(t => t.Value == 0).Select(t => t.Key)],
            SeveralTerminalEvents: terminalCounts.Where(t => t.Value > 1).ToDictionary(t => t.Key, t => t.Value),
            Rerun: acknowledged.Count(id => events.TryGetValue(id, out var list) && list.Count > 1),
            ExtraAttempts: extra.Count,
            ExtraAttemptOutcomes: extra.GroupBy(e => e.Outcome).ToDictionary(g => g.Key, g => g.Count()),
            StoredUnacknowledged: stored.Keys.Count(id => !acknowledgedSet.Contains(id)),
            LastCompletedAt: acknowledged.Select(id => stored.TryGetValue(id, out var job) ? job.CompletedAt : null).Max(),
            Slowest: slowest);
    }

    /// <summary>The tenant's JobAttemptEnded events per job, in log order.</summary>
    public static async Task<Dictionary<Guid, List<AttemptEvent>>> AttemptEventsAsync(string connectionString, string tenantId)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand("""
            SELECT payload->'job'->>'jobId', payload->'job'->>'outcome', (payload->'job'->>'terminal')::boolean,
                   payload->'job'->>'status', payload->'job'->>'agentId', (payload->'job'->>'attempt')::int
            FROM meshos_events
            WHERE payload->>'kind' = 'JobAttemptEnded' AND payload->'job'->>'tenantId' = $1
            ORDER BY position
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var events = new Dictionary<Guid, List<AttemptEvent>>();
        while (await reader.ReadAsync())
        {
            var id = Guid.Parse(reader.GetString(0));
            if (!events.TryGetValue(id, out var list))
            {
                events[id] = list = [];
            }

            list.Add(new AttemptEvent(reader.GetString(1), reader.GetBoolean(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5)));
        }

        return events;
    }

    public static string StatusName(short status) => status >= 0 && status < StatusNames.Length ? StatusNames[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The jobs of the tenant that waited longest between submit and completion, for diagnostics.</summary>
    public static async Task<string> SlowestAsync(string connectionString, string tenantId, int count = 10)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand("""
            SELECT id, created_at, leased_at, completed_at, attempts, agent_id, shard, status
            FROM meshos_jobs WHERE tenant_id = $1 ORDER BY coalesce(completed_at, now()) - created_at DESC LIMIT $2
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = count });
        await using var reader = await command.ExecuteReaderAsync();
        var text = new StringBuilder();
        while (await reader.ReadAsync())
        {
            var created = reader.GetFieldValue<DateTimeOffset>(1);
            string At(int i) => reader.IsDBNull(i) ? "-" : (reader.GetFieldValue<DateTimeOffset>(i) - created).TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture,
                $"{reader.GetGuid(0)} created {created:HH:mm:ss.fff} leased +{At(2)} s completed +{At(3)} s attempts {reader.GetInt32(4)} agent {(reader.IsDBNull(5) ? "-" : reader.GetString(5))} shard {reader.GetInt32(6)} {StatusName(reader.GetInt16(7))}");
        }

        return text.ToString();
    }

    /// <summary>Counts of the tenant's jobs by status, for a failure message.</summary>
    public static async Task<string> StatusesAsync(string connectionString, string tenantId)
    {
        try
        {
            await using var connection = await OpenAsync(connectionString);
            await using var command = new NpgsqlCommand(
                "SELECT status, count(*), max(attempts) FROM meshos_jobs WHERE tenant_id = $1 GROUP BY status ORDER BY status", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
            await using var reader = await command.ExecuteReaderAsync();
            var text = new StringBuilder();
            while (await reader.ReadAsync())
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"{StatusName(reader.GetInt16(0))} {reader.GetInt64(1)} (max attempts {reader.GetInt32(2)}); ");
            }

            return text.ToString();
        }
        catch (NpgsqlException ex)
        {
            return "(unreadable: " + ex.Message + ")";
        }
    }

    /// <summary>Per job of the tenant (by id text): the status of its terminal attempt events and how many there are.</summary>
    public static async Task<Dictionary<string, (string Status, long Count)>> TerminalEventsAsync(string connectionString, string tenantId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT payload->'job'->>'jobId', min(payload->'job'->>'status'), count(*)
            FROM meshos_events
            WHERE kind = 1 AND payload->'job'->>'tenantId' = $1 AND (payload->'job'->>'terminal')::boolean
            GROUP BY 1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync();
        var events = new Dictionary<string, (string, long)>();
        while (await reader.ReadAsync())
        {
            events[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2));
        }

        return events;
    }

    /// <summary>Up to <paramref name="max"/> jobs of the tenant that are not terminal (status 0–2), for a failure message.</summary>
    public static async Task<List<Guid>> UnfinishedAsync(string connectionString, string tenantId, int max = 5)
    {
        await using var connection = await OpenAsync(connectionString);
        await using var command = new NpgsqlCommand(
            "SELECT id FROM meshos_jobs WHERE tenant_id = $1 AND status <= 2 ORDER BY created_at LIMIT $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = max });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<Dictionary<Guid, StoredJob>> ReadJobsAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var jobs = new Dictionary<Guid, StoredJob>();
        while (await reader.ReadAsync())
        {
            var id = reader.GetGuid(0);
            jobs[id] = new StoredJob(id, reader.GetInt16(1), reader.GetInt32(2), reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetInt64(8));
        }

        return jobs;
    }
}

/// <summary>A row of meshos_jobs, the columns the audit reads.</summary>
public sealed record StoredJob(Guid Id, short Status, int Attempts, long Epoch, string? AgentId, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt,
    string? Result, long Version)
{
    /// <summary>From the submit to the terminal result (null while not finished).</summary>
    public TimeSpan? Latency => CompletedAt - CreatedAt;
}

/// <summary>One JobAttemptEnded event of the log.</summary>
public sealed record AttemptEvent(string Outcome, bool Terminal, string Status, string? AgentId, int Attempt);

/// <summary>What the audit of a scenario found.</summary>
/// <param name="Missing">Acknowledged jobs absent from the job table.</param>
/// <param name="NotSucceeded">Acknowledged jobs that ended otherwise than Succeeded (with that status).</param>
/// <param name="WithoutTerminalEvent">Acknowledged jobs with no terminal JobAttemptEnded event.</param>
/// <param name="SeveralTerminalEvents">Acknowledged jobs with more than one terminal event (two terminal results).</param>
/// <param name="Rerun">Jobs with more than one attempt (each attempt may have run the job: duplicated executions).</param>
/// <param name="ExtraAttempts">Attempts that did not end the job (lost leases, releases, failures), over all jobs.</param>
/// <param name="StoredUnacknowledged">Jobs of the tenant in the table whose submit was never acknowledged (allowed).</param>
/// <param name="Slowest">The acknowledged job that took longest from submit to its terminal result.</param>
public sealed record AuditResult(
    int Acknowledged,
    int Succeeded,
    IReadOnlyList<Guid> Missing,
    IReadOnlyDictionary<Guid, string> NotSucceeded,
    IReadOnlyList<Guid> WithoutTerminalEvent,
    IReadOnlyDictionary<Guid, int> SeveralTerminalEvents,
    int Rerun,
    int ExtraAttempts,
    IReadOnlyDictionary<string, int> ExtraAttemptOutcomes,
    int StoredUnacknowledged,
    DateTimeOffset? LastCompletedAt,
    StoredJob? Slowest)
{
    /// <summary>The longest time from submit to terminal result of any acknowledged job.</summary>
    public TimeSpan? LongestLatency => Slowest?.Latency;

    /// <summary>Acknowledged jobs that are not in the table, or not Succeeded.</summary>
    public int Lost => Missing.Count + NotSucceeded.Count;

    /// <summary>Jobs with two or more terminal results.</summary>
    public int DoubleTerminal => SeveralTerminalEvents.Count;

    public string ExtraOutcomes => ExtraAttemptOutcomes.Count == 0
        ? "none"
        : string.Join(", ", ExtraAttemptOutcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Key} {o.Value}"));

    /// <summary>Fails unless every acknowledged job is Succeeded with exactly one terminal event.</summary>
    public void AssertNothingLost()
    {
        Assert.True(Missing.Count == 0, $"{Missing.Count} acknowledged job(s) are not in meshos_jobs: {string.Join(", ", Missing.Take(10))}");
        Assert.True(NotSucceeded.Count == 0, $"{NotSucceeded.Count} acknowledged job(s) did not succeed: " +
            string.Join(", ", NotSucceeded.Take(10).Select(n => $"{n.Key} {n.Value}")));
        Assert.True(SeveralTerminalEvents.Count == 0, $"{SeveralTerminalEvents.Count} job(s) have several terminal results in meshos_events: " +
            string.Join(", ", SeveralTerminalEvents.Take(10).Select(n => $"{n.Key} ×{n.Value}")));
        Assert.True(WithoutTerminalEvent.Count == 0, $"{WithoutTerminalEvent.Count} acknowledged job(s) have no terminal JobAttemptEnded event: " +
            string.Join(", ", WithoutTerminalEvent.Take(10)));
        Assert.Equal(Acknowledged, Succeeded);
    }
}
