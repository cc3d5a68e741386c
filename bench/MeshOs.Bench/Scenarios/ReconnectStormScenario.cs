using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using MeshOs.AgentSdk;
using MeshOs.Bench.Agents;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Scenarios;

/// <summary>The reconnect storm: how many agents, how many of them hold a job, their heartbeat interval.</summary>
public sealed record ReconnectStormSettings(int Agents, int HoldingAgents, TimeSpan Interval, int ConnectConcurrency, TimeSpan ReconnectTimeout);

/// <summary>
/// N connected agents (lean raw-protocol clients; H of them hold a job that runs for ever, renewing its lease with
/// their heartbeats) on one silo behind a standalone gateway; the gateway is SIGKILLed and started again at once on the
/// same address. Every agent sees its stream die and reconnects on the agent SDK's own schedule (jittered exponential
/// backoff from 0.5 s). Measured: the outage (kill → the new gateway ready), kill → every agent registered again,
/// heartbeats lost with the killed gateway and heartbeats unanswered after reconnecting, and what the mesh did to the
/// agents and their jobs meanwhile: agents declared Unresponsive, healing remediations, held jobs that moved, were
/// revoked or re-queued. With an outage shorter than the disconnect grace, all of these must be 0: the run fails
/// otherwise.
/// </summary>
public static class ReconnectStormScenario
{
    private const string HoldCapability = "storm-hold";

    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, ReconnectStormSettings settings)
    {
        if (targetOptions.IsExternal)
        {
            throw new ArgumentException("reconnect-storm kills and restarts the standalone gateway: it needs a deployment the bench starts (no --http/--grpc).");
        }

        var options = targetOptions.With(new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = settings.Interval.ToString("c", CultureInfo.InvariantCulture),
        });
        var grace = Setting(options, "MeshOs:Agents:DisconnectGrace") ?? settings.Interval;
        var missed = options.SiloSettings.TryGetValue("MeshOs:Agents:MissedHeartbeats", out var m) ? int.Parse(m, CultureInfo.InvariantCulture) : 3;
        var unresponsiveAfter = settings.Interval * missed;
        var deadAfter = Setting(options, "MeshOs:Healing:DeadAfter") ?? TimeSpan.FromSeconds(5);

        await using var target = await MeshTarget.StartAsync(options, silos: 1, standaloneGateway: true);
        using var stateChanges = new AgentStateChanges(target.SiloMetricsUrls, target.DatabaseConnectionString);
        var sinks = new LeanAgentSinks(new WindowClock());
        var client = new AgentChannel.AgentChannelClient(target.Channel);
        var agents = new List<LeanAgent>();
        var heartbeats = new ConcurrentQueue<Task>();
        using var stop = new CancellationTokenSource();
        void StartHeartbeats(LeanAgent agent) =>
            heartbeats.Enqueue(agent.HeartbeatLoopAsync(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * settings.Interval.TotalMilliseconds), stop.Token));
        try
        {
            var prefix = "storm-" + Guid.NewGuid().ToString("N")[..6];
            var tenant = (await target.Operator.CreateTenantsAsync(1, prefix))[0];
            var jobs = new Jobs.JobsClient(target.Channel);
            var tenantHeaders = new Metadata { { "x-api-key", tenant.ApiKey } };

            Progress.Say($"{settings.HoldingAgents} agents take a job each and hold it…");
            var held = await HoldJobsAsync(target, client, jobs, tenantHeaders, prefix, settings.HoldingAgents, sinks, agents, StartHeartbeats);

            Progress.Say($"connecting {settings.Agents - settings.HoldingAgents} idle agents…");
            var connectStart = Ticks.Now;
            var (idle, failed) = await LeanAgents.ConnectManyAsync(client, target.EnrollmentToken, prefix + "-idle", 0, settings.Agents - settings.HoldingAgents,
                settings.ConnectConcurrency, sinks, StartHeartbeats);
            agents.AddRange(idle);
            var connectSeconds = Ticks.MsSince(connectStart) / 1000;
            if (failed > 0)
            {
                throw new InvalidOperationException($"{failed} agents could not register before the storm.");
            }

            Progress.Say($"  {idle.Count} registered in {connectSeconds:0.0} s; every agent heartbeats for one interval…");
            await Task.Delay(settings.Interval + TimeSpan.FromSeconds(1));
            var jobsBefore = await ReadJobsAsync(jobs, tenantHeaders, held.Keys);
            var unresponsiveBefore = await stateChanges.DeclaredUnresponsiveAsync();
            var lostBefore = sinks.HeartbeatsLost;
            var revokedBefore = sinks.LeasesRevoked;

            // Every agent waits for its stream to die, then reconnects as the SDK does.
            var killedAt = Ticks.Now;
            var killedAtWall = DateTimeOffset.UtcNow;
            var reconnected = agents.Select(a => ReconnectAsync(a, killedAt, settings.ReconnectTimeout)).ToList();
            Progress.Say($"SIGKILL of the gateway with {agents.Count} agents connected; starting it again…");
            target.KillGateway();
            await target.RestartGatewayAsync();
            var outage = Ticks.MsSince(killedAt) / 1000;
            Progress.Say($"  gateway ready again {outage:0.00} s after the kill; agents reconnecting…");
            var reconnectSeconds = (await Task.WhenAll(reconnected)).Where(double.IsFinite).ToArray();
            var everyone = reconnectSeconds.DefaultIfEmpty(double.NaN).Max();
            var lostWithGateway = sinks.HeartbeatsLost - lostBefore;
            Progress.Say($"  every agent registered again {everyone:0.00} s after the kill");

            // Long enough for any wrong decision to show: an agent silent since just before the kill would be declared
            // Unresponsive by kill + silence limit, and dead (its jobs taken) a healing grace later.
            var lostAtReconnected = sinks.HeartbeatsLost;
            var watchUntil = Math.Max(Ticks.MsSince(killedAt) / 1000 + 2 * settings.Interval.TotalSeconds, (unresponsiveAfter + deadAfter).TotalSeconds + 3);
            Progress.Say($"  watching until {watchUntil:0} s after the kill for agents declared Unresponsive or healed…");
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, watchUntil - Ticks.MsSince(killedAt) / 1000)));
            var unansweredAfter = sinks.HeartbeatsLost - lostAtReconnected;
            var unresponsiveAfterStorm = await stateChanges.DeclaredUnresponsiveAsync();
            double unresponsive = unresponsiveBefore is { } b && unresponsiveAfterStorm is { } a ? a - b : double.NaN;
            var remediations = await RemediationsSinceAsync(target.Operator, killedAtWall);
            var jobsAfter = await ReadJobsAsync(jobs, tenantHeaders, held.Keys);
            var jobsMoved = held.Keys.Count(id => jobsAfter[id] != jobsBefore[id]);
            var revoked = sinks.LeasesRevoked - revokedBefore;

            var run = new RunResult();
            Array.Sort(reconnectSeconds);
            run.Add("agents connected", agents.Count);
            run.Add("agents holding a job", held.Count);
            run.Add("registration rate before the storm", "/s", idle.Count / connectSeconds);
            run.Add("outage: kill → gateway ready again", "s", outage);
            run.Add("disconnect grace", "s", grace.TotalSeconds);
            run.Add("kill → every agent registered again", "s", everyone);
            run.Add("kill → agent registered again p50", "s", reconnectSeconds.Length == 0 ? double.NaN : reconnectSeconds[reconnectSeconds.Length / 2]);
            run.Add("kill → agent registered again p99", "s", reconnectSeconds.Length == 0 ? double.NaN : reconnectSeconds[(int)(reconnectSeconds.Length * 0.99)]);
            run.Add("re-registration rate (ready → every agent)", "/s", agents.Count / Math.Max(0.001, everyone - outage));
            run.Add("heartbeats lost with the killed gateway", lostWithGateway);
            run.Add("heartbeats unanswered after reconnecting", unansweredAfter);
            run.Add("agents declared Unresponsive", unresponsive);
            run.Add("healing remediations", remediations.Count);
            run.Add("held jobs moved, revoked or re-queued", jobsMoved);
            run.Add("leases revoked in heartbeat acks", revoked);
            if (remediations.Count > 0)
            {
                run.Details["remediations"] = remediations;
            }

            run.Notes.Add($"target: {target.ModeName}, one silo behind a standalone gateway; heartbeat interval {settings.Interval.TotalSeconds:0.#} s, " +
                $"Unresponsive after {unresponsiveAfter.TotalSeconds:0.#} s of silence, disconnect grace {grace.TotalSeconds:0.#} s, healing grace {deadAfter.TotalSeconds:0.#} s");
            run.Notes.Add("agents: lean raw-protocol clients on the bench's one GrpcChannel, reconnecting with the agent SDK's backoff (defaults of MeshAgentOptions); " +
                $"held jobs compared before and after by status, agent and attempts (Jobs.Get); Unresponsive counted from {stateChanges.Source}; " +
                "remediations from GET /v1/healing/remediations since the kill");
            AddFailures(run, outage, grace, reconnectSeconds.Length, agents.Count, unansweredAfter, unresponsive, remediations.Count, jobsMoved, revoked);
            if (run.Failures.Count > 0)
            {
                run.Details["process output"] = target.Tails(300);
            }

            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
        finally
        {
            await LeanAgents.CloseAsync(agents, heartbeats, stop);
        }
    }

    private static void AddFailures(RunResult run, double outage, TimeSpan grace, int reconnected, int agents, long unansweredAfter, double unresponsive,
        int remediations, int jobsMoved, long revoked)
    {
        if (reconnected < agents)
        {
            run.Failures.Add($"{agents - reconnected} agent(s) did not register again");
        }

        if (unansweredAfter > 0)
        {
            run.Failures.Add($"{unansweredAfter} heartbeat(s) went unanswered after the agents reconnected");
        }

        var wrong = new List<string>();
        if (unresponsive != 0)
        {
            wrong.Add(double.IsNaN(unresponsive) ? "agents declared Unresponsive could not be counted" : $"{unresponsive} agent(s) declared Unresponsive");
        }

        if (remediations > 0)
        {
            wrong.Add($"{remediations} healing remediation(s)");
        }

        if (jobsMoved > 0 || revoked > 0)
        {
            wrong.Add($"{jobsMoved} held job(s) moved or re-queued, {revoked} lease(s) revoked");
        }

        if (wrong.Count == 0)
        {
            return;
        }

        if (outage < grace.TotalSeconds)
        {
            run.Failures.Add($"the gateway was down {outage:0.00} s, less than the disconnect grace of {grace.TotalSeconds:0.#} s, yet: {string.Join("; ", wrong)}");
        }
        else
        {
            run.Notes.Add($"the outage ({outage:0.00} s) was not shorter than the disconnect grace ({grace.TotalSeconds:0.#} s): {string.Join("; ", wrong)}");
        }
    }

    /// <summary>
    /// Waits for the agent's stream to die, then reconnects on the SDK's schedule; returns kill → registered again, in
    /// seconds (infinity when it did not within <paramref name="timeout"/>).
    /// </summary>
    private static async Task<double> ReconnectAsync(LeanAgent agent, long killedAt, TimeSpan timeout)
    {
        await agent.Completion;
        var defaults = new MeshAgentOptions();
        var backoff = new ReconnectBackoff(defaults.ReconnectMinDelay, defaults.ReconnectMaxDelay, Random.Shared.NextDouble);
        var deadline = killedAt + Ticks.FromSeconds(timeout.TotalSeconds);
        while (true)
        {
            await Task.Delay(backoff.Next());
            try
            {
                await agent.ConnectAsync(defaults.RegistrationTimeout);
                return Ticks.MsSince(killedAt) / 1000;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                if (Ticks.Now >= deadline)
                {
                    return double.PositiveInfinity;
                }
            }
        }
    }

    /// <summary>
    /// Connects <paramref name="count"/> agents that hold what they are given, submits one job per agent and waits until
    /// each agent holds one. Returns job id → the agent holding it.
    /// </summary>
    private static async Task<Dictionary<string, string>> HoldJobsAsync(MeshTarget target, AgentChannel.AgentChannelClient client, Jobs.JobsClient jobs,
        Metadata tenantHeaders, string prefix, int count, LeanAgentSinks sinks, List<LeanAgent> agents, Action<LeanAgent> registered)
    {
        var held = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var allHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < count; i++)
        {
            var agent = new LeanAgent(client, target.EnrollmentToken, $"{prefix}-hold-{i:0000}", HoldCapability, 1, AssignmentHandling.Hold, sinks);
            agent.Assigned += (a, assignment, _) =>
            {
                held[assignment.JobId] = a.AgentId;
                if (held.Count >= count)
                {
                    allHeld.TrySetResult();
                }
            };
            await agent.ConnectAsync(TimeSpan.FromSeconds(60));
            agents.Add(agent);
            registered(agent);
            agent.RequestLeases(1);
        }

        if (count == 0)
        {
            return [];
        }

        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => jobs.SubmitAsync(
            new SubmitJobRequest { Type = BenchJobs.Type, Capability = HoldCapability, PayloadJson = "{}" }, tenantHeaders).ResponseAsync));
        await allHeld.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new Dictionary<string, string>(held, StringComparer.Ordinal);
    }

    /// <summary>Each held job's status, agent and attempts: a job healing took away changes at least one of them.</summary>
    private static async Task<Dictionary<string, (JobStatus, string, int)>> ReadJobsAsync(Jobs.JobsClient jobs, Metadata headers, IEnumerable<string> jobIds)
    {
        var read = new Dictionary<string, (JobStatus, string, int)>(StringComparer.Ordinal);
        foreach (var id in jobIds)
        {
            var job = await jobs.GetAsync(new GetJobRequest { JobId = id }, headers);
            read[id] = (job.Status, job.AgentId, job.Attempts);
        }

        return read;
    }

    /// <summary>What the healing supervisor did since <paramref name="since"/> (GET /v1/healing/remediations, operator key).</summary>
    private static async Task<List<string>> RemediationsSinceAsync(MeshOperator mesh, DateTimeOffset since)
    {
        var all = await mesh.Http.GetFromJsonAsync<JsonArray>(new Uri("/v1/healing/remediations?limit=10000", UriKind.Relative)) ?? [];
        return [.. all.OfType<JsonObject>()
            .Where(r => r["at"]?.GetValue<DateTimeOffset>() >= since)
            .Select(r => $"{r["step"]} {r["subject"]}: {r["detail"]}")];
    }

    private static TimeSpan? Setting(TargetOptions options, string key) =>
        options.SiloSettings.TryGetValue(key, out var text) ? TimeSpan.Parse(text, CultureInfo.InvariantCulture) : null;
}
