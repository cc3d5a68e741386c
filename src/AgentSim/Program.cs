using MeshOs.AgentSim.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MeshOs.AgentSim;

public static class Program
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
        try
        {
            await builder.Build().RunAsync();
            return Environment.ExitCode;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid simulator settings: {string.Join(" ", ex.Failures)}");
            return 2;
        }
    }
}
