using Google.Protobuf.WellKnownTypes;
using MeshOs.Abstractions.Agents;
using MeshOs.Abstractions.Jobs;
using MeshOs.Grpc.V1;
using ProtoJob = MeshOs.Grpc.V1.Job;
using ProtoJobStatus = MeshOs.Grpc.V1.JobStatus;

namespace MeshOs.Gateway.Grpc;

/// <summary>Conversions between the gRPC messages and the domain records.</summary>
internal static class ProtoMapping
{
    public static ProtoJob ToProto(this JobRecord job)
    {
        var proto = new ProtoJob
        {
            JobId = job.JobId.ToString(),
            Type = job.Spec.Type,
            Capability = job.Spec.Capability,
            Pool = job.Spec.Pool,
            Status = (ProtoJobStatus)(int)job.Status,
            Priority = job.Spec.Priority,
            Attempts = job.Attempts,
            MaxAttempts = job.Spec.Retry.MaxAttempts,
            PayloadJson = job.Spec.PayloadJson,
            ResultJson = job.ResultJson ?? string.Empty,
            Error = job.Error ?? string.Empty,
            CreatedAt = Timestamp.FromDateTimeOffset(job.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(job.UpdatedAt),
            AgentId = job.AgentId ?? string.Empty,
            AgentVersion = job.AgentVersion ?? string.Empty,
            Version = job.Version,
            IdempotencyKey = job.Spec.IdempotencyKey ?? string.Empty,
            Usage = new Usage { TokensIn = job.Usage.TokensIn, TokensOut = job.Usage.TokensOut, Cost = (double)job.Usage.Cost },
        };
        proto.DataClasses.AddRange(job.Spec.Classes);
        if (job.Routing is { } routing)
        {
            proto.Routing = routing.ToProto();
        }

        if (job.StartedAt is { } started)
        {
            proto.StartedAt = Timestamp.FromDateTimeOffset(started);
        }

        if (job.CompletedAt is { } completed)
        {
            proto.CompletedAt = Timestamp.FromDateTimeOffset(completed);
        }

        return proto;
    }

    public static MeshOs.Grpc.V1.AgentState ToProto(this Abstractions.Agents.AgentState state) => (MeshOs.Grpc.V1.AgentState)(int)state;

    public static MeshOs.Grpc.V1.LeaseRef ToProto(this Abstractions.Agents.LeaseRef lease) => new() { JobId = lease.JobId.ToString(), Epoch = lease.Epoch };

    public static Command ToProto(this AgentCommand command) => new()
    {
        Kind = (CommandKind)(int)command.Kind,
        JobId = command.JobId?.ToString() ?? string.Empty,
        Reason = command.Reason,
        Epoch = command.Epoch,
    };

    public static Assignment ToProto(this LeaseGrant grant) => new()
    {
        JobId = grant.JobId.ToString(),
        Epoch = grant.Epoch,
        TenantId = grant.TenantId,
        Type = grant.Type,
        Capability = grant.Capability,
        PayloadJson = grant.PayloadJson,
        Attempt = grant.Attempt,
        Timeout = Duration.FromTimeSpan(grant.Timeout),
        LeaseExpiresAt = Timestamp.FromDateTimeOffset(grant.ExpiresAt),
    };

    /// <summary>
    /// A duration from the wire, or null when unset; InvalidArgument when negative, absurd or not normalized.
    /// <paramref name="field"/> is the REST name of the field (<see cref="ProtoNames"/> gives the caller the protobuf one).
    /// </summary>
    public static TimeSpan? ToTimeSpan(this Duration? duration, string field)
    {
        if (duration is null)
        {
            return null;
        }

        // Nanos past a second are not a duration protobuf can convert (ToTimeSpan would throw InvalidOperationException).
        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos > 999_999_999 || duration.Seconds > 10L * 86_400)
        {
            throw Abstractions.MeshException.Invalid(field, "out of range.");
        }

        return duration.ToTimeSpan();
    }

    public static DateTimeOffset? ToDateTimeOffset(this Timestamp? timestamp, string field)
    {
        if (timestamp is null)
        {
            return null;
        }

        if (timestamp.Seconds < -62135596800L || timestamp.Seconds > 253402300799L || timestamp.Nanos < 0 || timestamp.Nanos > 999_999_999)
        {
            throw Abstractions.MeshException.Invalid(field, "not a valid timestamp.");
        }

        return timestamp.ToDateTimeOffset();
    }

    public static MeshOs.Grpc.V1.RoutingDecision ToProto(this Abstractions.Routing.RoutingDecision decision)
    {
        var proto = new MeshOs.Grpc.V1.RoutingDecision { Policy = decision.Policy, Reason = decision.Reason, CandidatesCompared = decision.CandidatesCompared };
        foreach (var c in decision.Candidates)
        {
            var candidate = new MeshOs.Grpc.V1.RoutingCandidate
            {
                AgentId = c.AgentId, Version = c.Version ?? string.Empty, Attempts = c.Attempts, InFlight = c.InFlight, Limit = c.Limit,
            };
            if (c.Score is { } score)
            {
                candidate.Score = score;
            }

            if (c.SuccessRate is { } rate)
            {
                candidate.SuccessRate = rate;
            }

            if (c.LatencyMs is { } latency)
            {
                candidate.LatencyMs = latency;
            }

            if (c.CostPerJob is { } cost)
            {
                candidate.CostPerJob = cost;
            }

            proto.Candidates.Add(candidate);
        }

        return proto;
    }
}
