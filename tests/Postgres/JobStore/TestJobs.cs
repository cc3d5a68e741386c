using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Events;
using MeshOs.Abstractions.Jobs;

namespace MeshOs.Tests.Postgres.JobStore;

/// <summary>
/// Job records and events for the store contract. Every time is whole microseconds (PostgreSQL keeps microseconds)
/// and every duration whole milliseconds (the job table stores milliseconds), so a faithful store returns them equal.
/// </summary>
internal static class TestJobs
{
    /// <summary>A fixed, microsecond-exact instant the tests count from.</summary>
    public static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);

    public static DateTimeOffset At(double seconds) => Micros(T0.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)));

    public static DateTimeOffset Micros(DateTimeOffset time) => time.AddTicks(-(time.UtcTicks % 10));

    public static JobSpec Spec(string type = "summarize", string pool = "gpu", string capability = "llm", string? key = null, int priority = 5) =>
        new(type, capability, pool, """{"text":"hello"}""", priority, TimeSpan.FromSeconds(30), RetryPolicy.Default, key);

    /// <summary>A new Pending job (version 1) as a Job grain submits it.</summary>
    public static JobRecord Pending(
        string tenant = "tenant-a",
        Guid? id = null,
        DateTimeOffset? createdAt = null,
        string type = "summarize",
        string pool = "gpu",
        string capability = "llm",
        int shard = 0,
        string? key = null,
        int priority = 5)
    {
        var created = createdAt ?? T0;
        return new JobRecord(
            id ?? Guid.NewGuid(), tenant, Spec(type, pool, capability, key, priority), shard, JobStatus.Pending, Attempts: 0, Version: 1,
            CreatedAt: created, UpdatedAt: created, AvailableAt: created, AgentId: null, Epoch: 0, LeaseExpiresAt: null,
            StartedAt: null, CompletedAt: null, ResultJson: null, Error: null, Usage: JobUsage.None, LeasedAt: null);
    }

    /// <summary>A job with every optional field set, awkward values included.</summary>
    public static JobRecord Full(Guid? id = null) =>
        new(
            id ?? Guid.NewGuid(),
            "tenant-ünïcødé-租户",
            new JobSpec(
                "translate/日本語",
                "llm.chat",
                "eu-west",
                """{"prompt":"Grüße 👋 — こんにちは","n":[1,2.5,-3e10],"nested":{"q":"\"quoted\" \\ back"}}""",
                9,
                TimeSpan.FromMilliseconds(86_400_123),
                new RetryPolicy(7, TimeSpan.FromMilliseconds(250), TimeSpan.FromMinutes(17), 1.618033988749895),
                "idem-🔑-1",
                ["phi", "pii"]),
            Shard: 13,
            Status: JobStatus.Failed,
            Attempts: 7,
            Version: 42,
            CreatedAt: At(1).ToOffset(TimeSpan.FromHours(5.5)),
            UpdatedAt: At(99.999999),
            AvailableAt: At(2.000001),
            AgentId: "agent-α",
            Epoch: long.MaxValue - 1,
            LeaseExpiresAt: At(120.5),
            StartedAt: At(3.25),
            CompletedAt: At(98.765432),
            ResultJson: """{"partial":"résumé ✓"}""",
            Error: "boom: ошибка\nline 2\ttabbed",
            Usage: new JobUsage(long.MaxValue / 3, 1_234_567_890_123, 12_345_678.123456m),
            LeasedAt: At(3.000001),
            AgentVersion: "2.3.4-β+build.7");

    /// <summary>The next version of a job in <paramref name="status"/>.</summary>
    public static JobRecord Next(JobRecord job, JobStatus status, double atSeconds = 10) =>
        job with { Status = status, Version = job.Version + 1, UpdatedAt = At(atSeconds) };

    public static JobRecord Leased(JobRecord job, string agentId, long epoch, double atSeconds = 10) =>
        Next(job, JobStatus.Leased, atSeconds) with
        {
            AgentId = agentId,
            Epoch = epoch,
            Attempts = job.Attempts + 1,
            LeasedAt = At(atSeconds),
            LeaseExpiresAt = At(atSeconds + 30),
        };

    public static JobRecord Running(JobRecord job, double atSeconds = 11) =>
        Next(job, JobStatus.Running, atSeconds) with { StartedAt = At(atSeconds) };

    public static JobRecord Finished(JobRecord job, JobStatus status, DateTimeOffset completedAt) =>
        job with
        {
            Status = status,
            Version = job.Version + 1,
            UpdatedAt = completedAt,
            CompletedAt = completedAt,
            LeaseExpiresAt = null,
            ResultJson = status == JobStatus.Succeeded ? """{"ok":true}""" : null,
            Error = status == JobStatus.Succeeded ? null : status.ToString(),
            Usage = new JobUsage(100, 20, 0.012345m),
        };

    /// <summary>The event an attempt's end publishes; <paramref name="tag"/> tells events apart.</summary>
    public static MeshEvent AttemptEnded(JobRecord job, int tag = 0, DateTimeOffset? at = null) =>
        new(0, at ?? At(20 + tag), new JobAttemptEnded(
            job.JobId, job.TenantId, job.Spec.Type, job.Spec.Pool, job.Spec.Capability, job.AgentId, Attempt: tag,
            Outcome: "succeeded", job.Status, job.Status.IsTerminal(), QueueWait: TimeSpan.FromMilliseconds(1_500),
            RunTime: TimeSpan.FromMilliseconds(12.345), new JobUsage(tag, tag * 2L, 0.000123m * tag), job.AgentVersion),
            TenantId: job.TenantId, CorrelationId: job.JobId.ToString());

    /// <summary>An agent state change; <paramref name="tag"/> tells events apart.</summary>
    public static MeshEvent AgentChanged(int tag, DateTimeOffset? at = null) =>
        new(0, at ?? At(tag), new AgentStateChanged(
            $"agent-{tag}", "owner-ü", "gpu", "eu-west-1", "1.2.3", 0.75m + tag, AgentState.Healthy, AgentState.Degraded, $"reason {tag} ✓"));

    /// <summary>An event without its log position, for comparing what was read with what was appended.</summary>
    public static MeshEvent Unpositioned(this MeshEvent e) => e with { Position = 0 };
}
