using Grpc.Core;
using MeshOs.AgentSdk;
using MeshOs.Grpc.V1;
using MeshOs.Tests.AgentSdk.Support;

namespace MeshOs.Tests.AgentSdk;

/// <summary>The SDK against a scripted mesh: every message the agent sends is read and checked in order.</summary>
public sealed class MeshAgentTests : IAsyncLifetime
{
    // Long enough that no periodic heartbeat interleaves with a scripted exchange.
    private static readonly TimeSpan Quiet = TimeSpan.FromHours(1);
    private static readonly TimeSpan Fast = TimeSpan.FromMilliseconds(50);

    private readonly GatedHandler _handler = new();
    private readonly CancellationTokenSource _stop = new();
    private ScriptedMesh _mesh = null!;
    private MeshAgent? _agent;

    public async Task InitializeAsync() => _mesh = await ScriptedMesh.StartAsync();

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        await _mesh.DisposeAsync();
        _stop.Dispose();
    }

    [Fact]
    public async Task Registers_first_with_its_declaration_then_asks_for_max_concurrency()
    {
        var options = Options(maxConcurrency: 3);
        options.Capabilities = ["echo", "summarize"];
        options.Version = "1.2.3";
        options.Region = "eu-west";
        options.CostPerHour = 0.25;
        Start(options);

        var connection = await _mesh.NextConnectionAsync();
        Assert.Equal("token-1", connection.Headers.GetValue("x-enrollment-token"));
        Assert.Null(connection.Headers.Get("x-api-key"));
        var register = await connection.AcceptRegistrationAsync(Quiet);
        var expected = new Register { AgentId = "agent-1", Pool = "platform", MaxConcurrency = 3, Version = "1.2.3", Region = "eu-west", CostPerHour = 0.25 };
        expected.Capabilities.Add(["echo", "summarize"]);
        Assert.Equal(expected, register);

        var lease = await connection.ReceiveAsync();
        Assert.Equal(new LeaseRequest { Slots = 3 }, lease.LeaseRequest);
        Assert.True(_agent!.Connected);
        Assert.Equal(AgentState.Healthy, _agent.State);
        Assert.Equal(1, _agent.Registrations);
    }

    [Fact]
    public async Task A_tenant_agent_authenticates_with_its_api_key()
    {
        var options = Options();
        options.EnrollmentToken = null;
        options.ApiKey = "mk.acme.0123456789ab.abcdefghijklmnopqrstuvwxyz";
        options.Pool = "acme/gpu";
        Start(options);

        var connection = await _mesh.NextConnectionAsync();
        Assert.Equal("mk.acme.0123456789ab.abcdefghijklmnopqrstuvwxyz", connection.Headers.GetValue("x-api-key"));
        Assert.Null(connection.Headers.Get("x-enrollment-token"));
        Assert.Equal("acme/gpu", (await connection.AcceptRegistrationAsync(Quiet)).Pool);
    }

    [Fact]
    public async Task An_assignment_is_started_then_reported_with_the_same_epoch()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 7, payload: """{"x":1}""", timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(new JobStarted { JobId = jobId.ToString(), Epoch = 7 }, (await connection.ReceiveAsync()).Started);
        Assert.Equal(new AgentJob(jobId, 7, "acme", "echo", "echo", """{"x":1}""", 1, TimeSpan.FromMinutes(1)), await _handler.StartedAsync());
        connection.Ack(jobId, 7);

        _handler.Complete(jobId, JobOutcome.Success("""{"ok":true}""", tokensIn: 10, tokensOut: 20, cost: 0.5));
        var result = (await connection.ReceiveAsync()).Result;
        Assert.Equal(new JobResult
        {
            JobId = jobId.ToString(), Epoch = 7, Succeeded = true, ResultJson = """{"ok":true}""", TokensIn = 10, TokensOut = 20, Cost = 0.5,
        }, result);

        Assert.Equal(1, _agent!.InFlight);
        connection.Ack(jobId, 7);
        await Eventually.TrueAsync(() => _agent.Completed == 1, "the accepted result to count");
        Assert.Equal((0, 0, 0), (_agent.InFlight, _agent.Failed, _agent.Refused));
    }

    [Fact]
    public async Task Metered_usage_goes_with_the_result()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 3, payload: "{}", timeout: TimeSpan.FromMinutes(1));
        await connection.ReceiveAsync(); // started
        await _handler.StartedAsync();
        connection.Ack(jobId, 3);

        _handler.Complete(jobId, JobOutcome.Success("{}").WithMetered(
            new MeshOs.Abstractions.Cost.MeteredUsage("tokens_in", 1250, "big-model"), new MeshOs.Abstractions.Cost.MeteredUsage("gpu_seconds", 0.5m)));
        var result = (await connection.ReceiveAsync()).Result;

        Assert.Equal([("tokens_in", "1250", "big-model"), ("gpu_seconds", "0.5", "")], result.Metered.Select(m => (m.Unit, m.Quantity, m.Model)));
    }

    [Fact]
    public async Task A_refused_result_drops_the_job_and_is_never_sent_again()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 3);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);
        connection.Ack(jobId, 3);
        _handler.Complete(jobId, JobOutcome.Success("{}"));
        Assert.Equal(AgentMessage.BodyOneofCase.Result, (await connection.ReceiveAsync()).BodyCase);

        connection.Ack(jobId, 3, accepted: false, error: "stale epoch");
        await Eventually.TrueAsync(() => _agent!.Refused == 1, "the refusal to count");
        Assert.Equal((0, 0L), (_agent!.InFlight, _agent.Completed));

        // A result still held would be sent again after a reconnection: nothing comes before the first heartbeat.
        connection.Abort();
        var next = await _mesh.NextConnectionAsync();
        await next.AcceptRegistrationAsync(Fast);
        Assert.Equal(new LeaseRequest { Slots = 2 }, (await next.ReceiveAsync()).LeaseRequest);
        var heartbeat = await next.ReceiveAsync();
        Assert.Equal(AgentMessage.BodyOneofCase.Heartbeat, heartbeat.BodyCase);
        Assert.Empty(heartbeat.Heartbeat.InFlight);
    }

    [Fact]
    public async Task A_refused_start_cancels_the_handler_and_nothing_is_reported()
    {
        var connection = await StartRegisteredAsync(Fast);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 5);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);

        connection.Ack(jobId, 5, accepted: false, error: "stale epoch");
        Assert.Equal(jobId, await _handler.CancelledAsync());
        var (_, before) = await connection.ReceiveHeartbeatAsync(h => h.InFlight.Count == 0);
        Assert.Empty(before);
        Assert.Equal(1, _agent!.Refused);
    }

    [Fact]
    public async Task A_revoked_lease_cancels_the_handler_and_no_result_is_sent()
    {
        var connection = await StartRegisteredAsync(Fast);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 1);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);
        await _handler.StartedAsync();
        await connection.ReceiveHeartbeatAsync(h => h.InFlight.Count == 1);

        connection.AckHeartbeat(AgentState.Healthy, (jobId, 1));
        Assert.Equal(jobId, await _handler.CancelledAsync());
        var (_, before) = await connection.ReceiveHeartbeatAsync(h => h.InFlight.Count == 0);
        Assert.Empty(before);
        await Eventually.TrueAsync(() => _agent!.InFlight == 0, "the revoked job to be gone");
        Assert.Equal((1L, 0L, 0L), (_agent!.Cancelled, _agent.Completed, _agent.Failed));
    }

    [Fact]
    public async Task Cancel_job_cancels_the_handler_and_no_result_is_sent()
    {
        var connection = await StartRegisteredAsync(Fast);
        MeshCommandEventArgs? seen = null;
        _agent!.CommandReceived += (_, e) => seen = e;
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 2);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);
        await _handler.StartedAsync();

        connection.Command(CommandKind.CancelJob, jobId, reason: "tenant cancelled");
        Assert.Equal(jobId, await _handler.CancelledAsync());
        var (_, before) = await connection.ReceiveHeartbeatAsync(h => h.InFlight.Count == 0);
        Assert.Empty(before);
        Assert.Equal((CommandKind.CancelJob, (Guid?)jobId, "tenant cancelled"), (seen!.Kind, seen.JobId, seen.Reason));
        Assert.Equal(1, _agent.Cancelled);
    }

    [Fact]
    public async Task A_cancel_about_an_earlier_lease_leaves_the_run_under_a_later_lease_alone()
    {
        var connection = await StartRegisteredAsync(Quiet);
        MeshCommandEventArgs? seen = null;
        _agent!.CommandReceived += (_, e) => seen = e;
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 2);
        Assert.Equal(new JobStarted { JobId = jobId.ToString(), Epoch = 2 }, (await connection.ReceiveAsync()).Started);
        await _handler.StartedAsync();

        // The lease lapsed and the job came back to this agent under epoch 3: the run in hand carries on under it.
        connection.Assign(jobId, epoch: 3);
        Assert.Equal(new JobStarted { JobId = jobId.ToString(), Epoch = 3 }, (await connection.ReceiveAsync()).Started);

        // The cancel of the first lease (its timeout, say) arrives late: it must not stop the run under epoch 3.
        connection.Command(CommandKind.CancelJob, jobId, reason: "timed out", epoch: 2);
        await Eventually.TrueAsync(() => seen is not null, "the command to arrive");
        Assert.Equal((CommandKind.CancelJob, (Guid?)jobId, 2L), (seen!.Kind, seen.JobId, seen.Epoch));
        _handler.Complete(jobId, JobOutcome.Success("""{"run":3}"""));
        AgentMessage next;
        do
        {
            next = await connection.ReceiveSkippingHeartbeatsAsync(); // lease requests may come first: credits are rebalanced
        }
        while (next.BodyCase == AgentMessage.BodyOneofCase.LeaseRequest);

        Assert.Equal(AgentMessage.BodyOneofCase.Result, next.BodyCase);
        Assert.Equal((jobId.ToString(), 3L, true, """{"run":3}"""), (next.Result.JobId, next.Result.Epoch, next.Result.Succeeded, next.Result.ResultJson));
        Assert.Equal(0, _agent.Cancelled);
    }

    [Fact]
    public async Task A_cancel_about_the_lease_in_hand_cancels_its_run()
    {
        var connection = await StartRegisteredAsync(Fast);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 4);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);
        await _handler.StartedAsync();

        connection.Command(CommandKind.CancelJob, jobId, reason: "cancelled", epoch: 4);
        Assert.Equal(jobId, await _handler.CancelledAsync());
        var (_, before) = await connection.ReceiveHeartbeatAsync(h => h.InFlight.Count == 0);
        Assert.Empty(before);
        Assert.Equal(1, _agent!.Cancelled);
    }

    [Fact]
    public async Task Drain_stops_new_work_and_ends_the_run_once_the_jobs_in_hand_are_reported()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var (first, second, late) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        connection.Assign(first, 1);
        connection.Assign(second, 2);
        Assert.Equal(first.ToString(), (await connection.ReceiveAsync()).Started.JobId);
        Assert.Equal(second.ToString(), (await connection.ReceiveAsync()).Started.JobId);
        connection.Ack(first, 1);
        connection.Ack(second, 2);

        connection.Command(CommandKind.Drain);
        Assert.Equal(new LeaseRequest { Slots = 0 }, (await connection.ReceiveAsync()).LeaseRequest);
        Assert.True(_agent!.Draining);

        // An assignment that crossed the drain on the wire goes straight back.
        connection.Assign(late, 3);
        Assert.Equal(new JobReleased { JobId = late.ToString(), Epoch = 3, Reason = "agent draining" }, (await connection.ReceiveAsync()).Released);

        // Each result gives a credit back on arrival: the agent takes it away again at once.
        _handler.Complete(first, JobOutcome.Success("1"));
        Assert.Equal(first.ToString(), (await connection.ReceiveAsync()).Result.JobId);
        Assert.Equal(new LeaseRequest { Slots = 0 }, (await connection.ReceiveAsync()).LeaseRequest);
        connection.Ack(first, 1);
        await Eventually.TrueAsync(() => _agent.Completed == 1, "the first result to count");
        Assert.False(Run.IsCompleted);

        _handler.Complete(second, JobOutcome.Success("2"));
        Assert.Equal(second.ToString(), (await connection.ReceiveAsync()).Result.JobId);
        Assert.Equal(new LeaseRequest { Slots = 0 }, (await connection.ReceiveAsync()).LeaseRequest);
        connection.Ack(second, 2);

        await Run.WaitAsync(ScriptedMesh.Patience);
        Assert.Equal(ClientEnd.Completed, await connection.ClientEnded);
        Assert.Equal((2L, 1L, false), (_agent.Completed, _agent.Released, _agent.Connected));
        Assert.Null(await _mesh.TryNextConnectionAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_dropped_stream_leads_to_reregistration_and_running_jobs_report_on_the_new_stream()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 4);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);
        connection.Ack(jobId, 4);
        await _handler.StartedAsync();

        connection.Abort();
        Assert.Equal(ClientEnd.Reset, await connection.ClientEnded);
        var next = await _mesh.NextConnectionAsync();
        Assert.Equal("agent-1", (await next.AcceptRegistrationAsync(Quiet)).AgentId);

        // One slot is still taken by the job of the old stream; its lease is renewed at once.
        Assert.Equal(new LeaseRequest { Slots = 1 }, (await next.ReceiveAsync()).LeaseRequest);
        var heartbeat = (await next.ReceiveAsync()).Heartbeat;
        Assert.Equal([new LeaseRef { JobId = jobId.ToString(), Epoch = 4 }], heartbeat.InFlight);
        Assert.Equal(0.5, heartbeat.Load);

        _handler.Complete(jobId, JobOutcome.Success("{}"));
        var result = (await next.ReceiveAsync()).Result;
        Assert.Equal((jobId.ToString(), 4L, true), (result.JobId, result.Epoch, result.Succeeded));
        next.Ack(jobId, 4);
        await Eventually.TrueAsync(() => _agent!.Completed == 1, "the result to count");
        Assert.Equal(2, _agent!.Registrations);
    }

    [Fact]
    public async Task Heartbeats_list_the_leases_in_hand()
    {
        var connection = await StartRegisteredAsync(Fast, maxConcurrency: 4);
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        connection.Assign(first, 11);
        connection.Assign(second, 12);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveSkippingHeartbeatsAsync()).BodyCase);

        var (heartbeat, _) = await connection.ReceiveHeartbeatAsync(_ => true);
        Assert.Equal(
            new[] { (first.ToString(), 11L), (second.ToString(), 12L) }.Order(),
            heartbeat.InFlight.Select(l => (l.JobId, l.Epoch)).Order());
        Assert.Equal(0.5, heartbeat.Load);
        Assert.Equal(2, heartbeat.Metrics["running"]);
    }

    [Fact]
    public async Task Restart_closes_the_stream_and_registers_again()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var seen = new TaskCompletionSource<CommandKind>();
        _agent!.CommandReceived += (_, e) => seen.TrySetResult(e.Kind);

        connection.Command(CommandKind.Restart);
        Assert.Equal(CommandKind.Restart, await seen.Task.WaitAsync(ScriptedMesh.Patience));
        Assert.Equal(ClientEnd.Completed, await connection.ClientEnded);
        var next = await _mesh.NextConnectionAsync();
        await next.AcceptRegistrationAsync(Quiet);
        Assert.Equal(new LeaseRequest { Slots = 2 }, (await next.ReceiveAsync()).LeaseRequest);
        Assert.Equal(2, _agent.Registrations);
    }

    [Fact]
    public async Task An_offline_heartbeat_ack_makes_the_agent_register_again()
    {
        var connection = await StartRegisteredAsync(Fast);
        await connection.ReceiveHeartbeatAsync(_ => true);

        connection.AckHeartbeat(AgentState.Offline);
        Assert.Equal(ClientEnd.Completed, await connection.ClientEnded);
        var next = await _mesh.NextConnectionAsync();
        Assert.Equal("agent-1", (await next.AcceptRegistrationAsync(Quiet)).AgentId);
    }

    [Fact]
    public async Task A_handler_exception_becomes_a_retryable_failure()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 9);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);
        connection.Ack(jobId, 9);

        _handler.Fail(jobId, new InvalidOperationException("model unavailable"));
        Assert.Equal(
            new JobResult { JobId = jobId.ToString(), Epoch = 9, Succeeded = false, Error = "model unavailable", Retryable = true },
            (await connection.ReceiveAsync()).Result);
        connection.Ack(jobId, 9);
        await Eventually.TrueAsync(() => _agent!.Failed == 1, "the failure to count");
    }

    [Fact]
    public async Task A_handler_that_outlives_the_job_timeout_is_cancelled_and_reported_as_timed_out()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 1, timeout: TimeSpan.FromMilliseconds(100));
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);

        Assert.Equal(jobId, await _handler.CancelledAsync());
        Assert.Equal(
            new JobResult { JobId = jobId.ToString(), Epoch = 1, Succeeded = false, Error = "job timed out after 0.1 s", Retryable = true },
            (await connection.ReceiveAsync()).Result);
    }

    [Fact]
    public async Task Stopping_releases_running_jobs_and_closes_the_stream_gracefully()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 6);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);
        await _handler.StartedAsync();

        await _stop.CancelAsync();
        Assert.Equal(new JobReleased { JobId = jobId.ToString(), Epoch = 6, Reason = "agent shutting down" }, (await connection.ReceiveAsync()).Released);
        Assert.Equal(new LeaseRequest { Slots = 0 }, (await connection.ReceiveAsync()).LeaseRequest);
        Assert.Empty(await connection.ReceiveRestAsync());
        Assert.Equal(ClientEnd.Completed, await connection.ClientEnded);
        await Run.WaitAsync(ScriptedMesh.Patience);
        Assert.Equal((false, AgentState.Offline), (_agent!.Connected, _agent.State));
    }

    [Fact]
    public async Task Abort_resets_the_stream_without_a_word()
    {
        var connection = await StartRegisteredAsync(Quiet);
        var jobId = Guid.NewGuid();
        connection.Assign(jobId, epoch: 6);
        Assert.Equal(AgentMessage.BodyOneofCase.Started, (await connection.ReceiveAsync()).BodyCase);
        await _handler.StartedAsync();

        await _agent!.AbortAsync();
        Assert.True(Run.IsCompleted);
        Assert.Equal(ClientEnd.Reset, await connection.ClientEnded);
        Assert.Empty(await connection.ReceiveRestAsync());
        Assert.Equal(jobId, await _handler.CancelledAsync());
        Assert.Null(await _mesh.TryNextConnectionAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task A_rejected_registration_ends_the_run_with_the_mesh_error()
    {
        Start(Options());
        var connection = await _mesh.NextConnectionAsync();
        await connection.ReceiveAsync();
        connection.End(new Status(StatusCode.Unauthenticated, "bad enrollment token"));

        var error = await Assert.ThrowsAsync<RpcException>(() => Run.WaitAsync(ScriptedMesh.Patience));
        Assert.Equal((StatusCode.Unauthenticated, "bad enrollment token"), (error.StatusCode, error.Status.Detail));
        Assert.Null(await _mesh.TryNextConnectionAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task An_unavailable_mesh_is_retried()
    {
        Start(Options());
        var connection = await _mesh.NextConnectionAsync();
        await connection.ReceiveAsync();
        connection.End(new Status(StatusCode.Unavailable, "silo starting"));

        var next = await _mesh.NextConnectionAsync();
        await next.AcceptRegistrationAsync(Quiet);
        Assert.Equal(new LeaseRequest { Slots = 2 }, (await next.ReceiveAsync()).LeaseRequest);
        Assert.Equal(1, _agent!.Registrations);
    }

    private Task Run { get; set; } = Task.CompletedTask;

    private MeshAgentOptions Options(int maxConcurrency = 2) => new()
    {
        Endpoint = _mesh.Endpoint,
        AgentId = "agent-1",
        Capabilities = ["echo"],
        MaxConcurrency = maxConcurrency,
        EnrollmentToken = "token-1",
        ReconnectMinDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(100),
        ShutdownTimeout = TimeSpan.FromSeconds(5),
    };

    private void Start(MeshAgentOptions options)
    {
        _agent = new MeshAgent(options, _handler.HandleAsync);
        Run = _agent.RunAsync(_stop.Token);
    }

    private async Task<MeshConnection> StartRegisteredAsync(TimeSpan heartbeatInterval, int maxConcurrency = 2)
    {
        Start(Options(maxConcurrency));
        var connection = await _mesh.NextConnectionAsync();
        await connection.AcceptRegistrationAsync(heartbeatInterval);
        Assert.Equal(new LeaseRequest { Slots = maxConcurrency }, (await connection.ReceiveSkippingHeartbeatsAsync()).LeaseRequest);
        return connection;
    }
}
