using MeshOs.AgentSim.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MeshOs.AgentSim;

public static class Program
{
    public static async Task Main(string[] args)
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
        await builder.Build().RunAsync();
    }
}
