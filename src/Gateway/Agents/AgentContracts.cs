using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Gateway.Jobs;

namespace MeshOs.Gateway.Agents;

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
    DateTimeOffset? ProbationUntil = null)
{
    public static AgentDto From(AgentSummary s) => new(s.AgentId, s.Owner, s.Pool, s.Capabilities, s.State, s.StateChangedAt);

    public static AgentDto From(AgentInfo a) => new(
        a.Registration.AgentId, a.Registration.Owner, a.Registration.Pool, a.Registration.Capabilities, a.State, a.StateChangedAt,
        a.Registration.MaxConcurrency, a.Registration.Version, a.Registration.Region, a.Registration.CostPerHour, a.StateReason,
        a.RegisteredAt, a.LastHeartbeatAt, a.Load, a.InFlight, a.Connected, a.Quarantined, a.ProbationUntil);
}

public sealed record AgentPageDto(IReadOnlyList<AgentDto> Agents, string? NextCursor);

public sealed record DrainAgentRequest(string? Reason);

public sealed record RegisterAgentRequest(
    string? AgentId,
    string? Pool,
    IReadOnlyList<string>? Capabilities,
    int MaxConcurrency,
    string? Version,
    string? Region,
    double CostPerHour,
    string? RuntimeId = null);

public sealed record RegisterAgentResponse(string AgentId, string Owner, AgentState State, double HeartbeatIntervalSeconds, double LeaseDurationSeconds);

public sealed record LeaseRefDto(Guid JobId, long Epoch);

public sealed record HeartbeatRequest(double Load, IReadOnlyList<LeaseRefDto>? InFlight, Dictionary<string, double>? Metrics);

public sealed record CommandDto(AgentCommandKind Kind, Guid? JobId, string Reason);

public sealed record HeartbeatResponse(AgentState State, IReadOnlyList<LeaseRefDto> Revoked, IReadOnlyList<CommandDto> Commands);

public sealed record LeaseRequest(int Slots, double? WaitSeconds);

public sealed record AssignmentDto(Guid JobId, long Epoch, string TenantId, string Type, string Capability, RawJson Payload, int Attempt, double TimeoutSeconds, DateTimeOffset LeaseExpiresAt)
{
    public static AssignmentDto From(LeaseGrant g) =>
        new(g.JobId, g.Epoch, g.TenantId, g.Type, g.Capability, new RawJson(g.PayloadJson), g.Attempt, g.Timeout.TotalSeconds, g.ExpiresAt);
}

public sealed record LeaseResponse(IReadOnlyList<AssignmentDto> Assignments);

public sealed record EpochRequest(long Epoch, string? Reason);

public sealed record CompleteRequest(long Epoch, System.Text.Json.JsonElement? Result, long TokensIn, long TokensOut, decimal Cost);

public sealed record FailRequest(long Epoch, string? Error, bool Retryable, long TokensIn, long TokensOut, decimal Cost);
