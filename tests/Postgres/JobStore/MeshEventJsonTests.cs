using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;
using MeshOs.Persistence.Events;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>The stored JSON of events (no server needed): every kind round-trips, and rows from before the envelope load.</summary>
public sealed class MeshEventJsonTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 17, 2, 11, 512, TimeSpan.Zero);

    [Fact]
    public void Every_kind_round_trips_with_its_envelope()
    {
        MeshEvent[] events =
        [
            new(0, At, new AgentStateChanged("a-1", "acme", "gpu", "eu", "1.2.3", 0.5m, AgentState.Healthy, AgentState.Offline, "drained", AgentChangeCause.DrainCompleted, "k8s")),
            new(0, At, new JobAttemptEnded(Guid.NewGuid(), "acme", "summarize", "platform", "llm", "sim-3", 1, "succeeded", JobStatus.Succeeded, true,
                TimeSpan.FromMilliseconds(3.2), TimeSpan.FromMilliseconds(412.8), new JobUsage(120, 48, 0.0003m)), TenantId: "acme", CorrelationId: "job-1"),
            new(0, At, new Abstractions.Healing.ScaleRecommendation(At, "gpu", "llm", 10, 2, 4, "demand")),
            new(0, At, new OperatorActionTaken("agent.drain", "agent/a-1", 42), "op-key", "acme", "corr-1"),
            new(0, At, new BudgetThresholdCrossed("monthly", 80, 200.5m, 250m, "USD", true, At.AddDays(-3), At.AddDays(28)), TenantId: "acme"),
            new(0, At, new RecommendationApplied("rec-7", Abstractions.Cost.RecommendationKind.ScaleDown, "platform/gpu", null, -2, ["a-3", "a-4"],
                "platform/sim", true, 5256.00m, "USD"), CorrelationId: "rec-7"),
            new(0, At, new SloBurnChanged("tenant/acme", true, 40.5, 15.25, 14.4), TenantId: "acme"),
        ];
        Assert.Equal(MeshEventKinds.All.Select(k => k.Kind), events.Select(e => e.Kind));
        foreach (var e in events)
        {
            Assert.Equal(e with { Position = 9 }, MeshEventJson.Deserialize(9, MeshEventJson.Serialize(e)));
        }
    }

    [Fact]
    public void Metered_usage_round_trips_and_is_left_out_when_there_is_none()
    {
        var metered = new MeshEvent(0, At, new JobAttemptEnded(Guid.NewGuid(), "acme", "summarize", "platform", "llm", "sim-3", 1, "succeeded", JobStatus.Succeeded, true,
            TimeSpan.Zero, TimeSpan.FromSeconds(2), new JobUsage(0, 0, 0m, [new Abstractions.Cost.MeteredUsage("tokens_in", 1250, "big-model"), new("gpu_seconds", 0.5m)])));
        var plain = metered with { Payload = ((JobAttemptEnded)metered.Payload) with { Usage = new JobUsage(1, 2, 0.3m) } };

        Assert.Equal(metered with { Position = 3 }, MeshEventJson.Deserialize(3, MeshEventJson.Serialize(metered)));
        Assert.DoesNotContain("metered", MeshEventJson.Serialize(plain), StringComparison.Ordinal);
        Assert.Equal(plain with { Position = 3 }, MeshEventJson.Deserialize(3, MeshEventJson.Serialize(plain)));
    }

    [Fact]
    public void A_row_stored_before_the_envelope_loads_as_schema_version_1()
    {
        const string stored = """
            {"kind":"JobAttemptEnded","at":"2026-11-29T17:02:11.512+00:00","job":{"jobId":"0193a3c4-0000-7000-8000-000000000001",
             "tenantId":"acme","type":"summarize","pool":"platform","capability":"llm","agentId":"sim-003","attempt":1,
             "outcome":"succeeded","status":"Succeeded","terminal":true,"queueWait":3.2,"runTime":412.8,
             "usage":{"tokensIn":120,"tokensOut":48,"cost":0.0003}}}
            """;

        var e = MeshEventJson.Deserialize(5, stored);

        Assert.Equal(new MeshEvent(5, At, new JobAttemptEnded(Guid.Parse("0193a3c4-0000-7000-8000-000000000001"), "acme", "summarize", "platform", "llm",
            "sim-003", 1, "succeeded", JobStatus.Succeeded, true, TimeSpan.FromMilliseconds(3.2), TimeSpan.FromMilliseconds(412.8),
            new JobUsage(120, 48, 0.0003m)), SchemaVersion: 1), e);
    }

    [Fact]
    public void The_stored_shape_keeps_the_payload_under_its_kinds_property()
    {
        var json = MeshEventJson.Serialize(new MeshEvent(3, At, new OperatorActionTaken("job.cancel", "job/x", 7), "op-key"));

        Assert.Equal(
            """{"kind":"OperatorActionTaken","schemaVersion":2,"at":"2026-11-29T17:02:11.512+00:00","actor":"op-key","operatorAction":{"action":"job.cancel","target":"job/x","auditSequence":7}}""",
            json);
    }
}
