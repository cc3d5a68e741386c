using System.Diagnostics;
using MeshOs.AgentSim;
using MeshOs.Grpc.V1;
using MeshOs.Tests.AgentSdk.Support;

namespace MeshOs.Tests.AgentSdk;

/// <summary>The simulator against a mesh that acknowledges everything: crashes, restarts and failure rates.</summary>
public sealed class SimulatedFleetTests : IAsyncLifetime
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(50);

    private ScriptedMesh _mesh = null!;
    private SimulatedFleet? _fleet;

    public async Task InitializeAsync() => _mesh = await ScriptedMesh.StartAsync();

    public async Task DisposeAsync()
    {
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }

        await _mesh.DisposeAsync();
    }

    [Fact]
    public async Task A_killed_agent_sends_no_heartbeats_until_it_is_restarted()
    {
        await StartAsync(Options(count: 1));
        var pilot = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        Assert.Equal("sim-001", (await pilot.Registered).AgentId);
        await pilot.WaitForHeartbeatsAsync(2);

        await _fleet!.KillAsync("sim-001");
        Assert.Equal(ClientEnd.Reset, await pilot.Connection.ClientEnded);
        var beatsAtDeath = pilot.Heartbeats;

        // Ten heartbeat intervals of silence: no beat on the dead stream, no new stream.
        Assert.Null(await _mesh.TryNextConnectionAsync(Heartbeat * 10));
        Assert.Equal(beatsAtDeath, pilot.Heartbeats);
        var dead = _fleet.GetAgentStats("sim-001");
        Assert.Equal((SimulatedAgentStatus.Crashed, false, 1L, 0L), (dead.Status, dead.Connected, dead.Crashes, dead.Restarts));

        await _fleet.RestartAsync("sim-001");
        var revived = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        Assert.Equal("sim-001", (await revived.Registered).AgentId);
        await revived.WaitForHeartbeatsAsync(1);
        var alive = _fleet.GetAgentStats("sim-001");
        Assert.Equal((SimulatedAgentStatus.Running, 1L, 1L, 2L), (alive.Status, alive.Crashes, alive.Restarts, alive.Registrations));
    }

    [Fact]
    public async Task With_crash_rate_one_the_agent_crashes_mid_job_and_comes_back_after_the_restart_delay()
    {
        var options = Options(count: 1);
        options.CrashRate = 1;
        options.RestartDelay = TimeSpan.FromMilliseconds(300);
        await StartAsync(options);
        var pilot = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        await pilot.Registered;

        // The crash may come before the start is on the wire: what counts is that no result ever is. The clock starts
        // before the job is sent, so it covers the whole restart delay however late this test sees the crash.
        var sent = Stopwatch.StartNew();
        pilot.Connection.Assign(Guid.NewGuid(), 1);
        Assert.Equal(ClientEnd.Reset, await pilot.Connection.ClientEnded);
        await pilot.Finished;
        Assert.False(await pilot.Results.WaitToReadAsync());

        var revived = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        await revived.Registered;
        Assert.True(sent.Elapsed >= options.RestartDelay, $"back {sent.Elapsed.TotalMilliseconds:0} ms after the job that crashed it was sent");
        var stats = _fleet!.GetStats();
        Assert.Equal((1L, 1L, 0L, 0L), (stats.Crashes, stats.Restarts, stats.Completed, stats.Failed));
    }

    [Fact]
    public async Task With_failure_rate_one_every_result_is_a_retryable_failure()
    {
        var options = Options(count: 2);
        options.FailureRate = 1;
        await StartAsync(options);
        var pilots = new[] { AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat), AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat) };
        foreach (var pilot in pilots)
        {
            await pilot.Registered;
            for (var i = 0; i < 3; i++)
            {
                pilot.Connection.Assign(Guid.NewGuid(), 1, payload: """{"prompt":"hello world"}""");
            }
        }

        foreach (var pilot in pilots)
        {
            for (var i = 0; i < 3; i++)
            {
                var result = await pilot.NextResultAsync();
                Assert.Equal((false, "simulated failure", true, ""), (result.Succeeded, result.Error, result.Retryable, result.ResultJson));
                Assert.Equal((6L, 19L), (result.TokensIn, result.TokensOut));
            }
        }

        await Eventually.TrueAsync(() => _fleet!.GetStats().Failed == 6, "six failures to count");
        Assert.Equal(0, _fleet!.GetStats().Completed);
    }

    [Fact]
    public async Task A_successful_job_echoes_its_payload_with_the_agent_id()
    {
        await StartAsync(Options(count: 1));
        var pilot = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        await pilot.Registered;
        pilot.Connection.Assign(Guid.NewGuid(), 1, payload: """{"prompt":"hi"}""");

        var result = await pilot.NextResultAsync();
        Assert.Equal((true, """{"echo":{"prompt":"hi"},"agent":"sim-001"}"""), (result.Succeeded, result.ResultJson));
        await Eventually.TrueAsync(() => _fleet!.GetStats().Completed == 1, "the result to count");
    }

    [Fact]
    public async Task Restart_command_restarts_the_simulated_process()
    {
        var options = Options(count: 1);
        options.LatencyMs = 60_000;
        await StartAsync(options);
        var pilot = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        await pilot.Registered;
        pilot.Connection.Assign(Guid.NewGuid(), 1);
        await pilot.NextStartAsync();

        pilot.Connection.Command(CommandKind.Restart, reason: "operator remediation");
        Assert.Equal(ClientEnd.Reset, await pilot.Connection.ClientEnded);
        await pilot.Finished;
        Assert.False(await pilot.Results.WaitToReadAsync());

        var revived = AutoPilot.Fly(await _mesh.NextConnectionAsync(), Heartbeat);
        await revived.Registered;
        await revived.WaitForHeartbeatsAsync(1);
        var stats = _fleet!.GetAgentStats("sim-001");
        Assert.Equal((SimulatedAgentStatus.Running, 0L, 1L, 0), (stats.Status, stats.Crashes, stats.Restarts, stats.InFlight));
    }

    private SimulationOptions Options(int count) => new()
    {
        Endpoint = _mesh.Endpoint,
        Count = count,
        Concurrency = 3,
        LatencyMs = 10,
        LatencyJitterMs = 0,
        EnrollmentToken = "token-1",
        ReconnectMinDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(100),
        Seed = 7,
    };

    private async Task StartAsync(SimulationOptions options)
    {
        _fleet = new SimulatedFleet(options);
        await _fleet.StartAsync();
    }
}
