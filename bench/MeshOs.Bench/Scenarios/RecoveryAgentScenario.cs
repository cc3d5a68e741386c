using System.Globalization;
using Grpc.Core;
using MeshOs.Bench.Agents;
using MeshOs.Bench.Load;
using MeshOs.Bench.Measurement;
using MeshOs.Bench.Reporting;
using MeshOs.Bench.Targets;
using MeshOs.Grpc.V1;

namespace MeshOs.Bench.Scenarios;

/// <summary>How the agent holding the job dies.</summary>
public enum AgentDeath
{
    /// <summary>The stream is reset, as when the process is killed.</summary>
    Reset,

    /// <summary>The agent stops heartbeating and reporting but its stream stays open, as a hung process.</summary>
    Silent,
}

public sealed record RecoveryAgentSettings(TimeSpan HeartbeatInterval, int MissedHeartbeats, TimeSpan LeaseDuration, int Trials, AgentDeath Death);

/// <summary>
/// A dead agent's job running elsewhere. Agent A holds a job (started, heartbeating, never finishing); agent B waits
/// with a free slot; A dies. Measured: kill → the mesh declares A Unresponsive (polled on the operator API every 25
/// ms), and kill → B receives the job's new assignment. The target counts from the death declaration.
/// </summary>
public static class RecoveryAgentScenario
{
    public static async Task<RunResult> RunAsync(TargetOptions targetOptions, RecoveryAgentSettings settings)
    {
        await using var target = await MeshTarget.StartAsync(targetOptions.With(new Dictionary<string, string>
        {
            ["MeshOs:Agents:HeartbeatInterval"] = settings.HeartbeatInterval.ToString("c", CultureInfo.InvariantCulture),
            ["MeshOs:Agents:MissedHeartbeats"] = settings.MissedHeartbeats.ToString(CultureInfo.InvariantCulture),
            ["MeshOs:Jobs:LeaseDuration"] = settings.LeaseDuration.ToString("c", CultureInfo.InvariantCulture),
        }));
        try
        {
            var prefix = "r" + Guid.NewGuid().ToString("N")[..6];
            var tenant = (await target.Operator.CreateTenantsAsync(1, prefix))[0];
            var run = new RunResult();
            var declared = new List<double>();
            var reassigned = new List<double>();
            var afterDeclared = new List<double>();
            for (var trial = 1; trial <= settings.Trials; trial++)
            {
                Progress.Say($"trial {trial}/{settings.Trials}");
                var (toDeclared, toReassigned) = await TrialAsync(target, tenant, $"{prefix}-{trial}", settings);
                run.Add($"trial {trial}: kill → declared Unresponsive", "s", toDeclared);
                run.Add($"trial {trial}: kill → job assigned to another agent", "s", toReassigned);
                run.Add($"trial {trial}: declared → assigned elsewhere", "s", toReassigned - toDeclared);
                Progress.Say($"  declared after {toDeclared:0.00} s, reassigned after {toReassigned:0.00} s");
                declared.Add(toDeclared);
                reassigned.Add(toReassigned);
                afterDeclared.Add(toReassigned - toDeclared);
            }

            var budget = 2 * settings.HeartbeatInterval.TotalSeconds + 1;
            run.Add("kill → declared Unresponsive (median of trials)", "s", Median.Of(declared));
            run.Add("kill → job assigned elsewhere (median of trials)", "s", Median.Of(reassigned));
            run.Add("declared → job assigned elsewhere (median of trials)", "s", Median.Of(afterDeclared));
            run.Add("target: declared → elsewhere within 2 intervals + 1 s", "s", budget);
            run.Add("trials within target", afterDeclared.Count(x => x <= budget));
            run.Notes.Add($"target: {target.ModeName}; heartbeat interval {settings.HeartbeatInterval.TotalSeconds:0.##} s × {settings.MissedHeartbeats} missed = " +
                $"Unresponsive after {settings.HeartbeatInterval.TotalSeconds * settings.MissedHeartbeats:0.##} s of silence; lease {settings.LeaseDuration.TotalSeconds:0.##} s");
            run.Notes.Add($"death: {(settings.Death == AgentDeath.Reset ? "stream reset (a killed process)" : "silent, stream open (a hung process)")}; " +
                "agents are lean raw-protocol clients that heartbeat with the leases they hold");
            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"Run failed: {ex}\n{target.Tails()}");
            throw;
        }
    }

    private static async Task<(double Declared, double Reassigned)> TrialAsync(MeshTarget target, BenchTenant tenant, string id, RecoveryAgentSettings settings)
    {
        var capability = "recovery-" + id.Replace('_', '-').ToLowerInvariant();
        var sinks = new LeanAgentSinks(new WindowClock());
        var client = new AgentChannel.AgentChannelClient(target.Channel);
        var jobs = new Jobs.JobsClient(target.Channel);
        var headers = new Metadata { { "x-api-key", tenant.ApiKey } };
        using var stop = new CancellationTokenSource();

        await using var holder = new LeanAgent(client, target.EnrollmentToken, id + "-a", capability, 1, AssignmentHandling.Hold, sinks);
        var held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        holder.Assigned += (_, assignment, _) => held.TrySetResult(assignment.JobId);
        await holder.ConnectAsync(TimeSpan.FromSeconds(30));
        holder.RequestLeases(1);
        var holderBeats = holder.HeartbeatLoopAsync(TimeSpan.Zero, stop.Token);

        var submitted = await jobs.SubmitAsync(new SubmitJobRequest { Type = BenchJobs.Type, Capability = capability, PayloadJson = "{}" }, headers);
        var jobId = submitted.Job.JobId;
        if (await held.Task.WaitAsync(TimeSpan.FromSeconds(30)) != jobId)
        {
            throw new InvalidOperationException("The holder received another job than the one submitted.");
        }

        await using var rescuer = new LeanAgent(client, target.EnrollmentToken, id + "-b", capability, 1, AssignmentHandling.Complete, sinks);
        var rescued = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        rescuer.Assigned += (_, assignment, at) =>
        {
            if (assignment.JobId == jobId)
            {
                rescued.TrySetResult(at);
            }
        };
        await rescuer.ConnectAsync(TimeSpan.FromSeconds(30));
        rescuer.RequestLeases(1);
        var rescuerBeats = rescuer.HeartbeatLoopAsync(TimeSpan.Zero, stop.Token);

        // Let the holder renew its lease at least once, so the kill does not land on a fresh lease.
        await Task.Delay(settings.HeartbeatInterval * 1.5 + TimeSpan.FromMilliseconds(200));
        if (rescued.Task.IsCompleted)
        {
            throw new InvalidOperationException("The job moved to the other agent before the holder died: the holder's lease was not renewed.");
        }

        var killedAt = Ticks.Now;
        if (settings.Death == AgentDeath.Reset)
        {
            holder.Kill();
        }
        else
        {
            holder.Silence();
        }

        var timeout = settings.HeartbeatInterval * (settings.MissedHeartbeats + 2) + settings.LeaseDuration + TimeSpan.FromSeconds(60);
        var declaredAt = WaitDeclaredAsync(target.Operator, id + "-a", timeout);
        var reassignedAt = await rescued.Task.WaitAsync(timeout);
        var declared = await declaredAt;

        // The job must then finish on the rescuer.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await jobs.GetAsync(new GetJobRequest { JobId = jobId }, headers)).Status != JobStatus.Succeeded)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"Job {jobId} did not succeed on the rescuing agent.");
            }

            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await Task.WhenAll(holderBeats, rescuerBeats);
        return (Ticks.ToMs(declared - killedAt) / 1000, Ticks.ToMs(reassignedAt - killedAt) / 1000);
    }

    private static async Task<long> WaitDeclaredAsync(MeshOperator mesh, string agentId, TimeSpan timeout)
    {
        var deadline = Ticks.Now + Ticks.FromSeconds(timeout.TotalSeconds);
        while (Ticks.Now < deadline)
        {
            var state = await mesh.AgentStateAsync(agentId);
            if (state is "Unresponsive" or "Offline" or "Quarantined")
            {
                return Ticks.Now;
            }

            await Task.Delay(25);
        }

        throw new TimeoutException($"Agent {agentId} was not declared Unresponsive within {timeout.TotalSeconds:0} s.");
    }
}
