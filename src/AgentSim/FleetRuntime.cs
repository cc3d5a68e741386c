using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Grpc.V1;
using Microsoft.Extensions.Logging;

namespace MeshOs.AgentSim;

/// <summary>
/// The fleet's runtime adapter: like a process supervisor, it holds a RuntimeChannel stream open and restarts the
/// simulated agents the mesh asks it to (a dead agent cannot receive a restart command itself). Reconnects with
/// backoff while the fleet runs.
/// </summary>
internal sealed partial class FleetRuntime(
    string runtimeId,
    IReadOnlyList<string> agentIds,
    SimulationOptions options,
    GrpcChannel channel,
    Func<string, Task> restart,
    ILogger logger)
{
    private long _restarts;

    /// <summary>Restarts carried out on the mesh's orders.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    public async Task RunAsync(CancellationToken stopping)
    {
        var client = new RuntimeChannel.RuntimeChannelClient(channel);
        var headers = string.IsNullOrEmpty(options.ApiKey)
            ? new Metadata { { "x-enrollment-token", options.EnrollmentToken ?? string.Empty } }
            : new Metadata { { "x-api-key", options.ApiKey } };
        var delay = options.ReconnectMinDelay;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                using var call = client.Connect(headers, cancellationToken: stopping);
                var hello = new RuntimeHello { RuntimeId = runtimeId };
                hello.AgentIds.AddRange(agentIds);
                await call.RequestStream.WriteAsync(new RuntimeMessage { Hello = hello }, stopping);
                LogConnected(logger, runtimeId, agentIds.Count);
                delay = options.ReconnectMinDelay;
                await foreach (var order in call.ResponseStream.ReadAllAsync(stopping))
                {
                    if (order.Action != "restart")
                    {
                        continue;
                    }

                    var report = new RuntimeReport { AgentId = order.AgentId };
                    try
                    {
                        await restart(order.AgentId);
                        Interlocked.Increment(ref _restarts);
                        report.Restarted = true;
                        report.Detail = "restarted: " + order.Reason;
                    }
                    catch (KeyNotFoundException)
                    {
                        report.Detail = "not an agent of this runtime";
                    }

                    await call.RequestStream.WriteAsync(new RuntimeMessage { Report = report }, stopping);
                }
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException or OperationCanceledException)
            {
                if (stopping.IsCancellationRequested)
                {
                    // Stopping: whatever the call ended with (cancelled, or a status that raced the stop) is moot.
                    return;
                }

                LogDisconnected(logger, runtimeId, ex.GetBaseException().Message);
            }

            try
            {
                await Task.Delay(delay, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.ReconnectMaxDelay.TotalMilliseconds));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime} connected for {Count} agent(s)")]
    private static partial void LogConnected(ILogger logger, string runtime, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Runtime {Runtime} disconnected: {Reason}; reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string runtime, string reason);
}
