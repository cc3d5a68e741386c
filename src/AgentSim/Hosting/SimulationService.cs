using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSim.Hosting;

/// <summary>Runs the fleet while the host runs, prints one line of figures per interval, stops it gracefully.</summary>
internal sealed partial class SimulationService(
    IOptions<SimulationOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<SimulationService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sim = options.Value;
        await using var fleet = new SimulatedFleet(sim, loggerFactory, time);
        await fleet.StartAsync();
        LogStarted(logger, sim.Count, sim.Endpoint, sim.Pool, sim.Capabilities);
        try
        {
            using var timer = new PeriodicTimer(sim.StatsInterval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                LogStats(logger, fleet.GetStats());
                if (sim.Count > 0 && AllGaveUp(fleet, out var rejected))
                {
                    // Nothing will ever connect again (all rejected or drained): a supervisor should see the exit.
                    LogAllDown(logger);
                    Environment.ExitCode = rejected ? 1 : 0;
                    lifetime.StopApplication();
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or the host stopping.
        }

        await fleet.StopAsync();
        LogStopped(logger, fleet.GetStats());
    }

    private static bool AllGaveUp(SimulatedFleet fleet, out bool rejected)
    {
        rejected = false;
        foreach (var agent in fleet.GetAgentStats())
        {
            if (agent.Status is not (SimulatedAgentStatus.Rejected or SimulatedAgentStatus.Drained))
            {
                return false;
            }

            rejected |= agent.Status == SimulatedAgentStatus.Rejected;
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulating {Count} agents against {Endpoint} (pool {Pool}, capabilities {Capabilities})")]
    private static partial void LogStarted(ILogger logger, int count, Uri endpoint, string pool, string capabilities);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Stats}")]
    private static partial void LogStats(ILogger logger, FleetStats stats);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every simulated agent was rejected or drained; exiting")]
    private static partial void LogAllDown(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped: {Stats}")]
    private static partial void LogStopped(ILogger logger, FleetStats stats);
}
