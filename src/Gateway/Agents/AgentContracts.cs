using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Cost;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Errors;
using MeshOs.Gateway.Jobs;

namespace MeshOs.Gateway.Agents;

/// <summary>An agent as operators and its owner see it; the live figures are set when one agent is read.</summary>
public sealed record AgentDto(
    string AgentId,
    string Owner,
    string Pool,
    IReadOnlyList<string> Capabilities,
    AgentState State,
    DateTimeOffset StateChangedAt,
    int? MaxConcurrency = null,
    string? Version = null,
    string? Region = null,
    decimal? CostPerHour = null,
    string? StateReason = null,
    DateTimeOffset? RegisteredAt = null,
    DateTimeOffset? LastHeartbeatAt = null,
    double? Load = null,
    int? InFlight = null,
    bool? Connected = null,
    bool? Quarantined = null,
    DateTimeOffset? ProbationUntil = null,
    IReadOnlyList<string>? Certifications = null)
{
    public static AgentDto From(AgentSummary s) => new(s.AgentId, s.Owner, s.Pool, s.Capabilities, s.State, s.StateChangedAt);

    public static AgentDto From(AgentInfo a) => new(
        a.Registration.AgentId, a.Registration.Owner, a.Registration.Pool, a.Registration.Capabilities, a.State, a.StateChangedAt,
        a.Registration.MaxConcurrency, a.Registration.Version, a.Registration.Region, a.Registration.CostPerHour, a.StateReason,
        a.RegisteredAt, a.LastHeartbeatAt, a.Load, a.InFlight, a.Connected, a.Quarantined, a.ProbationUntil,
        a.Registration.Certifications.IsDefault ? [] : a.Registration.Certifications);
}

/// <summary>A page of agents in id order; pass <see cref="NextCursor"/> as <c>cursor</c> for the next (null at the end).</summary>
public sealed record AgentPageDto(IReadOnlyList<AgentDto> Agents, string? NextCursor);

/// <summary>A free-text reason for an action on an agent.</summary>
public sealed record ReasonRequest
{
    /// <summary>Why (at most 500 characters); a default names who did it.</summary>
    [StringLength(500)]
    public string? Reason { get; init; }
}

public sealed record QuarantineRequest
{
    /// <summary>Why (at most 500 characters). Default "quarantined by an operator".</summary>
    [StringLength(500)]
    public string? Reason { get; init; }

    /// <summary>Release by itself after this many minutes (0 to 43,200); unset or 0: until an operator releases it.</summary>
    [Range(0d, 43_200d)]
    public double? ProbationMinutes { get; init; }
}

public sealed record RestartResponse(string AgentId, RestartPath Path);

/// <summary>An agent's registration. The owner is never read from a body: the credentials decide it.</summary>
public sealed record RegisterAgentRequest
{
    /// <summary>Unique across the mesh: 1–128 of letters, digits and <c>- _ . : /</c>.</summary>
    [Required]
    public string? AgentId { get; init; }

    /// <summary>The pool to serve. Default: <c>platform</c> for platform agents, the tenant's own pool for a tenant's.</summary>
    public string? Pool { get; init; }

    /// <summary>1–64 capability names (each 1–100 of <c>a-z 0-9 - _ . /</c>).</summary>
    [Required]
    public IReadOnlyList<string>? Capabilities { get; init; }

    /// <summary>Jobs it runs at once: 1 to 10,000.</summary>
    [Required]
    [Range(1, 10_000)]
    public int? MaxConcurrency { get; init; }

    /// <summary>At most 64 characters.</summary>
    [StringLength(64)]
    public string? Version { get; init; }

    /// <summary>At most 64 characters.</summary>
    [StringLength(64)]
    public string? Region { get; init; }

    /// <summary>What an hour of the agent costs: 0 to 1,000,000. Default 0.</summary>
    [Range(0d, 1_000_000d)]
    public double? CostPerHour { get; init; }

    /// <summary>The runtime that started the agent and can restart it (RuntimeChannel), if any.</summary>
    [StringLength(128)]
    public string? RuntimeId { get; init; }

    /// <summary>
    /// The data classes the agent is certified to handle (e.g. <c>pii</c>, <c>phi</c>): at most 8 names of 1–32 of
    /// <c>a-z 0-9 -</c>. A job tagged with a data class goes only to agents certified for it. Default: none.
    /// </summary>
    public IReadOnlyList<string>? Certifications { get; init; }

    public RegisterInput ToInput() => new(AgentId, Pool, Capabilities, MaxConcurrency ?? 0, Version, Region, CostPerHour ?? 0, RuntimeId, Certifications);
}

