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

    private static MeshException Shed => MeshException.Overloaded("Queue p/c is at capacity", TimeSpan.FromSeconds(2));

    [Fact]
    public void A_queue_refusal_becomes_a_429_with_its_retry_time_and_holds_the_gate()
    {
        var refusal = _gate.OnRefused("p", "c", Shed);

        Assert.Equal(TimeSpan.FromSeconds(2), refusal!.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(2), _gate.Refusal("p", "c")!.RetryAfter);
        Assert.Null(_gate.Refusal("p", "other"));
        Assert.Null(_gate.Refusal("other", "c"));
    }

    [Fact]
    public void The_gate_opens_after_the_hold()
    {
        _gate.OnRefused("p", "c", Shed);

        _time.Advance(new AdmissionGateOptions().GatewayHold - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(_gate.Refusal("p", "c"));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(_gate.Refusal("p", "c"));
    }

    [Fact]
    public void Other_refusals_are_left_alone()
    {
        Assert.Null(_gate.OnRefused("p", "c", MeshException.Exhausted("The tenant has 10 jobs queued already")));
        Assert.Null(_gate.Refusal("p", "c"));
    }

    [Fact]
    public void A_zero_hold_asks_the_queue_every_time()
    {
        var gate = new AdmissionGate(_time, Microsoft.Extensions.Options.Options.Create(new AdmissionGateOptions { GatewayHold = TimeSpan.Zero }));

        Assert.NotNull(gate.OnRefused("p", "c", Shed));
        Assert.Null(gate.Refusal("p", "c"));
    }
}
