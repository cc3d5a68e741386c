using MeshOs.Gateway.Hosting;

namespace MeshOs.Silo.Demo;

/// <summary>The embedded mode's demo fleet (see <see cref="DemoOptions"/>).</summary>
public static class DemoHostingExtensions
{
    /// <summary>Adds the demo when enabled: by default in the embedded mode only, and only with the co-hosted gateway.</summary>
    public static WebApplicationBuilder AddMeshDemo(this WebApplicationBuilder builder, MeshClusterSettings cluster, bool coHostGateway)
    {
        var options = builder.Configuration.GetSection(DemoOptions.Section).Get<DemoOptions>() ?? new DemoOptions();
        if (coHostGateway && (options.Enabled ?? !cluster.UsesPostgres))
        {
            builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection(DemoOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
            builder.Services.AddHostedService<DemoFleetService>();
        }

        return builder;
    }
}
