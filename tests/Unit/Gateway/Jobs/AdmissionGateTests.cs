using MeshOs.Abstractions;
using MeshOs.Gateway.Jobs;
using Microsoft.Extensions.Time.Testing;

namespace MeshOs.Tests.Unit.Gateway.Jobs;

public sealed class AdmissionGateTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
    private readonly AdmissionGate _gate;

    public AdmissionGateTests() =>
        _gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions()));

    /// <summary>The refusal the gate answers a submit to p/c with now, or null when it lets it in.</summary>
    private static SubmitRefusal? Held(AdmissionGate gate, string pool, string capability)
    {
        var pass = gate.EnterAsync(pool, capability, CancellationToken.None).AsTask().Result;
        pass.Place?.Dispose();
        return pass.Refusal;
    }

    private static MeshException Shed => MeshException.Overloaded("Queue p/c is at capacity", TimeSpan.FromSeconds(2));

    [Fact]
    public void A_queue_refusal_becomes_a_429_with_its_retry_time_and_holds_the_gate()
    {
        var refusal = _gate.OnRefused("p", "c", Shed);

        Assert.Equal(TimeSpan.FromSeconds(2), refusal!.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), Held(_gate, "p", "c")!.RetryAfter);
        Assert.Null(Held(_gate, "p", "other"));
        Assert.Null(Held(_gate, "other", "c"));
    }

    [Fact]
    public void The_gate_opens_after_the_hold()
    {
        _gate.OnRefused("p", "c", Shed);

        _time.Advance(new AdmissionGateOptions().GatewayHold - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(Held(_gate, "p", "c"));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(Held(_gate, "p", "c"));
    }

    [Fact]
    public void Other_refusals_are_left_alone()
    {
        Assert.Null(_gate.OnRefused("p", "c", MeshException.Exhausted("The tenant has 10 jobs queued already")));
        Assert.Null(Held(_gate, "p", "c"));
    }

    [Fact]
    public void A_zero_hold_asks_the_queue_every_time()
    {
        var gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions { GatewayHold = TimeSpan.Zero }));

        Assert.NotNull(gate.OnRefused("p", "c", Shed));
        Assert.Null(Held(gate, "p", "c"));
    }

    private AdmissionGate Limited(int inFlight, int waiting) => new(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions
    {
        MaxSubmitsInFlight = inFlight,
        MaxSubmitsWaiting = waiting,
        MaxSubmitWait = TimeSpan.FromSeconds(1),
        RetryAfter = TimeSpan.FromSeconds(3),
    }));

    /// <summary>A submit to p/c, still waiting in line or answered.</summary>
    private static Task<GatePass> Try(AdmissionGate gate) => gate.EnterAsync("p", "c", CancellationToken.None).AsTask();

    private static async Task<IDisposable> Enter(AdmissionGate gate) =>
        (await gate.EnterAsync("p", "c", CancellationToken.None)).Place ?? throw new InvalidOperationException("refused");

    [Fact]
    public async Task Past_its_submits_in_flight_with_nobody_allowed_to_wait_the_gate_refuses_at_once_with_the_retry_time()
    {
        using var gate = Limited(inFlight: 2, waiting: 0);
        using var first = await Enter(gate);
        using var second = await Enter(gate);

        var refused = (await Try(gate)).Refusal!;

        Assert.Equal(TimeSpan.FromSeconds(3), refused.RetryAfter);
        Assert.Contains("MeshOs:Admission:MaxSubmitsInFlight", refused.Message);
        Assert.Equal(2, gate.InFlight);
    }

    [Fact]
    public async Task A_place_that_comes_free_goes_to_the_submit_waiting_in_line()
    {
        using var gate = Limited(inFlight: 1, waiting: 4);
        var first = await Enter(gate);

        var waiting = Try(gate);
        Assert.False(waiting.IsCompleted);
        first.Dispose();

        using var second = (await waiting).Place!;
        Assert.Equal(1, gate.InFlight);
    }

    [Fact]
    public async Task A_submit_waits_in_line_no_longer_than_the_wait_allows_then_is_refused()
    {
        using var gate = Limited(inFlight: 1, waiting: 4);
        using var first = await Enter(gate);

        var waiting = Try(gate);
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.NotNull((await waiting).Refusal);
        Assert.Equal(1, gate.InFlight);
    }

    [Fact]
    public async Task A_newcomer_to_a_full_line_pushes_out_the_oldest_waiting_submit_which_is_refused_at_once()
    {
        using var gate = Limited(inFlight: 1, waiting: 1);
        var first = await Enter(gate);
        var oldest = Try(gate);

        var newest = Try(gate);

        Assert.NotNull((await oldest).Refusal); // no time passed: pushed out, not timed out
        Assert.False(newest.IsCompleted);
        first.Dispose();
        using var place = (await newest).Place!;
    }

    [Fact]
    public async Task The_newest_waiting_submit_gets_the_next_place()
    {
        using var gate = Limited(inFlight: 1, waiting: 4);
        var first = await Enter(gate);
        var older = Try(gate);
        var newer = Try(gate);

        first.Dispose();

        using var place = (await newer).Place!;
        Assert.False(older.IsCompleted);
    }

    [Fact]
    public async Task A_caller_that_goes_away_while_waiting_is_cancelled_not_refused()
    {
        using var gate = Limited(inFlight: 1, waiting: 4);
        using var first = await Enter(gate);
        using var caller = new CancellationTokenSource();

        var waiting = gate.EnterAsync("p", "c", caller.Token).AsTask();
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Fact]
    public async Task Switched_off_the_gate_lets_every_submit_through()
    {
        using var gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions { Enabled = false, MaxSubmitsInFlight = 1, MaxSubmitsWaiting = 0 }));

        using var first = await Enter(gate);
        using var second = await Enter(gate);
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task Jobs_taken_after_long_waits_make_the_gate_refuse_a_share_of_that_queues_submits_only()
    {
        var draw = 0.5;
        using var gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions()), () => draw);
        for (var i = 0; i < 20; i++)
        {
            gate.OnTaken("p", "c", Enumerable.Repeat(_time.GetUtcNow() - TimeSpan.FromSeconds(2), 10));
            _time.Advance(QueueDelayController.UpdateInterval);
        }

        var refused = await gate.EnterAsync("p", "c", CancellationToken.None);
        Assert.Null(refused.Place);
        Assert.Contains("MeshOs:Admission:TargetQueueDelay", refused.Refusal!.Message);
        Assert.True(gate.RefusalProbability("p", "c") > draw);

        using var other = (await gate.EnterAsync("p", "other", CancellationToken.None)).Place!;
        draw = 0.99;
        using var lucky = (await gate.EnterAsync("p", "c", CancellationToken.None)).Place!;
    }

    [Fact]
    public void Switched_off_the_gate_does_not_steer_by_waits()
    {
        using var gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions { Enabled = false }), () => 0);
        for (var i = 0; i < 20; i++)
        {
            gate.OnTaken("p", "c", [_time.GetUtcNow() - TimeSpan.FromSeconds(2)]);
            _time.Advance(QueueDelayController.UpdateInterval);
        }

        Assert.Equal(0, gate.RefusalProbability("p", "c"));
    }
}