public sealed record RegisterAgentResponse(string AgentId, string Owner, AgentState State, double HeartbeatIntervalSeconds, double LeaseDurationSeconds);

public sealed record LeaseRefDto(Guid JobId, long Epoch);

public sealed record HeartbeatRequest
{
    /// <summary>The agent's load, 0 to 1,000. Default 0.</summary>
    [Range(0d, 1_000d)]
    public double? Load { get; init; }

    /// <summary>The leases it holds: each is renewed, or listed back as revoked.</summary>
    public IReadOnlyList<LeaseRefDto>? InFlight { get; init; }

    /// <summary>At most 64 named finite values.</summary>
    public Dictionary<string, double>? Metrics { get; init; }
}

/// <summary>A command for the agent; <see cref="Epoch"/> names the lease a job command is about (0: none).</summary>
public sealed record CommandDto(AgentCommandKind Kind, Guid? JobId, string Reason, long Epoch);

public sealed record HeartbeatResponse(AgentState State, IReadOnlyList<LeaseRefDto> Revoked, IReadOnlyList<CommandDto> Commands);

public sealed record LeaseRequest
{
    /// <summary>How many jobs it takes now: 1 to its maxConcurrency.</summary>
    [Required]
    public int? Slots { get; init; }

    /// <summary>How long to wait for a job, 0 to 60 seconds. Default 20.</summary>
    [Range(0d, 60d)]
    public double? WaitSeconds { get; init; }
}

public sealed record AssignmentDto(Guid JobId, long Epoch, string TenantId, string Type, string Capability, RawJson Payload, int Attempt, double TimeoutSeconds, DateTimeOffset LeaseExpiresAt)
{
    public static AssignmentDto From(LeaseGrant g) =>
        new(g.JobId, g.Epoch, g.TenantId, g.Type, g.Capability, new RawJson(g.PayloadJson), g.Attempt, g.Timeout.TotalSeconds, g.ExpiresAt);
}

public sealed record LeaseResponse(IReadOnlyList<AssignmentDto> Assignments);

/// <summary>A report under a lease.</summary>
public sealed record EpochRequest
{
    /// <summary>The lease's epoch, as assigned (1 or more).</summary>
    [Required]
    public long? Epoch { get; init; }

    /// <summary>For a release: why (at most 500 characters).</summary>
    [StringLength(500)]
    public string? Reason { get; init; }
}

/// <summary>An attempt's end as an agent reports it: the lease and what the attempt used.</summary>
public abstract record AttemptReport
{
    /// <summary>The lease's epoch, as assigned (1 or more).</summary>
    [Required]
    public long? Epoch { get; init; }

    /// <summary>Tokens the attempt read (0 or more). Default 0.</summary>
    public long? TokensIn { get; init; }

    /// <summary>Tokens the attempt wrote (0 or more). Default 0.</summary>
    public long? TokensOut { get; init; }

    /// <summary>What the attempt cost, 0 to 1,000,000,000,000. Default 0.</summary>
    [Range(0d, 1_000_000_000_000d)]
    public decimal? Cost { get; init; }

    /// <summary>
    /// Metered usage the cost model prices with the rate card in force (COST.md): up to 32 items of unit (e.g. tokens_in,
    /// tokens_out, gpu_seconds, or any name of 1–64 of a-z 0-9 _ . : -), quantity (0 to 10^15) and optional model.
    /// </summary>
    [MaxLength(32)]
    public List<MeteredUsage>? Metered { get; init; }

    /// <summary>The attempt's result as the services take it.</summary>
    public abstract JobResult ToResult();

    protected JobResult Outcome(bool succeeded, string? resultJson, string? error, bool retryable) =>
        AgentInputs.Result(succeeded, resultJson, error, retryable, TokensIn ?? 0, TokensOut ?? 0, (double)(Cost ?? 0), Metered);
}

public sealed record CompleteRequest : AttemptReport
{
    /// <summary>The result: any JSON value, at most MeshOs:Jobs:MaxResultBytes (1 MiB by default) as text.</summary>
    public JsonElement? Result { get; init; }

    public override JobResult ToResult() => Outcome(true, Inputs.JsonText(Result, "result"), null, false);
}

public sealed record FailRequest : AttemptReport
{
    /// <summary>Why it failed; more than 10,000 characters are cut. Default "failed".</summary>
    public string? Error { get; init; }

    /// <summary>Whether another attempt may succeed (the job is retried while attempts remain). Default false.</summary>
    public bool? Retryable { get; init; }

    public override JobResult ToResult() => Outcome(false, null, Error, Retryable ?? false);
}
