using System.Diagnostics;
using System.Globalization;
using System.Net;
using MeshOs.Testing;
using MeshOs.Tests.EndToEnd.Kernel;
using Xunit.Abstractions;

namespace MeshOs.Tests.EndToEnd.Hosting;

/// <summary>
/// Ctrl+C / SIGTERM stops every kind of MeshOs process within 5 s, gracefully (exit code 0, the graceful line), with
/// agent streams open: they used to hold the stop for the host's whole 30 s, after which the silo was cut off.
/// </summary>
public sealed class ShutdownTests(ITestOutputHelper output)
{
    /// <summary>The bound the issue sets; the process's own limit (MeshOs:Shutdown:Timeout) is 3 s.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    private static string P(int port) => port.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_embedded_default_with_its_demo_fleet_stops_gracefully_within_5_seconds()
    {
        var n = Ports.ForWholeSilo();
        await using var silo = new PlainProcess("Silo", ["--port", P(n)]); // the README's first command, on free ports
        await silo.WaitForOutputAsync("is running", TimeSpan.FromSeconds(90));
        await silo.WaitForOutputAsync("connected (owner platform", TimeSpan.FromSeconds(30)); // demo agents hold streams

        var took = await silo.TerminateAsync(Patience);
        output.WriteLine($"embedded silo stopped in {took.TotalSeconds:0.00} s");

        AssertGraceful("silo+gateway", took, silo.ExitCode, silo.Output);
    }

    [Fact]
    public async Task A_standalone_gateway_with_an_agent_stream_open_stops_gracefully_within_5_seconds()
    {
        await using var silo = MeshProcess.StartSilo(coHostGateway: false);
        await silo.WaitReadyAsync();
        await using var gateway = MeshProcess.StartGateway(localGatewayPort: silo.GatewayPort);
        await gateway.WaitReadyAsync();
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(gateway.GrpcUrl);
        await using var agent = await StreamAgent.ConnectAsync(channel, JobCalls.Unique("stop"), JobCalls.Unique("cap"));

        var took = await Signals.TerminateAsync(Process.GetProcessById(gateway.ProcessId), Patience);
        output.WriteLine($"standalone gateway stopped in {took.TotalSeconds:0.00} s");

        AssertGraceful("gateway", took, gateway.ExitCode, gateway.Output);
    }

    [Fact]
    public async Task The_agent_simulator_stops_gracefully_within_5_seconds()
    {
        await using var silo = MeshProcess.StartSilo();
        await silo.WaitReadyAsync();
        var prefix = JobCalls.Unique("simstop") + "-";
        await using var sim = new PlainProcess("AgentSim",
            [$"--Sim:Endpoint={silo.GrpcUrl}", "--Sim:Count=5", $"--Sim:IdPrefix={prefix}", $"--Sim:EnrollmentToken={MeshProcess.EnrollmentToken}"]);
        using var api = new MeshApi(silo);
        var connected = await Eventually.WaitAsync(async () =>
            (await MeshApi.JsonAsync(await api.Operator.GetAsync("/v1/agents?owner=platform&limit=1000")))["agents"]!.AsArray()
                .Count(a => a!["agentId"]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal) && a["state"]!.GetValue<string>() == "Healthy"),
            count => count == 5, TimeSpan.FromSeconds(60));
        Assert.Equal(5, connected);

        var took = await sim.TerminateAsync(Patience);
        output.WriteLine($"simulator stopped in {took.TotalSeconds:0.00} s");

        Assert.True(took < Bound, $"The simulator took {took.TotalSeconds:0.0} s to stop.\n{sim.Output}");
        Assert.Equal(0, sim.ExitCode);
        Assert.Contains("AgentSim stopped gracefully", sim.Output, StringComparison.Ordinal);
    }

    internal static void AssertGraceful(string role, TimeSpan took, int exitCode, string log)
    {
        Assert.True(took < Bound, $"The {role} took {took.TotalSeconds:0.0} s to stop.\n{Tail(log)}");
        Assert.Equal(0, exitCode);
        Assert.Contains($"MeshOs {role} stopped gracefully", log, StringComparison.Ordinal);
        Assert.DoesNotContain("non-graceful", log, StringComparison.Ordinal);
    }

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(60));
}

/// <summary>
/// The PostgreSQL mode: a silo stopped with SIGTERM leaves the cluster as it stops, so the others know at once instead
/// of waiting for their probes to declare it dead, as they must for a SIGKILLed silo. Both are measured.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GracefulLeaveTests(PostgresFixture postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task A_stopping_postgres_silo_leaves_the_cluster_at_once_while_a_killed_one_waits_for_the_probes()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var survivor = MeshProcess.StartSilo(database, clusterId: "leave");
        await survivor.WaitReadyAsync();
        using var api = new MeshApi(survivor);

        // Graceful: SIGTERM.
        await using var stopped = MeshProcess.StartSilo(database, clusterId: "leave");
        await stopped.WaitReadyAsync();
        await WaitActiveAsync(api, 2);
        var clock = Stopwatch.StartNew();
        var took = await Signals.TerminateAsync(Process.GetProcessById(stopped.ProcessId), TimeSpan.FromSeconds(40));
        await WaitActiveAsync(api, 1);
        var gracefulGone = clock.Elapsed;
        ShutdownTests.AssertGraceful("silo+gateway", took, stopped.ExitCode, stopped.Output);

        // Not graceful: SIGKILL.
        await using var killed = MeshProcess.StartSilo(database, clusterId: "leave");
        await killed.WaitReadyAsync();
        await WaitActiveAsync(api, 2);
        clock.Restart();
        killed.Kill();
        await WaitActiveAsync(api, 1);
        var killedGone = clock.Elapsed;

        output.WriteLine($"graceful stop: exited in {took.TotalSeconds:0.00} s, out of the survivor's view after {gracefulGone.TotalSeconds:0.00} s; " +
            $"SIGKILL: out of the survivor's view after {killedGone.TotalSeconds:0.00} s");

        // A graceful leave is announced (the stopping silo writes itself Dead and tells the others); a killed silo is
        // found by the probes: ProbeTimeout 2 s × NumMissedProbesLimit 2 at the defaults.
        Assert.True(gracefulGone < TimeSpan.FromSeconds(5), $"The survivor saw the stopped silo leave only after {gracefulGone.TotalSeconds:0.0} s.");
    }

    /// <summary>
    /// Waits until the survivor's own membership view counts <paramref name="silos"/> active silos. Read from /health's
    /// cluster check, which asks only the local membership (a /status also counts agents and jobs through grains that
    /// may still be moving off the departing silo, which would time the move, not the membership).
    /// </summary>
    private static async Task WaitActiveAsync(MeshApi api, int silos)
    {
        var active = await Eventually.WaitAsync(
            async () => (await MeshApi.JsonAsync(await api.Anonymous.GetAsync("/health")))["checks"]!.AsArray()
                .Single(c => c!["name"]!.GetValue<string>() == "cluster")!["data"]!["activeSilos"]!.GetValue<int>(),
            count => count == silos, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        Assert.Equal(silos, active);
    }
}
