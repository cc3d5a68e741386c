using Grpc.Core;
using MeshOs.Grpc.V1;
using Microsoft.Extensions.Logging;

namespace MeshOs.AgentSdk;

public sealed partial class MeshAgent
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: registered on connection {Connection} as {State}, heartbeat every {HeartbeatMs} ms")]
    private static partial void LogRegistered(ILogger logger, string agentId, long connection, AgentState state, double heartbeatMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Agent {AgentId}: registration rejected ({Status}: {Detail}); not reconnecting")]
    private static partial void LogRegistrationRejected(ILogger logger, string agentId, StatusCode status, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: connection lost ({Reason})")]
    private static partial void LogConnectionLost(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: cannot connect ({Reason}); retrying with backoff")]
    private static partial void LogCannotConnect(ILogger logger, string agentId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: still cannot connect after {Attempts} attempts ({Reason})")]
    private static partial void LogStillCannotConnect(ILogger logger, string agentId, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: reconnecting in {DelayMs:0} ms")]
    private static partial void LogReconnecting(ILogger logger, string agentId, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: the mesh closed the stream before registering the agent")]
    private static partial void LogClosedBeforeRegistered(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: the mesh answered the registration with {Body} instead of Registered")]
    private static partial void LogNotRegistered(ILogger logger, string agentId, MeshMessage.BodyOneofCase body);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: ignoring a message of kind {Body}")]
    private static partial void LogUnexpectedMessage(ILogger logger, string agentId, MeshMessage.BodyOneofCase body);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: the mesh reports the agent Offline; registering again")]
    private static partial void LogReregistering(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: released job {JobId} epoch {Epoch} unrun ({Reason})")]
    private static partial void LogReleased(ILogger logger, string agentId, string jobId, long epoch, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Agent {AgentId}: ignoring assignment of job {JobId} epoch {Epoch}: it holds epoch {HeldEpoch}")]
    private static partial void LogStaleAssignment(ILogger logger, string agentId, Guid jobId, long epoch, long heldEpoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: job {JobId} assigned again; epoch {OldEpoch} → {NewEpoch}, the run in hand continues")]
    private static partial void LogReassigned(ILogger logger, string agentId, Guid jobId, long oldEpoch, long newEpoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: handler of job {JobId} failed; reporting a retryable failure")]
    private static partial void LogHandlerFailed(ILogger logger, string agentId, Guid jobId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: job {JobId} timed out after {TimeoutMs} ms")]
    private static partial void LogTimedOut(ILogger logger, string agentId, Guid jobId, double timeoutMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: the mesh refused the report of job {JobId} epoch {Epoch} ({Error}); job dropped")]
    private static partial void LogReportRefused(ILogger logger, string agentId, Guid jobId, long epoch, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: lease of job {JobId} epoch {Epoch} revoked; handler cancelled")]
    private static partial void LogRevoked(ILogger logger, string agentId, Guid jobId, long epoch);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: command {Kind} (job '{JobId}' epoch {Epoch}, reason '{Reason}')")]
    private static partial void LogCommand(ILogger logger, string agentId, CommandKind kind, string jobId, long epoch, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: a CommandReceived subscriber failed on {Kind}")]
    private static partial void LogCommandHookFailed(ILogger logger, string agentId, CommandKind kind, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {AgentId}: ignoring unknown command {Kind}")]
    private static partial void LogUnknownCommand(ILogger logger, string agentId, CommandKind kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: draining, {InFlight} jobs in hand")]
    private static partial void LogDraining(ILogger logger, string agentId, int inFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: drained")]
    private static partial void LogDrained(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: stopping")]
    private static partial void LogStopping(ILogger logger, string agentId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {AgentId}: aborted")]
    private static partial void LogAborted(ILogger logger, string agentId);
}
