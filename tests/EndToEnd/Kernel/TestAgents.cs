using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Grpc.Core;
using MeshOs.AgentSdk;
using MeshOs.Grpc.V1;
using MeshOs.Testing;

namespace MeshOs.Tests.EndToEnd.Kernel;

/// <summary>
/// An agent that speaks the REST agent protocol (/v1/agent/*) step by step, as the test drives it. It heartbeats only
/// when told to (<see cref="HeartbeatAsync"/> or <see cref="StartHeartbeats"/>), so a test can let its leases lapse.
/// </summary>
public sealed class RestAgent : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly List<(string JobId, long Epoch)> _held = [];
    private CancellationTokenSource? _heartbeats;
    private Task _heartbeatLoop = Task.CompletedTask;

    /// <param name="credentials">An HTTP client presenting the enrollment token (platform agents) or a tenant key.</param>
    public RestAgent(HttpClient credentials, string agentId)
    {
        _client = credentials;
        AgentId = agentId;
    }

    public string AgentId { get; }

    /// <summary>An HTTP client for MeshOs that presents the platform enrollment token.</summary>
    public static HttpClient EnrollmentClient(MeshApi api)
    {
        var client = api.Client(null);
        client.DefaultRequestHeaders.Add("x-enrollment-token", MeshProcess.EnrollmentToken);
        return client;
    }

    public Task<HttpResponseMessage> RegisterAsync(string capability, string pool = "platform", int maxConcurrency = 1, string region = "local",
        string[]? certifications = null) =>
        _client.PostAsync("/v1/agent/register", JobCalls.Json(new
        {
            agentId = AgentId,
            pool,
            capabilities = new[] { capability },
            maxConcurrency,
            version = "rest-test",
            region,
            costPerHour = 0.5,
            certifications = certifications ?? [],
        }));

    /// <summary>Registers and expects 200; returns the answer.</summary>
    public async Task<JsonNode> RegisterOkAsync(string capability, string pool = "platform", int maxConcurrency = 1, string region = "local",
        string[]? certifications = null) =>
        (await MeshApi.EnsureAsync(await RegisterAsync(capability, pool, maxConcurrency, region, certifications), HttpStatusCode.OK))!;

    /// <summary>Long-polls for up to <paramref name="slots"/> jobs; returns the assignments (none when the wait ran out).</summary>
    public async Task<List<JsonNode>> LeaseAsync(int slots = 1, double waitSeconds = 15)
    {
        var response = await _client.PostAsync($"/v1/agent/{AgentId}/lease", JobCalls.Json(new { slots, waitSeconds }));
        var body = (await MeshApi.EnsureAsync(response, HttpStatusCode.OK))!;
        var assignments = body["assignments"]!.AsArray().Select(a => a!).ToList();
        lock (_held)
        {
            _held.AddRange(assignments.Select(a => (a["jobId"]!.GetValue<string>(), a["epoch"]!.GetValue<long>())));
        }

        return assignments;
    }

    /// <summary>
    /// Leases until one assignment arrives (each poll waits up to a few seconds); fails after <paramref name="timeout"/>.
    /// Each poll follows a heartbeat, as a live agent's would: a poll never finds the agent Unresponsive because the
    /// background heartbeats were late on a busy machine.
    /// </summary>
    public async Task<JsonNode> LeaseOneAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            await HeartbeatAsync();
            var assignments = await LeaseAsync(1, Math.Min(5, Math.Max(0.5, (deadline - DateTime.UtcNow).TotalSeconds)));
            if (assignments.Count > 0)
            {
                return Assert.Single(assignments);
            }
        }

        throw new TimeoutException($"Agent {AgentId} got no assignment within {timeout.TotalSeconds:0} s.");
    }

    public Task<HttpResponseMessage> StartAsync(string jobId, long epoch) =>
        _client.PostAsync($"/v1/agent/{AgentId}/jobs/{jobId}/start", JobCalls.Json(new { epoch }));

    public Task<HttpResponseMessage> CompleteAsync(string jobId, long epoch, string resultJson, long tokensIn = 0, long tokensOut = 0, decimal cost = 0) =>
        _client.PostAsync($"/v1/agent/{AgentId}/jobs/{jobId}/complete", JobCalls.Json(
            $$"""{"epoch":{{epoch}},"result":{{resultJson}},"tokensIn":{{tokensIn}},"tokensOut":{{tokensOut}},"cost":{{cost.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}"""));

    public Task<HttpResponseMessage> FailAsync(string jobId, long epoch, string error, bool retryable) =>
        _client.PostAsync($"/v1/agent/{AgentId}/jobs/{jobId}/fail", JobCalls.Json(new { epoch, error, retryable, tokensIn = 0, tokensOut = 0, cost = 0 }));

    /// <summary>One heartbeat listing the leases this agent took; returns the answer.</summary>
    public async Task<JsonNode> HeartbeatAsync()
    {
        object[] inFlight;
        lock (_held)
        {
            inFlight = [.. _held.Select(h => new { jobId = h.JobId, epoch = h.Epoch })];
        }

        var response = await _client.PostAsync($"/v1/agent/{AgentId}/heartbeat", JobCalls.Json(new { load = 0.5, inFlight }));
        return (await MeshApi.EnsureAsync(response, HttpStatusCode.OK))!;
    }

    /// <summary>Heartbeats every 500 ms in the background until disposed, as a live agent does.</summary>
    public void StartHeartbeats()
    {
        _heartbeats = new CancellationTokenSource();
        var token = _heartbeats.Token;
        _heartbeatLoop = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await HeartbeatAsync();
                    await Task.Delay(TimeSpan.FromMilliseconds(500), token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>Forgets a lease (the job finished), so heartbeats stop listing it.</summary>
    public void Drop(string jobId)
    {
        lock (_held)
        {
            _held.RemoveAll(h => h.JobId == jobId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_heartbeats is not null)
        {
            await _heartbeats.CancelAsync();
            await _heartbeatLoop;
            _heartbeats.Dispose();
        }
    }
}

/// <summary>
/// An agent on a raw AgentChannel.Connect stream, driven message by message (no SDK): it heartbeats, asks for work and
/// reports only when told to. Messages from the mesh are sorted into assignments and report acks.
/// </summary>
public sealed class StreamAgent : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<AgentMessage, MeshMessage> _call;
    private readonly Channel<Assignment> _assignments = Channel.CreateUnbounded<Assignment>();
    private readonly Channel<ReportAck> _acks = Channel.CreateUnbounded<ReportAck>();
    private readonly Channel<Registered> _registered = Channel.CreateUnbounded<Registered>();
    private readonly Channel<HeartbeatAck> _heartbeatAcks = Channel.CreateUnbounded<HeartbeatAck>();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Task _reader;

    private StreamAgent(AsyncDuplexStreamingCall<AgentMessage, MeshMessage> call, string agentId)
    {
        _call = call;
        AgentId = agentId;
        _reader = Task.Run(ReadAsync);
    }

    public string AgentId { get; }

    /// <summary>Opens the stream with the enrollment token, registers and waits for the mesh's Registered.</summary>
    public static async Task<StreamAgent> ConnectAsync(global::Grpc.Net.Client.GrpcChannel channel, string agentId, string capability, int maxConcurrency = 1)
    {
        var client = new AgentChannel.AgentChannelClient(channel);
        var call = client.Connect(new Metadata { { "x-enrollment-token", MeshProcess.EnrollmentToken } });
        var agent = new StreamAgent(call, agentId);
        var register = new Register { AgentId = agentId, Pool = "platform", MaxConcurrency = maxConcurrency, Version = "stream-test", Region = "local" };
        register.Capabilities.Add(capability);
        await agent.SendAsync(new AgentMessage { Register = register });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var registered = await agent._registered.Reader.ReadAsync(timeout.Token);
        Assert.Equal(agentId, registered.AgentId);
        Assert.Equal(MeshOs.Grpc.V1.AgentState.Healthy, registered.State);
        return agent;
    }

    public Task RequestLeasesAsync(int slots) => SendAsync(new AgentMessage { LeaseRequest = new LeaseRequest { Slots = slots } });

    public async Task<Assignment> NextAssignmentAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        return await _assignments.Reader.ReadAsync(cancel.Token);
    }

    /// <summary>A heartbeat listing <paramref name="leases"/> as in flight (renews them).</summary>
    public Task HeartbeatAsync(params (string JobId, long Epoch)[] leases)
    {
        var heartbeat = new Heartbeat { Load = 0.5 };
        heartbeat.InFlight.AddRange(leases.Select(l => new LeaseRef { JobId = l.JobId, Epoch = l.Epoch }));
        return SendAsync(new AgentMessage { Heartbeat = heartbeat });
    }

    /// <summary>
    /// Reports the job started under <paramref name="epoch"/>. The mesh answers a start only to refuse it: returns
    /// that refusal, or an accepting answer when none came within a second.
    /// </summary>
    public async Task<ReportAck> StartedAsync(string jobId, long epoch)
    {
        await SendAsync(new AgentMessage { Started = new JobStarted { JobId = jobId, Epoch = epoch } });
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            var ack = await _acks.Reader.ReadAsync(quiet.Token);
            Assert.Equal(jobId, ack.JobId);
            Assert.Equal(epoch, ack.Epoch);
            Assert.True(ack.ForStart, "the answer to a start must say so");
            return ack;
        }
        catch (OperationCanceledException)
        {
            return new ReportAck { JobId = jobId, Epoch = epoch, Accepted = true, ForStart = true };
        }
    }

    /// <summary>Reports a successful result under <paramref name="epoch"/>; returns the mesh's acknowledgement.</summary>
    public async Task<ReportAck> SucceededAsync(string jobId, long epoch, string resultJson, long tokensIn = 0, long tokensOut = 0, double cost = 0)
    {
        await SendSucceededAsync(jobId, epoch, resultJson, tokensIn, tokensOut, cost);
        return await NextAckAsync(jobId, epoch);
    }

    /// <summary>Sends a successful result without waiting for its acknowledgement (see <see cref="NextAckAsync"/>).</summary>
    public Task SendSucceededAsync(string jobId, long epoch, string resultJson, long tokensIn = 0, long tokensOut = 0, double cost = 0) =>
        SendAsync(new AgentMessage
        {
            Result = new MeshOs.Grpc.V1.JobResult
            {
                JobId = jobId,
                Epoch = epoch,
                Succeeded = true,
                ResultJson = resultJson,
                TokensIn = tokensIn,
                TokensOut = tokensOut,
                Cost = cost,
            },
        });

    /// <summary>The next report acknowledgement, which must be for <paramref name="jobId"/> under <paramref name="epoch"/>.</summary>
    public async Task<ReportAck> NextAckAsync(string jobId, long epoch)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ack = await _acks.Reader.ReadAsync(cancel.Token);
        Assert.Equal(jobId, ack.JobId);
        Assert.Equal(epoch, ack.Epoch);
        return ack;
    }

    public async Task<HeartbeatAck> NextHeartbeatAckAsync()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _heartbeatAcks.Reader.ReadAsync(cancel.Token);
    }

    private async Task SendAsync(AgentMessage message)
    {
        await _writeGate.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(message);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var message in _call.ResponseStream.ReadAllAsync())
            {
                switch (message.BodyCase)
                {
                    case MeshMessage.BodyOneofCase.Registered:
                        _registered.Writer.TryWrite(message.Registered);
                        break;
                    case MeshMessage.BodyOneofCase.Assignment:
                        _assignments.Writer.TryWrite(message.Assignment);
                        break;
                    case MeshMessage.BodyOneofCase.ReportAck:
                        _acks.Writer.TryWrite(message.ReportAck);
                        break;
                    case MeshMessage.BodyOneofCase.HeartbeatAck:
                        _heartbeatAcks.Writer.TryWrite(message.HeartbeatAck);
                        break;
                }
            }
        }
        catch (RpcException)
        {
            // The stream ended (disposed, or the mesh went away).
        }
        finally
        {
            _assignments.Writer.TryComplete();
            _acks.Writer.TryComplete();
            _registered.Writer.TryComplete();
            _heartbeatAcks.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
        }

        _call.Dispose();
        await _reader;
        _writeGate.Dispose();
    }
}

/// <summary>A <see cref="MeshAgent"/> (the SDK) running in the background for the length of a test.</summary>
public sealed class SdkAgent : IAsyncDisposable
{
    private SdkAgent(MeshAgent agent)
    {
        Agent = agent;
        Run = Task.Run(() => agent.RunAsync());
    }

    public MeshAgent Agent { get; }

    public Task Run { get; }

    /// <summary>Starts an agent of the platform pool on <paramref name="endpoint"/> (gRPC) with the enrollment token.</summary>
    public static SdkAgent Start(Uri endpoint, string agentId, string capability, int maxConcurrency,
        Func<AgentJob, CancellationToken, Task<JobOutcome>> handler) =>
        new(new MeshAgent(new MeshAgentOptions
        {
            Endpoint = endpoint,
            AgentId = agentId,
            Pool = "platform",
            Capabilities = [capability],
            MaxConcurrency = maxConcurrency,
            Version = "sdk-test",
            Region = "local",
            EnrollmentToken = MeshProcess.EnrollmentToken,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
        }, handler));

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await Run;
    }
}
