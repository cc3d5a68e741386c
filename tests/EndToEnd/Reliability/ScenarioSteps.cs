using System.Globalization;
using Grpc.Core;
using Npgsql;

namespace MeshOs.Tests.EndToEnd.Reliability;

/// <summary>The steps every scenario shares: warm-up under load, the recovery of the jobs in flight at the fault, and the final drain and audit.</summary>
public static class ScenarioSteps
{
    /// <summary>How long the submitters keep retrying their last jobs once told to stop.</summary>
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(30);

    /// <summary>Lets the load run for the profile's warm-up; fails unless jobs are being completed by then.</summary>
    public static async Task WarmUpAsync(ReliabilityProfile profile, SteadyLoad load, string connectionString, string tenantId, ScenarioReport report)
    {
        await Task.Delay(profile.Warmup);
        var succeeded = await Eventually.WaitAsync(() => SucceededAsync(connectionString, tenantId), n => n > 0, TimeSpan.FromSeconds(30));
        report.Log($"warm-up: {load.Acknowledged.Count} acknowledged, {succeeded} succeeded");
        Assert.True(succeeded > 0, "No job succeeded during the warm-up.");
    }

    /// <summary>Succeeded jobs of the tenant.</summary>
    public static async Task<long> SucceededAsync(string connectionString, string tenantId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM meshos_jobs WHERE tenant_id = $1 AND status = 3", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Waits until every job of <paramref name="orphans"/> (in flight at the fault) is terminal; returns the time from
    /// <paramref name="faultAt"/> to the last one's completion, or null when they were not all done in time.
    /// </summary>
    public static async Task<TimeSpan?> OrphansDoneAsync(string connectionString, IReadOnlyCollection<Guid> orphans, DateTimeOffset faultAt, TimeSpan timeout)
    {
        if (orphans.Count == 0)
        {
            return TimeSpan.Zero;
        }

        if (await JobAudit.DrainAsync(connectionString, orphans, timeout) is null)
        {
            return null;
        }

        var last = (await JobAudit.JobsAsync(connectionString, orphans)).Values.Max(j => j.CompletedAt);
        return last - faultAt;
    }

    /// <summary>What the fault did to the submitters from <paramref name="since"/> on: failed tries, their codes, the slowest acknowledged one.</summary>
    public static string SubmitImpact(SteadyLoad load, DateTimeOffset since)
    {
        var tries = load.Tries.Where(t => t.StartedAt >= since).ToList();
        var failed = tries.Where(t => !t.Acknowledged).ToList();
        var slowest = tries.Where(t => t.Acknowledged).Select(t => t.Latency).DefaultIfEmpty().Max();
        var text = string.Create(CultureInfo.InvariantCulture, $"{failed.Count} failed tries");
        if (failed.Count > 0)
        {
            text += string.Create(CultureInfo.InvariantCulture,
                $" ({string.Join(", ", failed.GroupBy(f => f.Failure).Select(g => $"{g.Key} {g.Count()}"))}) from +{(failed.Min(f => f.StartedAt) - since).TotalSeconds:0.0} s " +
                $"to +{(failed.Max(f => f.EndedAt) - since).TotalSeconds:0.0} s, slowest failure {failed.Max(f => f.Latency).TotalSeconds:0.00} s");
        }

        return text + string.Create(CultureInfo.InvariantCulture, $"; slowest acknowledged submit {slowest.TotalSeconds:0.00} s");
    }

    /// <summary>
    /// Stops the load (the submits in hand are retried until acknowledged), waits until every acknowledged job is
    /// terminal, audits them all, writes the report and asserts: every submit answered within the call deadline and
    /// in the end acknowledged, every acknowledged job Succeeded with exactly one terminal result, and none of them
    /// took longer than <paramref name="latencyBound"/> from its submit to its result (the fault delays jobs by
    /// seconds, not by timeouts).
    /// </summary>
    public static async Task<AuditResult> DrainAndAuditAsync(ReliabilityProfile profile, ReliabilityMesh mesh, string tenantId, SteadyLoad load,
        ScenarioReport report, DateTimeOffset faultAt, TimeSpan latencyBound, string? duplicatedNote = null)
    {
        await load.StopAsync(StopPatience);
        var acknowledged = load.Acknowledged.Values.ToList();
        report.Log($"load stopped: {load.Issued} issued, {acknowledged.Count} acknowledged; draining");
        var drained = await JobAudit.DrainAsync(mesh.ConnectionString, acknowledged, profile.DrainTimeout);
        report.Log(drained is { } d ? $"drained in {d.TotalSeconds:0.0} s" : "NOT drained");
        var audit = await JobAudit.AuditAsync(mesh.ConnectionString, tenantId, acknowledged);
        report.Outcome(load, audit, duplicatedNote);
        report.Figure("last acknowledged job completed", audit.LastCompletedAt - faultAt is { } after ? after : null);
        report.Figure("drain after the load stopped", drained);
        report.Figure("longest submit → result", audit.LongestLatency);
        report.Figure("bound on submit → result", latencyBound);
        report.Write();

        if (drained is null)
        {
            var unfinished = await JobAudit.UnfinishedAsync(mesh.ConnectionString, tenantId);
            Assert.Fail($"Not every acknowledged job was terminal {profile.DrainTimeout.TotalSeconds:0} s after the load stopped: " +
                $"{await JobAudit.StatusesAsync(mesh.ConnectionString, tenantId)}\n" +
                string.Concat(unfinished.Select(id => $"What the processes logged about unfinished job {id}:\n{mesh.Grep(id.ToString())}\n")) + mesh.Tails());
        }

        audit.AssertNothingLost();

        var problems = new List<string>();
        if (load.Acknowledged.Count != load.Issued)
        {
            problems.Add($"{load.Issued - load.Acknowledged.Count} submit(s) were never acknowledged, though retried for {StopPatience.TotalSeconds:0} s after the load stopped.");
        }

        var hung = load.Tries.Where(t => t.Failure == StatusCode.DeadlineExceeded).ToList();
        if (hung.Count > 0)
        {
            problems.Add($"{hung.Count} submit(s) got no answer within {SteadyLoad.CallDeadline.TotalSeconds:0} s (the first started " +
                $"{(hung.Min(t => t.StartedAt) - faultAt).TotalSeconds:+0.0;-0.0} s from the fault): a submit must succeed or fail fast.");
        }

        if (audit.LongestLatency > latencyBound)
        {
            problems.Add($"Job {audit.Slowest?.Id} took {audit.LongestLatency?.TotalSeconds:0.0} s from submit to result (bound {latencyBound.TotalSeconds:0} s). " +
                $"Slowest jobs, times relative to their submit:\n{await JobAudit.SlowestAsync(mesh.ConnectionString, tenantId)}" +
                $"What the processes logged about {audit.Slowest?.Id}:\n{mesh.Grep(audit.Slowest?.Id.ToString() ?? "-")}");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        return audit;
    }
}
