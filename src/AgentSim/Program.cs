using MeshOs.AgentSim.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSim;

public static partial class Program
{
    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);

        // Defaults first so that any source overrides them: a thousand agents logging each connection is noise.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:MeshOs.AgentSdk"] = "Warning" },
        });

        // MESHOS_SIM__COUNT as well as Sim__Count; the command line still wins.
        builder.Configuration.AddEnvironmentVariables("MESHOS_").AddCommandLine(args);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Services.AddSimulatedFleet(builder.Configuration);

        // Ctrl+C / SIGTERM: the agents close their streams and the process exits within this (the host's default: 30 s).
        var shutdownTimeout = builder.Configuration.GetValue("Sim:ShutdownTimeout", TimeSpan.FromSeconds(4));
        if (shutdownTimeout <= TimeSpan.Zero)
        {
            await Console.Error.WriteLineAsync("Invalid simulator settings: Sim:ShutdownTimeout must be positive.");
            return 2;
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);
        try
        {
            var host = builder.Build();
            AnnounceStop(host);
            await host.RunAsync();
            return Environment.ExitCode;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid simulator settings: {string.Join(" ", ex.Failures)}");
            return 2;
        }
    }

    private static void AnnounceStop(IHost host)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MeshOs.AgentSim.Program");
        long started = 0;
        lifetime.ApplicationStopping.Register(() => started = System.Diagnostics.Stopwatch.GetTimestamp());
        lifetime.ApplicationStopped.Register(() =>
            LogStopped(logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "AgentSim stopped gracefully in {Seconds:0.00} s")]
    private static partial void LogStopped(ILogger logger, double seconds);
}
