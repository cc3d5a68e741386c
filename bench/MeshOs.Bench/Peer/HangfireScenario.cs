using System.Collections.Concurrent;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Scenarios;
using MeshOs.Bench.Targets;
using MeshOs.Testing;
using Npgsql;

namespace MeshOs.Bench.Peer;

/// <summary>The peer's workload: the same producers, rate and windows as MeshOs' throughput scenario.</summary>
public sealed record HangfireRunSettings(int Producers, double? Rate, TimeSpan Warmup, TimeSpan Duration, TimeSpan DrainTimeout, HangfireSettings Peer);

/// <summary>
/// No-op jobs on Hangfire with Hangfire.PostgreSql. P producer threads call BackgroundJobClient.Create (Hangfire's
/// client API is synchronous: the enqueue is acknowledged when its transaction committed); a Hangfire server in its
/// own process runs them. Dispatch and end-to-end are read from Hangfire's own state history: the Processing and
/// Succeeded states are stamped (DateTime.UtcNow) by the worker as it writes each state change.
/// </summary>
public static class HangfireScenario
{
    public static async Task<RunResult> RunAsync(HangfireRunSettings settings, PostgresServer? sharedPostgres = null)
    {
        PostgresServer? owned = null;
        if (sharedPostgres is null)
        {
            Console.WriteLine("  starting a private PostgreSQL…");
            owned = await PostgresServer.CreateAsync();
        }

        var postgres = sharedPostgres ?? owned!;
        try
        {
            var database = await postgres.CreateDatabaseAsync("hangfire_" + Guid.NewGuid().ToString("N")[..10]);
            await MachineInfo.NotePostgresAsync(database);
            var storage = settings.Peer.Storage(database);
            using var server = await HangfireServerProcess.StartAsync(database, settings.Peer);
            Progress.Say($"Hangfire server (pid {server.ProcessId}, {settings.Peer.Workers} workers, long polling {settings.Peer.LongPolling}, " +
                $"poll {settings.Peer.QueuePollInterval.TotalMilliseconds:0} ms); {settings.Producers} producer threads, rate {(settings.Rate is { } r ? $"{r:0}/s" : "max")}");
            return await MeasureAsync(settings, new BackgroundJobClient(storage), database, server, MeshTarget.PostmasterPidOf(postgres));
        }
        finally
        {
            if (owned is not null)
            {
                await owned.DisposeAsync();
            }
        }
    }

