using Grpc.Core;
using Grpc.Net.Client;
using MeshOs.Grpc.V1;
using Microsoft.Extensions.Logging;

namespace MeshOs.AgentSim;

/// <summary>What the runtime does to the fleet on the mesh's orders.</summary>
/// <param name="AgentIds">The fleet's agents now (the hello's list).</param>
/// <param name="Restart">Restarts an agent; KeyNotFoundException for one not in the fleet.</param>
/// <param name="ScaleUp">Starts n new agents like the fleet's; returns their ids.</param>
/// <param name="ScaleDown">Stops the named agents of the fleet gracefully; returns the ones it stopped.</param>
internal sealed record FleetActions(
    Func<IReadOnlyList<string>> AgentIds,
    Func<string, Task> Restart,
    Func<int, Task<IReadOnlyList<string>>> ScaleUp,
    Func<IReadOnlyList<string>, Task<IReadOnlyList<string>>> ScaleDown);

/// <summary>
/// The fleet's runtime adapter: like a process supervisor, it holds a RuntimeChannel stream open and restarts the
/// simulated agents the mesh asks it to (a dead agent cannot receive a restart command itself). With
/// <see cref="SimulationOptions.Scalable"/> it declares the fleet's pool scalable and carries out scale orders: starts
/// new agents or stops the named ones, then sends a hello with the fleet's new list and reports what it did.
/// Reconnects with backoff while the fleet runs.
/// </summary>
internal sealed partial class FleetRuntime(
    string runtimeId,
    FleetActions actions,
    SimulationOptions options,
    GrpcChannel channel,
    ILogger logger)
{
    private long _restarts;
    private long _scaleOrders;

    /// <summary>Restarts carried out on the mesh's orders.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Scale orders carried out.</summary>
    public long ScaleOrders => Interlocked.Read(ref _scaleOrders);

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
                var agents = actions.AgentIds();
                await call.RequestStream.WriteAsync(new RuntimeMessage { Hello = Hello(agents) }, stopping);
                LogConnected(logger, runtimeId, agents.Count);
                delay = options.ReconnectMinDelay;
                await foreach (var order in call.ResponseStream.ReadAllAsync(stopping))
                {
                    var report = order.Action switch
                    {
                        "restart" => await RestartAsync(order),
                        "scale-up" or "scale-down" => await ScaleAsync(order),
                        _ => null,
                    };
                    if (order.Action is "scale-up" or "scale-down")
                    {
                        // The fleet changed: the mesh learns its new list before the report.
                        await call.RequestStream.WriteAsync(new RuntimeMessage { Hello = Hello(actions.AgentIds()) }, stopping);
                    }

                    if (report is not null)
                    {
                        await call.RequestStream.WriteAsync(new RuntimeMessage { Report = report }, stopping);
                    }
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

    private RuntimeHello Hello(IReadOnlyList<string> agentIds)
    {
        var hello = new RuntimeHello { RuntimeId = runtimeId };
        hello.AgentIds.AddRange(agentIds);
        if (options.Scalable)
        {
            hello.ScalablePools.Add(options.Pool);
        }

        return hello;
    }

    private async Task<RuntimeReport> RestartAsync(RuntimeOrder order)
    {
        var report = new RuntimeReport { AgentId = order.AgentId };
        try
        {
            await actions.Restart(order.AgentId);
            Interlocked.Increment(ref _restarts);
            report.Restarted = true;
            report.Detail = "restarted: " + order.Reason;
        }
        catch (KeyNotFoundException)
        {
            report.Detail = "not an agent of this runtime";
        }

        return report;
    }

    private async Task<RuntimeReport> ScaleAsync(RuntimeOrder order)
    {
        var report = new RuntimeReport { OrderId = order.OrderId };
        if (!options.Scalable || order.Pool != options.Pool)
        {
            report.Detail = $"this runtime does not scale pool '{order.Pool}'";
            return report;
        }

        if (order.Action == "scale-up")
        {
            var started = await actions.ScaleUp(Math.Clamp(order.Count, 0, 10_000));
            report.StartedAgentIds.AddRange(started);
            report.Detail = $"started {started.Count}";
        }
        else
        {
            var stopped = await actions.ScaleDown([.. order.AgentIds]);
            report.StoppedAgentIds.AddRange(stopped);
            report.Detail = stopped.Count == order.AgentIds.Count ? $"stopped {stopped.Count}"
                : $"stopped {stopped.Count}; not agents of this runtime: {string.Join(", ", order.AgentIds.Except(stopped))}";
        }

        Interlocked.Increment(ref _scaleOrders);
        LogScaled(logger, runtimeId, order.Action, order.OrderId, report.StartedAgentIds.Count, report.StoppedAgentIds.Count);
        return report;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime} connected for {Count} agent(s)")]
    private static partial void LogConnected(ILogger logger, string runtime, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Runtime {Runtime} disconnected: {Reason}; reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string runtime, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runtime {Runtime}: {Action} {OrderId}: {Started} started, {Stopped} stopped")]
    private static partial void LogScaled(ILogger logger, string runtime, string action, string orderId, int started, int stopped);
}