    private static async Task<RunResult> MeasureAsync(HangfireRunSettings settings, BackgroundJobClient client, string database,
        HangfireServerProcess server, int? postmasterPid)
    {
        var job = Job.FromExpression(() => HangfireJobs.Noop());
        var window = new WindowClock();
        var (anchorUtc, anchorTicks) = (DateTime.UtcNow, Ticks.Now);
        DateTime ToUtc(long ticks) => anchorUtc.AddTicks((long)(Ticks.ToMs(ticks - anchorTicks) * TimeSpan.TicksPerMillisecond));

        var acked = new ConcurrentQueue<(long Id, long Due, bool InWindow)>();
        var errors = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var enqueue = new LatencyRecorder();
        var stop = false;
        var threads = Enumerable.Range(0, settings.Producers).Select(p => new Thread(() =>
        {
            var interval = settings.Rate is { } rate ? Ticks.FromSeconds(settings.Producers / rate) : 0;
            var due = Ticks.Now + interval * p / settings.Producers;
            while (!Volatile.Read(ref stop))
            {
                if (interval > 0)
                {
                    var wait = Ticks.ToMs(due - Ticks.Now);
                    if (wait >= 1)
                    {
                        Thread.Sleep(TimeSpan.FromMilliseconds(wait));
                    }
                }
                else
                {
                    due = Ticks.Now;
                }

                var inWindow = window.Contains(due);
                try
                {
                    var id = client.Create(job, new EnqueuedState());
                    var latency = Ticks.MsSince(due);
                    acked.Enqueue((long.Parse(id, System.Globalization.CultureInfo.InvariantCulture), due, inWindow));
                    if (inWindow)
                    {
                        enqueue.Record(latency);
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    errors.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
                }

                due += interval;
            }
        })
        { IsBackground = true, Name = $"hangfire-producer-{p}" }).ToList();

        var cpu = new CpuMeter([server.ProcessId], postmasterPid);
        var pg = new PostgresCounters(database);
        threads.ForEach(t => t.Start());
        await Task.Delay(settings.Warmup);
        var start = Ticks.Now;
        window.Open(start);
        cpu.Start();
        await pg.StartAsync();
        await Task.Delay(settings.Duration);
        var end = Ticks.Now;
        window.Close(end);
        var usage = cpu.Stop();
        var activity = await pg.StopAsync();
        Volatile.Write(ref stop, true);
        threads.ForEach(t => t.Join());
        var seconds = Ticks.ToMs(end - start) / 1000;

        Progress.Say("window done; waiting for Hangfire to finish the backlog…");
        var all = acked.ToList();
        var drained = await WaitSucceededAsync(database, all.Count, settings.DrainTimeout);
        var peakRss = ProcFs.PeakRssBytes(server.ProcessId) is { } b ? b / (1024.0 * 1024) : double.NaN;

        var history = await StateHistoryAsync(database, all, ToUtc, window.Current);
        var succeeded = await CountAsync(database, "SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded' AND id = ANY(@ids)",
            ("ids", all.Select(j => j.Id).ToArray()));

        var run = new RunResult();
        run.Add("submitted (acknowledged)", "/s", all.Count(j => j.InWindow) / seconds);
        run.Add("completed (Succeeded)", "/s", history.SucceededInWindow / seconds);
        run.Add("submit errors", errors.Values.Sum());
        run.AddLatency("submit ack", enqueue.Summarize());
        run.AddLatency("dispatch", history.Dispatch);
        run.AddLatency("end-to-end (Succeeded state)", history.EndToEnd);
        run.AddCpu(usage, "server (Hangfire)");
        run.AddPostgres(activity);
        run.Add("server peak memory (VmHWM)", "MiB", peakRss);
        run.Add("acknowledged jobs (whole run)", all.Count);
        run.Add("of which Succeeded", succeeded);
        run.Add("lost (acknowledged − Succeeded)", all.Count - succeeded);
        run.Notes.Add($"Hangfire.Core 1.8.25 + Hangfire.PostgreSql 1.21.1, {settings.Peer.Workers} workers in a separate process; " +
            $"{settings.Producers} producer threads in the bench calling BackgroundJobClient.Create");
        run.Notes.Add("submit ack: Create returned (its transaction committed); dispatch: due → Processing state stamped; " +
            "end-to-end: due → Succeeded state stamped by the worker (committed right after)");
        run.Details["submitErrorsByCode"] = new Dictionary<string, long>(errors, StringComparer.Ordinal);
        if (!drained)
        {
            run.Notes.Add($"the backlog was not finished within {settings.DrainTimeout.TotalSeconds:0} s after the window");
        }

        if (!errors.IsEmpty)
        {
            run.Notes.Add("enqueue errors: " + string.Join(", ", errors.Select(e => $"{e.Key} × {e.Value}")));
        }

        return run;
    }

    private static async Task<bool> WaitSucceededAsync(string database, long expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await CountAsync(database, "SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'") < expected)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(500);
        }

        return true;
    }

    /// <summary>
    /// Reads the Processing and Succeeded states of every acknowledged job: Succeeded states stamped inside the window
    /// (completed/s), and for the jobs due in the window, due → first Processing (dispatch) and due → Succeeded (end to end).
    /// </summary>
    private static async Task<StateHistory> StateHistoryAsync(string database, List<(long Id, long Due, bool InWindow)> jobs,
        Func<long, DateTime> toUtc, Window window)
    {
        var dueOfWindowJobs = jobs.Where(j => j.InWindow).ToDictionary(j => j.Id, j => toUtc(j.Due));
        var (from, to) = (toUtc(window.Start), toUtc(window.End));
        var dispatch = new List<double>();
        var endToEnd = new List<double>();
        var succeededInWindow = 0L;
        var seenProcessing = new HashSet<long>();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT jobid, name, createdat FROM hangfire.state WHERE jobid = ANY(@ids) AND name IN ('Processing', 'Succeeded') ORDER BY id", connection);
        command.Parameters.AddWithValue("ids", jobs.Select(j => j.Id).ToArray());
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var id = reader.GetInt64(0);
            var at = DateTime.SpecifyKind(reader.GetDateTime(2), DateTimeKind.Utc);
            var succeeded = reader.GetString(1) == "Succeeded";
            if (succeeded && at >= from && at < to)
            {
                succeededInWindow++;
            }

            if (!dueOfWindowJobs.TryGetValue(id, out var due))
            {
                continue;
            }

            if (succeeded)
            {
                endToEnd.Add((at - due).TotalMilliseconds);
            }
            else if (seenProcessing.Add(id))
            {
                // A retried job is processed more than once: its first pick-up is its dispatch.
                dispatch.Add((at - due).TotalMilliseconds);
            }
        }

        return new StateHistory(succeededInWindow, LatencySummary.Of(dispatch), LatencySummary.Of(endToEnd));
    }

    private sealed record StateHistory(long SucceededInWindow, LatencySummary Dispatch, LatencySummary EndToEnd);

    private static async Task<long> CountAsync(string database, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
